"""Forecast and stop-advice benchmark through the simulated loop: how far the label forecast
made early is from the labels the true curve needed, and where stop advice fires against where
the true curve flattens.

Simulated projects (``loop``: the loaders, embeddings cache and the service's queue, as in
``bench_numbers.py``): per batch of 10, audit draws at the service's share (10 %, 5 % after 100
audit labels), the rest from ``filament.labeling.queue.pick`` ranked by the head that never saw
the audit labels; the oracle answers with the dataset's labels. After every batch
``train_head`` runs as the head-training job does, the version's metrics are made by the job's
own ``evaluation`` (cross-validated and audited figures), and ``filament.quality.stopping.check``
keeps the stop set and its kappa checks (every 10 labels, in a throwaway storage folder).

- **Forecast**: at 100, 200 and 400 labels, ``filament.quality.forecast`` fits the versions so
  far, as ``GET /forecast`` does: the labels for one more point, and whether the curve has
  flattened (one more point takes more than doubling the labels). The truth is the model's
  accuracy on 1,000 test items never in the pool at every version, as the mean of 3
  successive versions: the labels at which it first gains a point over its value at the
  forecast, and whether that takes more than doubling the labels. Beside the service's curve
  (audited figures from 30 audit labels) two variants: audited figures from 10 audit labels,
  and the cross-validated curve the service refuses to forecast from.
- **Stop advice**: the labels at which the rule (kappa >= 0.99 for 3 checks in a row) first
  fires, the test accuracy there, and the labels at which the test curve comes within a point
  of the plateau.

Usage: ``nice -n 10 python tests/benchmarks/bench_forecast.py [--datasets uci,agnews]
[--seeds 3] [--max-labels 800] [--jobs 2]``; writes ``docs/benchmarks/forecast_stopping.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker"), str(ROOT)]
from loop.data import LOADERS, Dataset, as_stored, embed  # noqa: E402
from loop.report import OUT_DIR  # noqa: E402
from loop.simulation import service_pick  # noqa: E402

from tests import datasets  # noqa: E402

FILES = {"uci": datasets.UCI, "agnews": datasets.AGNEWS}
BATCH = 10
FORECAST_AT = (100, 200, 400)  # up to half the run: the truth of "flattened" needs 2 n
# the service (audited figures from 30 audit labels), the same with the floor at 10 audit labels,
# and the cross-validated curve the service refuses to forecast from
VARIANTS = ("audited", "audited_from_10", "cross_validated")
LOW_FLOOR = 10
SMOOTH = 3
_DATA: dict[str, Dataset] = {}


def simulate(name: str, seed: int, max_labels: int, cache: Path) -> dict:
    from filament.labeling.audit import audit_share, draw_audit
    from filament.ml.heads import train_head
    from filament.ml.metrics import held_out_metrics
    from filament.ml.stopping import stop_rule
    from filament.models.artifacts import Embeddings, Scores
    from filament.models.versions import named_metrics
    from filament.quality import forecast, stopping
    from filament.storage.local import LocalStorage
    from filament_worker.train import evaluation
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if name not in _DATA:
        _DATA[name] = embed(LOADERS[name](), cache)
    ds = _DATA[name]
    assert ds.X is not None
    started = time.perf_counter()
    pool_X, test_X = as_stored(ds.X[ds.pool]), as_stored(ds.X[ds.test])
    pool_Y, test_Y = ds.Y[ds.pool], ds.Y[ds.test]
    n_labels = len(ds.label_names)
    ids = np.arange(len(ds.pool), dtype=np.int64)
    embeddings = Embeddings(ids, pool_X)
    project = SimpleNamespace(
        id=seed + 1,
        strategy="margin",
        task=SimpleNamespace(multilabel=False),
        labels=ds.label_names,
        audit_share=0.10,
        audit_share_later=0.05,
        embedding_version=None,
    )
    storage = LocalStorage(Path(tempfile.mkdtemp(prefix=f"bench-forecast-{name}-{seed}-")))
    rng = np.random.default_rng(seed)
    labeled: list[int] = []
    audit: set[int] = set()
    scores, rows, low_floor_rows, test_curve, fits = None, [], [], [], {}
    while len(labeled) < max_labels:
        blocked = np.asarray(labeled, np.int64)
        count, drawn = draw_audit(embeddings, blocked, BATCH, audit_share(project, len(audit)), rng)
        drawn = drawn[:count]
        rest = service_pick(
            embeddings,
            scores,
            project,
            np.r_[blocked, np.asarray(drawn, np.int64)],
            BATCH - len(drawn),
            "margin",
            rng,
        )
        audit.update(drawn)
        labeled.extend([*drawn, *rest])
        X, Y = pool_X[labeled], pool_Y[labeled]
        if len(np.unique(Y)) < 2:
            continue
        mask = np.isin(labeled, list(audit))
        fit = train_head(X, Y, False, n_labels, seed=seed, audit=mask)
        version = len(rows) + 1
        probs = fit.model.predict_proba(pool_X)
        metrics = {
            **named_metrics(fit.metrics, ds.label_names),
            **evaluation(project, Y, fit.cv_probs, mask, fit.audit_probs),
        }
        stability = stopping.check(
            storage, project, version, len(labeled), ids, probs, np.sort(np.asarray(labeled))
        )
        if stability is not None:
            metrics["stability"] = stability
        rows.append(
            SimpleNamespace(
                version=version,
                label_count=len(labeled),
                kind="head",
                status="ready",
                base_version=None,
                metrics=metrics,
            )
        )
        held = fit.audit_probs
        if held is None:
            held = np.full(fit.cv_probs.shape, np.nan)
        low = held_out_metrics(Y[mask], held[mask], False, n_labels, LOW_FLOOR)
        low_floor_rows.append(SimpleNamespace(**{**vars(rows[-1]), "metrics": {"audit": low}}))
        accuracy = float((fit.model.predict_proba(test_X).argmax(axis=1) == test_Y).mean())
        test_curve.append((len(labeled), accuracy))
        if len(labeled) in FORECAST_AT:
            fits[len(labeled)] = {
                "audited": forecast.fit_curve(list(rows), project),
                "audited_from_10": forecast.fit_curve(list(low_floor_rows), project),
                "cross_validated": forecast.fit_curve(
                    list(rows), project, (forecast.CROSS_VALIDATED,)
                ),
            }
        queue = fit.queue_model
        scores = Scores(
            version,
            ids,
            as_stored(probs),
            queue_probs=None if queue is None else as_stored(queue.predict_proba(pool_X)),
        )

    # the truth, from the test curve
    labels_axis = np.array([n for n, _ in test_curve])
    accuracy = np.array([a for _, a in test_curve])
    smooth = np.convolve(accuracy, np.ones(SMOOTH) / SMOOTH, mode="full")[: len(accuracy)]
    smooth[: SMOOTH - 1] = accuracy[: SMOOTH - 1]
    plateau = float(accuracy[labels_axis > labels_axis[-1] - 100].mean())

    def true_labels_for(target: float) -> int | None:
        reached = np.flatnonzero(smooth >= target)
        return int(labels_axis[reached[0]]) if len(reached) else None

    def true_more_for_a_point(at: int) -> int | None:
        """Labels beyond ``at`` until the test curve gains a point; None: not within the run."""
        start = int(np.flatnonzero(labels_axis == at)[0])
        reached = np.flatnonzero(smooth[start:] >= smooth[start] + 0.01)
        return int(labels_axis[start + reached[0]]) - at if len(reached) else None

    forecasts: dict = {}
    for at, by_variant in fits.items():
        truth = true_more_for_a_point(at)
        true_flat = truth is None or truth > at  # the run goes on to at least 2 x at
        forecasts[str(at)] = {"true_more_labels": truth, "true_flattened": true_flat}
        for variant, (curve, fitted) in by_variant.items():
            answer = forecast.answer_for(curve, fitted, project, None)
            more = answer.more_labels
            forecasts[str(at)][variant] = {
                "basis": curve.basis,
                "points": len(curve.points),
                "made": fitted is not None,
                "more_labels": None if more is None else round(more.value),
                "low": None if more is None else round(more.low),
                "high": None if more is None or more.high is None else round(more.high),
                "flattened": answer.flattened,
                "fitted_now": answer.fitted_now,
                "ceiling": None if answer.ceiling is None else answer.ceiling.model_dump(),
                "message": answer.message,
            }

    history = [
        (row.label_count, row.metrics["stability"])
        for row in rows
        if "stability" in row.metrics and row.metrics["stability"]["reference_version"]
    ]
    rule = stop_rule([s["kappa"] for _, s in history])
    fired = history[rule.fired_at][0] if rule.fired_at is not None else None
    fired_accuracy = None
    if fired is not None:
        fired_accuracy = float(smooth[int(np.flatnonzero(labels_axis == fired)[0])])
    return {
        "dataset": name,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "plateau": plateau,
        "true_within_1_point": true_labels_for(plateau - 0.01),
        "stop_fired_at": fired,
        "stop_fired_test_accuracy": fired_accuracy,
        "kappa": [[n, s["kappa"]] for n, s in history],
        "test_curve": [[int(n), round(a, 4)] for n, a in test_curve],
        "forecasts": forecasts,
    }


def _mean(values: list) -> float | None:
    return float(np.mean(values)) if values else None


def full_pool_accuracy(name: str, cache: Path) -> float:
    from filament.ml.heads import train_head

    ds = embed(LOADERS[name](), cache)
    assert ds.X is not None
    fit = train_head(as_stored(ds.X[ds.pool]), ds.Y[ds.pool], False, len(ds.label_names))
    probs = fit.model.predict_proba(as_stored(ds.X[ds.test]))
    return float((probs.argmax(axis=1) == ds.Y[ds.test]).mean())


def summarise(runs: list[dict]) -> dict:
    """Per forecast point and variant: forecasts made; where one was made and the truth is
    known, the mean forecast and true labels for one more point, and how often the interval
    held the truth; how often "flattened" agreed with the truth, and how often it was said
    while the truth was still rising."""
    out: dict = {}
    for at in map(str, FORECAST_AT):
        points = [r["forecasts"][at] for r in runs if at in r["forecasts"]]
        for variant in VARIANTS:
            made = [(p, p[variant]) for p in points if p[variant]["made"]]
            both = [
                (p["true_more_labels"], e)
                for p, e in made
                if p["true_more_labels"] is not None and e["more_labels"] is not None
            ]
            out[f"at_{at}_{variant}"] = {
                "runs": len(points),
                "forecasts": len(made),
                "mean_forecast_more_labels": _mean([e["more_labels"] for _, e in both]),
                "mean_true_more_labels": _mean([t for t, _ in both]),
                "interval_covers_truth": _mean(
                    [
                        e["low"] <= t <= (e["high"] if e["high"] is not None else np.inf)
                        for t, e in both
                    ]
                ),
                "flattened_agrees": _mean([e["flattened"] == p["true_flattened"] for p, e in made]),
                "said_flattened_while_rising": sum(
                    e["flattened"] and not p["true_flattened"] for p, e in made
                ),
            }
    fired = [r for r in runs if r["stop_fired_at"] is not None]
    out["stop"] = {
        "fired_in": f"{len(fired)} of {len(runs)} runs",
        "mean_fired_at": float(np.mean([r["stop_fired_at"] for r in fired])) if fired else None,
        "mean_true_within_1_point": float(
            np.mean([r["true_within_1_point"] for r in runs if r["true_within_1_point"]])
        ),
        "mean_gap_to_plateau_when_fired": float(
            np.mean([r["plateau"] - r["stop_fired_test_accuracy"] for r in fired])
        )
        if fired
        else None,
    }
    return out


def main() -> None:
    from concurrent.futures import ProcessPoolExecutor

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="uci,agnews")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-labels", type=int, default=800)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/filament-bench-cache"))
    parser.add_argument("--out", type=Path, default=OUT_DIR / "forecast_stopping.json")
    args = parser.parse_args()
    names = [n for n in args.datasets.split(",") if n and FILES[n].exists()]
    for skipped in set(args.datasets.split(",")) - set(names):
        print(f"{skipped}: {FILES.get(skipped)} is absent, skipped")
    tasks = [(name, seed) for name in names for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(simulate, name, seed, args.max_labels, args.cache) for name, seed in tasks
        ]
        runs = []
        for future in futures:
            runs.append(future.result())
            r = runs[-1]
            print(
                f"  {r['dataset']} seed {r['seed']} ({r['seconds']} s): "
                f"plateau {r['plateau']:.3f}, within a point at {r['true_within_1_point']}, "
                f"stop fired at {r['stop_fired_at']}; forecasts "
                + "; ".join(
                    f"@{at}: +{e['audited']['more_labels']} (cv "
                    f"+{e['cross_validated']['more_labels']}) vs +{e['true_more_labels']}"
                    for at, e in r["forecasts"].items()
                ),
                flush=True,
            )
    report = {
        "setup": {"max_labels": args.max_labels, "batch": BATCH, "seeds": args.seeds},
        "datasets": {},
    }
    for name in names:
        mine = [r for r in runs if r["dataset"] == name]
        report["datasets"][name] = {
            "full_pool_test_accuracy": full_pool_accuracy(name, args.cache),
            "summary": summarise(mine),
            "runs": mine,
        }
        print(name, json.dumps(report["datasets"][name]["summary"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
