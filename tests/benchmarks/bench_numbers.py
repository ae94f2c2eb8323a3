"""Honest-numbers benchmark: how far the reported figures are from the truth, before and after.

Simulated projects that do what the service does (the loaders, embeddings cache and queue of
``bench_loop.py``: package ``loop``); an oracle answers with the dataset's labels. Each dataset
and seed runs twice:

- **before**: the loop as it was: no audit share, the queue ranks by the model trained on
  every label;
- **after**: per batch of 10, each served item is an audit draw with probability 10 % (5 %
  after 100 audit labels, ``filament.labeling.audit``), uniform over the unlabeled pool; the rest
  come from ``filament.labeling.queue.pick``, which ranks by a head that never saw the audit labels.

At 50/100/200/500 labels ``filament.ml.heads.train_head`` runs as the head-training job does
(audit rows marked), and the figures are compared with the model's accuracy on a held-out test
set (1,000 items never in the pool; its own standard error is about 0.01):

- **CV**: the cross-validated accuracy (the dashboard's figure before; labeled as such after),
  with a Wilson interval on the labeled items;
- **audit** (after): the accuracy of the audit rows' out-of-fold predictions, Wilson interval;
  the dashboard shows it from 30 audit labels on (``shown``), the benchmark at every budget;
- **pool** (after): ``filament.ml.pool_accuracy``, the accuracy over the whole pool: the
  queue's labels counted by their out-of-fold predictions, the rest estimated from the audit
  labels and the model's confidence (prediction-powered), Wilson interval on the effective
  sample size; what the dashboard shows as the audited figure, from 30 audit labels on;
- **suggestions** at the default target 97 %, at 95 % and at 90 %: the unlabeled pool items offered,
  and the share of them that is wrong, against the promise (at most 1 - target): *before*, the
  point-estimate threshold (the lowest confidence whose cross-validated precision reached the
  target on >= 5 items), *after*, ``filament.ml.calibration`` (Clopper-Pearson lower bound on
  human labels, none below 50 of them), with the best bound any threshold reached
  (``reachable``: the highest target the labels backed).

|reported - true| is averaged over seeds (and its maximum given); coverage is the share of
(seed, budget) points whose interval contains the test-set accuracy.

Usage: ``nice -n 15 python tests/benchmarks/bench_numbers.py [--datasets uci,agnews]
[--seeds 20]``; writes ``docs/benchmarks/honest_numbers.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
from loop.data import LOADERS, Dataset, as_stored, embed  # noqa: E402
from loop.report import OUT_DIR  # noqa: E402
from loop.simulation import service_pick  # noqa: E402

BUDGETS = (50, 100, 200, 300, 500)
BATCH = 10
TARGETS = (0.97, 0.95, 0.9)  # the default, and lower targets 500 queue-chosen labels may back
MIN_SUPPORT = 30  # Settings.metrics_min_support
MIN_HUMAN = 50  # Settings.suggestion_min_labels


def old_threshold(confidence: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """The rule before: the lowest threshold whose point-estimate precision met the target
    with at least 5 items (``filament.ml.calibration`` until this change)."""
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], np.cumsum(correct[order])
    ends = np.flatnonzero(np.r_[conf[1:] != conf[:-1], True])
    support = ends + 1
    ok = np.flatnonzero((hits[ends] / support >= target) & (support >= 5))
    return None if len(ok) == 0 else float(conf[ends[ok[-1]]])


def offered(
    threshold: float | None, probs: np.ndarray, truth: np.ndarray
) -> tuple[int, float | None]:
    """Suggestions offered on the unlabeled pool at ``threshold`` and the share that is wrong."""
    if threshold is None:
        return 0, None
    accept = probs.max(axis=1) >= threshold
    if not accept.any():
        return 0, None
    return int(accept.sum()), float((probs[accept].argmax(axis=1) != truth[accept]).mean())


def simulate(
    ds: Dataset,
    seed: int,
    audited: bool = True,
    queue_sees_audit: bool = False,
    refit_late: int = 50,
) -> list[dict]:
    """One simulated project; ``audited=False`` is the loop before this change: no audit
    share, the queue ranks by the model trained on every label, point-estimate suggestions.
    ``queue_sees_audit``: the queue ranks by the deployed model even with audit labels (the
    variant the service does not use, measured to show why)."""
    from filament.labeling.audit import audit_share, draw_audit
    from filament.ml.calibration import calibrate_single_label
    from filament.ml.heads import train_head
    from filament.ml.metrics import held_out_metrics
    from filament.ml.pool_accuracy import Held, fit_map, single_label_pool_accuracy
    from filament.models.artifacts import Embeddings, Scores

    assert ds.X is not None and not ds.multilabel
    pool_X, test_X = as_stored(ds.X[ds.pool]), as_stored(ds.X[ds.test])
    pool_Y, test_Y = ds.Y[ds.pool], ds.Y[ds.test]
    n_labels = len(ds.label_names)
    ids = np.arange(len(ds.pool), dtype=np.int64)
    embeddings = Embeddings(ids, pool_X)
    project = SimpleNamespace(
        strategy="margin",
        task=SimpleNamespace(multilabel=False),
        audit_share=0.10,
        audit_share_later=0.05,
    )
    rng = np.random.default_rng(seed)
    labeled: list[int] = []
    audit: set[int] = set()
    scores, version, points = None, 0, []
    while len(labeled) < max(BUDGETS):
        n = min(BATCH, max(BUDGETS) - len(labeled))
        blocked = np.asarray(labeled, np.int64)
        share = audit_share(project, len(audit)) if audited else 0.0
        count, drawn = draw_audit(embeddings, blocked, n, share, rng)
        drawn = drawn[:count]  # no claim races here: every candidate is won
        rest = service_pick(
            embeddings,
            scores,
            project,
            np.r_[blocked, np.asarray(drawn, np.int64)],
            n - len(drawn),
            "margin",
            rng,
        )
        audit.update(drawn)
        labeled.extend([*drawn, *rest])
        X, Y = pool_X[labeled], pool_Y[labeled]
        at_budget = len(labeled) in BUDGETS
        refit = len(labeled) <= 200 or len(labeled) % refit_late == 0
        if not (at_budget or refit) or len(np.unique(Y)) < 2:
            continue
        mask = np.isin(labeled, list(audit))
        fit = train_head(X, Y, False, n_labels, seed=seed, audit=mask)
        if at_budget:
            true = float((fit.model.predict_proba(test_X).argmax(axis=1) == test_Y).mean())
            unlabeled = np.setdiff1d(ids, labeled)
            pool_probs = fit.model.predict_proba(pool_X[unlabeled])
            true_pool = float((pool_probs.argmax(axis=1) == pool_Y[unlabeled]).mean())
            cv = held_out_metrics(Y, fit.cv_probs, False, n_labels)["accuracy"]
            held = (
                fit.audit_probs
                if fit.audit_probs is not None
                else np.full(fit.cv_probs.shape, np.nan)
            )
            audit_metrics = held_out_metrics(Y[mask], held[mask], False, n_labels)
            conf = np.nan_to_num(fit.cv_probs, nan=-1.0)
            suggestions = {}
            for target in TARGETS:
                before = old_threshold(conf.max(axis=1), conf.argmax(axis=1) == Y, target)
                after = (
                    calibrate_single_label(fit.cv_probs, Y, target) if len(Y) >= MIN_HUMAN else None
                )
                n_before, wrong_before = offered(before, pool_probs, pool_Y[unlabeled])
                n_after, wrong_after = offered(
                    after.threshold if after else None, pool_probs, pool_Y[unlabeled]
                )
                suggestions[str(target)] = {
                    "before": {"offered": n_before, "wrong_share": wrong_before},
                    "after": {
                        "offered": n_after,
                        "wrong_share": wrong_after,
                        "promised_bound": after.lower_bound if after else None,
                        "reachable": after.best_bound if after else None,
                        "calibration_precision": after.precision if after else None,
                    },
                }
            a = audit_metrics.get("accuracy")
            everyone = np.ones(len(Y), dtype=bool)  # no suggestions are confirmed here
            # is a queue-chosen label harder than a pool item at the same confidence? The map
            # confidence -> P(right) learnt on the queue's held-out labels, on the unlabeled pool
            queue_rows = ~mask & np.isfinite(fit.cv_probs).all(axis=1)
            queue_map = fit_map(
                Held.of(
                    fit.cv_probs[queue_rows].max(axis=1),
                    fit.cv_probs[queue_rows].argmax(axis=1) == Y[queue_rows],
                )
            )
            map_gap = float(queue_map(pool_probs.max(axis=1)).mean()) - true_pool
            pool = single_label_pool_accuracy(
                Y, fit.cv_probs, fit.audit_probs, mask, everyone, pool_probs
            )
            points.append(
                {
                    "labels": len(labeled),
                    "true_test_accuracy": true,
                    "true_unlabeled_pool_accuracy": true_pool,
                    "cv": {"value": cv["value"], "low": cv["low"], "high": cv["high"]},
                    "audit": {
                        "support": int(mask.sum()),
                        "shown": int(mask.sum()) >= MIN_SUPPORT,
                        "value": a["value"] if a else None,
                        "low": a["low"] if a else None,
                        "high": a["high"] if a else None,
                    },
                    "pool": {
                        "value": pool["value"] if pool else None,
                        "low": pool["low"] if pool else None,
                        "high": pool["high"] if pool else None,
                        "design_effect": pool["design_effect"] if pool else None,
                    },
                    "queue_map_gap": map_gap,
                    "suggestions": suggestions,
                }
            )
        if refit:
            version += 1
            # None without audit rows: the queue ranks by the model
            queue = None if queue_sees_audit else fit.queue_model
            scores = Scores(
                version,
                ids,
                as_stored(fit.model.predict_proba(pool_X)),
                queue_probs=None if queue is None else as_stored(queue.predict_proba(pool_X)),
            )
    return points


def _coverage(at: list[dict], key: str) -> float | None:
    hits = [
        p[key]["low"] <= p["true_test_accuracy"] <= p[key]["high"]
        for p in at
        if p.get(key, {}).get("low") is not None
    ]
    return float(np.mean(hits)) if hits else None


def _errors(at: list[dict], key: str) -> list[float]:
    return [
        abs(p[key]["value"] - p["true_test_accuracy"])
        for p in at
        if p.get(key, {}).get("value") is not None
    ]


def _abs_error(at: list[dict], key: str) -> float | None:
    errors = _errors(at, key)
    return float(np.mean(errors)) if errors else None


def _max_error(at: list[dict], key: str) -> float | None:
    errors = _errors(at, key)
    return float(np.max(errors)) if errors else None


def _width(at: list[dict], key: str) -> float | None:
    widths = [p[key]["high"] - p[key]["low"] for p in at if p.get(key, {}).get("low") is not None]
    return float(np.mean(widths)) if widths else None


def _median_design_effect(at: list[dict]) -> float | None:
    effects = [p["pool"]["design_effect"] for p in at if p.get("pool", {}).get("design_effect")]
    return float(np.median(effects)) if effects else None


def first_offered(points: list[dict], target: str) -> list[int | None]:
    """Per seed: the first budget at which the bound offered any suggestion (None: never)."""
    first: dict[int, int] = {}
    for p in sorted(points, key=lambda p: p["labels"]):
        if p["suggestions"][target]["after"]["offered"] > 0:
            first.setdefault(p["seed"], p["labels"])
    return [first.get(seed) for seed in sorted({p["seed"] for p in points})]


def _wrong(at: list[dict], target: str, rule: str) -> dict:
    """Suggestions at ``target`` by ``rule`` (before / after): how many, and the wrong share."""
    runs = [p["suggestions"][target][rule] for p in at]
    shares = [r["wrong_share"] for r in runs if r["wrong_share"] is not None]
    reachable = [r["reachable"] for r in runs if r.get("reachable") is not None]
    # precision of the held-out human labels above the threshold minus the pool's there
    gaps = [
        r["calibration_precision"] - (1 - r["wrong_share"])
        for r in runs
        if r.get("calibration_precision") is not None and r["wrong_share"] is not None
    ]
    return {
        "mean_reachable": float(np.mean(reachable)) if reachable else None,
        "mean_calibration_minus_pool_precision": float(np.mean(gaps)) if gaps else None,
        "runs_offering": sum(r["offered"] > 0 for r in runs),
        "mean_offered": float(np.mean([r["offered"] for r in runs])),
        "mean_wrong_share": float(np.mean(shares)) if shares else None,
        "max_wrong_share": float(np.max(shares)) if shares else None,
        "promise_broken_runs": sum(s > 1 - float(target) for s in shares),
    }


def summarise(points: list[dict]) -> dict:
    """Per budget: mean |reported - true| for CV and audit, coverage, suggestion errors."""
    out: dict = {}
    for budget in BUDGETS:
        at = [p for p in points if p["labels"] == budget]
        if not at:
            continue
        out[str(budget)] = {
            "runs": len(at),
            "true_accuracy": float(np.mean([p["true_test_accuracy"] for p in at])),
            "true_unlabeled_pool_accuracy": float(
                np.mean([p["true_unlabeled_pool_accuracy"] for p in at])
            ),
            "cv_abs_error": _abs_error(at, "cv"),
            "cv_max_error": _max_error(at, "cv"),
            "cv_coverage": _coverage(at, "cv"),
            "audit_support": float(np.mean([p["audit"]["support"] for p in at])),
            "audit_shown_runs": sum(p["audit"]["shown"] for p in at),
            "audit_abs_error": _abs_error(at, "audit"),
            "audit_max_error": _max_error(at, "audit"),
            "audit_coverage": _coverage(at, "audit"),
            "audit_width": _width(at, "audit"),
            "pool_abs_error": _abs_error(at, "pool"),
            "pool_max_error": _max_error(at, "pool"),
            "pool_coverage": _coverage(at, "pool"),
            "pool_width": _width(at, "pool"),
            "pool_design_effect": _median_design_effect(at),
            "queue_map_gap": float(np.mean([p["queue_map_gap"] for p in at])),
            "suggestions": {
                str(t): {rule: _wrong(at, str(t), rule) for rule in ("before", "after")}
                for t in TARGETS
            },
        }
    return out


def rounded(value: object) -> object:
    """Four decimals are plenty for these figures, and keep the JSON of 20 seeds small."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: rounded(v) for key, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def print_table(name: str, before: dict, after: dict, first: dict[str, list]) -> None:
    """Before: the CV figure. After: CV, audit and pool figures with their coverage. Then the
    suggestions per target: point-estimate rule (before) and bound (after)."""
    print(f"\n{name}")
    print(
        "  labels | true test (unlabeled pool) | before: |CV-true| cover | after: |CV-true| "
        "cover; audit n | audit: |err| max cover width | pool: |err| max cover width deff; "
        "queue-label map minus the pool's accuracy"
    )
    for budget, b in before.items():
        a = after[budget]
        print(
            f"  {budget:>6} | {a['true_accuracy']:.3f} ({a['true_unlabeled_pool_accuracy']:.3f}) "
            f"| {fmt(b['cv_abs_error'])} {fmt(b['cv_coverage'], 2)} | {fmt(a['cv_abs_error'])} "
            f"{fmt(a['cv_coverage'], 2)}; {a['audit_support']:.0f} | {fmt(a['audit_abs_error'])} "
            f"{fmt(a['audit_max_error'])} {fmt(a['audit_coverage'], 2)} {fmt(a['audit_width'])} "
            f"| {fmt(a['pool_abs_error'])} {fmt(a['pool_max_error'])} "
            f"{fmt(a['pool_coverage'], 2)} {fmt(a['pool_width'])} "
            f"{fmt(a['pool_design_effect'], 2)}; queue map on the pool "
            f"{fmt(a['queue_map_gap'])}",
            flush=True,
        )
    for target in TARGETS:
        print(
            f"  suggestions at {target:.0%}: labels | before: mean offered (runs) wrong share, "
            "promise broken | after: the same; mean best bound reached"
        )
        for budget, b in before.items():
            sb = b["suggestions"][str(target)]["before"]
            sa = after[budget]["suggestions"][str(target)]["after"]
            print(
                f"  {budget:>6} | {sb['mean_offered']:.0f} ({sb['runs_offering']}/{b['runs']}) "
                f"{fmt(sb['mean_wrong_share'])}, {sb['promise_broken_runs']} | "
                f"{sa['mean_offered']:.0f} ({sa['runs_offering']}/{b['runs']}) "
                f"{fmt(sa['mean_wrong_share'])}, {sa['promise_broken_runs']}; "
                f"{fmt(sa['mean_reachable'])}; calibration minus pool precision "
                f"{fmt(sa['mean_calibration_minus_pool_precision'])}",
                flush=True,
            )
        seen = [f for f in first[str(target)] if f is not None]
        print(
            f"  first offered at {target:.0%}: {len(seen)} of {len(first[str(target)])} runs "
            f"within {max(BUDGETS)} labels" + (f", at {sorted(seen)}" if seen else "")
        )


