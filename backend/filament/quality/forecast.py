"""The label forecast: an inverse power law through the project's learning curve
(`filament.ml.forecast`), read from its model versions.

The curve: one point per number of labels, from the heads on the live embeddings (fine-tuned
backbones lie on a curve of their own), the latest version at each count, each at its audited
figure (`metrics.audit`: out-of-fold predictions of items drawn at random). No forecast is made
from the cross-validated figures: they are measured on the items the queue chose, which get
harder as the model improves, so that curve levels off long before the model does. On the
simulated loop it said "flattened" at 100 labels on every run while the test curve kept rising
to about 300 (docs/benchmarks.md). The audited figure appears once a version has
`FILAMENT_METRICS_MIN_SUPPORT` audit labels (about 300 labels at the default 10 % share).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import Session, col, func, select

from filament.cache import ProcessCache
from filament.core.settings import get_settings
from filament.db.models import ModelKind, ModelVersion, Project, VersionStatus
from filament.ml import forecast as law
from filament.ml.metrics import primary_name
from filament.quality.shapes import CurvePoint, ForecastAnswer, Interval

AUDIT, CROSS_VALIDATED = "audit", "cross_validated"


@dataclass
class Curve:
    basis: str | None
    points: list[CurvePoint]
    x: np.ndarray  # where each point's model is on the labels axis (see the module's doc)
    labels_per_x: float  # labels = x * this
    labels_now: int


def _figure(metrics: dict[str, Any], basis: str, name: str) -> tuple[float, int] | None:
    block = metrics.get(basis)
    if not isinstance(block, dict) or not isinstance(block.get(name), dict):
        return None
    return float(block[name]["value"]), int(block.get("support", 0))


def curve_of(rows: list[Any], project: Project, bases: tuple[str, ...] = (AUDIT,)) -> Curve:
    """The curve of the version ``rows`` on the first of ``bases`` with enough points (the
    service: audited only; the benchmark also tries the cross-validated one, to show why
    not). A cross-validated model learned from (k - 1) / k of the labels: its point goes
    there."""
    name = primary_name(project.task.multilabel)
    latest: dict[int, Any] = {}
    for row in rows:  # in version order: the latest version at each label count wins
        if (
            row.kind == ModelKind.head
            and row.status == VersionStatus.ready
            and row.base_version == project.embedding_version
        ):
            latest[row.label_count] = row
    ordered = [latest[n] for n in sorted(latest)]
    labels_now = max((row.label_count for row in rows), default=0)
    for basis in bases:
        found = [(row, _figure(row.metrics, basis, name)) for row in ordered]
        points = [
            CurvePoint(version=row.version, labels=row.label_count, value=f[0], support=f[1])
            for row, f in found
            if f is not None and f[1] > 0
        ]
        if len(points) >= law.MIN_POINTS:
            folds = max(int(ordered[-1].metrics.get("cv_folds") or 0), 2)
            share = 1.0 if basis == AUDIT else (folds - 1) / folds
            x = np.array([p.labels * share for p in points], dtype=np.float64)
            return Curve(basis, points, x, 1 / share, labels_now)
    return Curve(None, [], np.zeros(0), 1.0, labels_now)


_fits: ProcessCache[tuple[int, int, int], tuple[Curve, law.Forecast | None]] = ProcessCache(
    "forecasts", 32
)


def fit_curve(
    rows: list[Any], project: Project, bases: tuple[str, ...] = (AUDIT,)
) -> tuple[Curve, law.Forecast | None]:
    """The curve of the version ``rows`` (in version order) and the law fitted to it."""
    curve = curve_of(rows, project, bases)
    fitted = None
    if curve.basis is not None:
        fitted = law.forecast(
            curve.x,
            np.array([p.value for p in curve.points]),
            np.array([p.support for p in curve.points], dtype=np.float64),
            labels_now=max(1, round(curve.labels_now / curve.labels_per_x)),
            seed=project.id or 0,
        )
    return curve, fitted


def _fitted(session: Session, project: Project) -> tuple[Curve, law.Forecast | None]:
    """The curve and its fit, made again only when a version was added."""
    newest, count = session.exec(
        select(func.max(ModelVersion.id), func.count()).where(ModelVersion.project_id == project.id)
    ).one()
    key = (project.id or 0, newest or 0, count)
    if (hit := _fits.get(key)) is not None:
        return hit
    rows = list(
        session.exec(
            select(ModelVersion)
            .where(ModelVersion.project_id == project.id)
            .order_by(col(ModelVersion.version))
        ).all()
    )
    return _fits.put(key, fit_curve(rows, project))


def _about(n: float) -> str:
    """Two significant figures: a forecast is not more precise than that."""
    if n < 100:
        return f"{round(n):,}"
    digits = 10 ** (len(str(round(n))) - 2)
    return f"{round(n / digits) * digits:,}"


FAR = 10  # labels needed beyond this many times the labels there are: "far", not a number


def project_forecast(session: Session, project: Project, target: float | None) -> ForecastAnswer:
    """ "About N more labels for one more point", or that the curve has flattened. ``target``:
    a figure to reach instead of one more point than the fitted curve is at now."""
    return answer_for(*_fitted(session, project), project, target)


def answer_for(
    curve: Curve, fitted: law.Forecast | None, project: Project, target: float | None
) -> ForecastAnswer:
    """The forecast of a fitted curve, as the API answers it."""
    name = primary_name(project.task.multilabel)
    base: dict[str, Any] = {"metric": name, "basis": curve.basis, "points": curve.points}
    base["labels_now"] = curve.labels_now
    if fitted is None:
        return ForecastAnswer(
            **base,
            message=f"A forecast needs an audited {name} at {law.MIN_POINTS} numbers of labels "
            f"(a version has one from {get_settings().metrics_min_support} audit labels on, "
            f"the items the queue draws at random); there are {len(curve.points)}",
        )
    scale = curve.labels_per_x
    ceiling, c_low, c_high = fitted.ceiling()
    now = float(fitted.law.at(fitted.labels_now))
    goal = target if target is not None else now + law.STEP
    point, low, high = fitted.labels_needed(goal)
    gain = fitted.law.gain_if_doubled(fitted.labels_now)
    # most resamples never get there, though the fit on every point does: say it is out of reach
    never = bool(np.isinf(point) or np.isinf(low))

    def labels(x: float) -> float:
        return x * scale

    needed = Interval(
        value=0.0 if never else labels(point),
        low=0.0 if never else labels(low),
        high=None if np.isinf(high) else labels(high),
    )
    more = Interval(
        value=max(0.0, needed.value - curve.labels_now),
        low=max(0.0, needed.low - curve.labels_now),
        high=None if needed.high is None else max(0.0, needed.high - curve.labels_now),
    )
    answer = ForecastAnswer(
        **base,
        fitted_now=round(now, 4),
        ceiling=Interval(value=ceiling, low=c_low, high=c_high),
        target=round(goal, 4),
        labels_needed=None if never else needed,
        more_labels=None if never else more,
        flattened=fitted.flattened,
        gain_if_doubled=round(gain, 4),
        law={"a": fitted.law.a, "b": fitted.law.b, "c": fitted.law.c},
        message="",
    )
    answer.message = _message(answer, name, target is None, gain)
    return answer


def _message(answer: ForecastAnswer, name: str, one_more_point: bool, gain: float) -> str:
    assert answer.target is not None
    goal = (
        f"one more point of {name} ({answer.target:.1%})"
        if one_more_point
        else (f"{answer.target:.1%} {name}")
    )
    if answer.flattened and one_more_point:
        return (
            f"The curve has flattened: doubling the {answer.labels_now:,} labels would add about "
            f"{gain * 100:.1f} points of {name}; one more point takes more than that"
        )
    if answer.more_labels is None:
        return (
            f"{goal[0].upper()}{goal[1:]} is beyond this curve: more labels of this kind are "
            "unlikely to get there"
        )
    more = answer.more_labels
    if more.value == 0:
        return f"The curve is at {answer.target:.1%} {name} already"
    if more.value > FAR * answer.labels_now:
        return f"Far: more than {FAR} times the {answer.labels_now:,} labels there are for {goal}"
    span = (
        f"95 % interval {_about(more.low)} to {_about(more.high)}"
        if more.high is not None
        else f"at least {_about(more.low)}; the curve may level off before"
    )
    return f"About {_about(more.value)} more labels ({span}) for {goal}"