def main() -> None:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="uci,agnews")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/filament-bench-cache"))
    parser.add_argument(
        "--variant", action="store_true", help="also run the queue ranking by the deployed model"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR / "honest_numbers.json")
    args = parser.parse_args()
    threadpool_limits(1)
    result: dict = {"targets": list(TARGETS), "budgets": list(BUDGETS), "datasets": {}}
    for name in args.datasets.split(","):
        ds = embed(LOADERS[name](), args.cache)
        entry: dict = {"title": ds.title}
        for mode in ("before", "after", *(["queue_sees_audit"] if args.variant else [])):
            points = []
            for seed in range(args.seeds):
                started = time.perf_counter()
                run = simulate(
                    ds, seed, audited=mode != "before", queue_sees_audit=mode == "queue_sees_audit"
                )
                points += [dict(p, seed=seed) for p in run]
                print(
                    f"  {name} {mode} seed {seed}: {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
            entry[mode] = {"summary": summarise(points), "points": points}
        entry["first_offered"] = {
            str(t): first_offered(entry["after"]["points"], str(t)) for t in TARGETS
        }
        result["datasets"][name] = entry
        print_table(
            ds.title, entry["before"]["summary"], entry["after"]["summary"], entry["first_offered"]
        )
        if args.variant:
            for budget, v in entry["queue_sees_audit"]["summary"].items():
                print(
                    f"  queue ranks by the deployed model, {budget} labels: audit error "
                    f"{fmt(v['audit_abs_error'])}, coverage {fmt(v['audit_coverage'], 2)}"
                )
    after = [p for d in result["datasets"].values() for p in d["after"]["points"]]
    before = [p for d in result["datasets"].values() for p in d["before"]["points"]]
    shown = [p for p in after if p["audit"]["shown"]]
    overall = {
        "before_cv_coverage": _coverage(before, "cv"),
        "after_cv_coverage": _coverage(after, "cv"),
        "after_audit_coverage": _coverage(after, "audit"),
        "after_pool_coverage": _coverage(after, "pool"),
        "shown_points": len(shown),
        "shown_audit_coverage": _coverage(shown, "audit"),
        "shown_pool_coverage": _coverage(shown, "pool"),
        "shown_audit_abs_error": _abs_error(shown, "audit"),
        "shown_pool_abs_error": _abs_error(shown, "pool"),
    }
    result["overall"] = overall
    print(
        f"\ninterval coverage of the test-set accuracy: before CV "
        f"{overall['before_cv_coverage']:.0%}; after CV {overall['after_cv_coverage']:.0%}, "
        f"audit {overall['after_audit_coverage']:.0%}, pool {overall['after_pool_coverage']:.0%}"
        f"; where shown (>= {MIN_SUPPORT} audit labels, {len(shown)} points): audit "
        f"{fmt(overall['shown_audit_coverage'], 2)} (|err| {fmt(overall['shown_audit_abs_error'])})"
        f", pool {fmt(overall['shown_pool_coverage'], 2)} "
        f"(|err| {fmt(overall['shown_pool_abs_error'])})"
    )
    args.out.write_text(json.dumps(rounded(result), separators=(",", ":")))


if __name__ == "__main__":
    main()
