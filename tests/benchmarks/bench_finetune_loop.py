"""The fine-tune tier through the learning loop (issue 15): prints figures, not a pass/fail test.

Per dataset (UCI, AG News: the fixed pool / test splits of ``loop.data``), selection and seed,
``loop.simulation.simulate`` picks the labels as ``bench_loop.py`` does (the service's
``pick``, batches of 10, a head refitted after each) while a wrapper around the picker records
the ids; the labels at budget ``n`` are the first ``n`` picks. Then, per budget, what a project
at ``n`` labels gets from the worker's fine-tune job on a CPU worker:

- frozen: ``train_head`` on the frozen embeddings with the whole pool for self-training, as the
  loop's head (checked against the loop's own figure for the seed: ``frozen_loop``);
- the worker's recipe with its CPU budget (``filament_worker.finetune.run_recipe``: texts'
  default, the classification fine-tune, 1 epoch on at most 256 rows, 80/20 hold-out) and its
  gate (``gate_opens`` against ``head_baseline``, the frozen head on the same held-out rows);
- tuned head: as if the gate had opened, the train-head job's refit (``train_head(...,
  pool=...)``, self-training below 300 labels) on the tuned encoder's embeddings, stored as
  float16 like the service's. To save time only the labeled rows, the test rows and a seeded
  random sample of 2,000 pool rows are re-embedded, the sample standing in for the pool
  (``train_head`` self-trains on a random 2,000-row sample of the pool anyway; on UCI the
  sample is the whole pool). ``frozen_sample``: the frozen head with that same sample;
- served: the tuned head if the gate opened, else the frozen head (``served_accuracy_only``:
  the same by the gate as it was before a tie on accuracy went to the lower held-out loss);

accuracy on the test rows, the validation scores and losses (to judge other gates offline),
the fine-tune's and the re-embedding's wall time and the load average. Results are appended to
``--out`` as JSON lines as they finish; runs already there are skipped (resumable).

Usage: ``python -u tests/benchmarks/bench_finetune_loop.py [--datasets uci,agnews]
[--selections margin,random] [--seeds 0-4] [--labels 100,200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker"), str(ROOT)]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from loop.data import LOADERS, Dataset, as_stored, embed  # noqa: E402
from loop.simulation import service_pick, simulate  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

LOOP_JSON = ROOT / "docs" / "benchmarks" / "label_efficiency.json"
OUT = ROOT / "docs" / "benchmarks" / "finetune_loop_runs.jsonl"
POOL_SAMPLE = 2000


def loop_picks(ds: Dataset, selection: str, seed: int, budgets: tuple[int, ...]) -> tuple:
    """``(picked pool rows in order, {budget: the loop's test accuracy})``."""
    picked: list[int] = []

    def recording(*args: Any) -> list[int]:
        batch = service_pick(*args)
        picked.extend(int(i) for i in batch)
        return batch

    run = simulate(ds, selection, seed, picker=recording, budgets=budgets)
    return np.array(picked, dtype=np.int64), run.scores["accuracy"]


def head_accuracy(
    X: np.ndarray, Y: np.ndarray, test: tuple[np.ndarray, np.ndarray], pool: np.ndarray, **fit: Any
) -> tuple[float, str]:
    """Test accuracy and kind of the train-head job's head (texts: no standardisation)."""
    from filament.ml.heads import train_head

    n_labels = fit.pop("n_labels")
    head = train_head(X, Y, False, n_labels, pool=pool, **fit).model
    test_X, test_Y = test
    return float((head.predict_proba(test_X).argmax(axis=1) == test_Y).mean()), head.kind


def run_budget(
    ds: Dataset, embedder: Any, rows: np.ndarray, seed: int, loop_accuracy: float | None
) -> dict[str, Any]:
    """One project at ``len(rows)`` labels (``rows``: pool positions): fine-tune, gate, refit."""
    from filament.ml import classifier
    from filament.ml.heads import mlp_due
    from filament_worker.finetune import CLASSIFICATION, gate_opens, holdout_losses, run_recipe

    assert ds.X is not None
    n, n_labels = len(rows), len(ds.label_names)
    labeled, Y = ds.pool[rows], ds.Y[ds.pool[rows]]
    test_Y = ds.Y[ds.test]
    pool_X, test_X = as_stored(ds.X[ds.pool]), as_stored(ds.X[ds.test])
    sample = np.sort(np.random.default_rng([seed, n]).permutation(len(ds.pool))[:POOL_SAMPLE])
    # the loop's head at n labels: the MLP is cross-validated the first time 200 labels are
    # reached; the train-head job after an activation tries it again only if it won then
    try_mlp = mlp_due(n, None, None)
    fit = {"n_labels": n_labels, "seed": seed, "try_mlp": try_mlp}
    frozen, frozen_kind = head_accuracy(pool_X[rows], Y, (test_X, test_Y), pool_X, **fit)
    frozen_sample, _ = head_accuracy(pool_X[rows], Y, (test_X, test_Y), pool_X[sample], **fit)
    project = SimpleNamespace(
        task=SimpleNamespace(multilabel=False, modality="text"), labels=ds.label_names
    )
    texts = [ds.inputs[i] for i in labeled.tolist()]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = run_recipe(
        CLASSIFICATION, project, embedder, texts, Y, None, lambda: False, cpu=True, seed=seed
    )
    finetune_s = time.perf_counter() - started
    metrics = result.metrics
    new_score, old_score = metrics.get("accuracy"), metrics["head_baseline"]
    losses = holdout_losses(result)  # the reference is the frozen head on the same rows
    opened = gate_opens(new_score, old_score, 0.0, losses)  # finetune_min_gain's default
    accuracy_only = gate_opens(new_score, old_score, 0.0)  # the gate before ties went by loss
    others = [ds.inputs[i] for i in np.concatenate([ds.test, ds.pool[sample]]).tolist()]
    started = time.perf_counter()
    tuned_X = as_stored(classifier.embed(result.model, embedder, texts + others))
    reembed_s = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    tuned_test, tuned_pool = tuned_X[n : n + len(ds.test)], tuned_X[n + len(ds.test) :]
    fit["try_mlp"] = mlp_due(n, n if try_mlp else None, frozen_kind)
    tuned, tuned_kind = head_accuracy(tuned_X[:n], Y, (tuned_test, test_Y), tuned_pool, **fit)
    return {
        "frozen": frozen,
        "frozen_loop": loop_accuracy,
        "frozen_sample": frozen_sample,
        "tuned": tuned,
        "served": tuned if opened else frozen,
        "gate_open": bool(opened),
        "served_accuracy_only": tuned if accuracy_only else frozen,
        "gate_open_accuracy_only": bool(accuracy_only),
        "val_tuned": new_score,
        "val_frozen": old_score,
        "val_loss_tuned": losses[0],
        "val_loss_frozen": losses[1],
        "best_epoch": metrics["best_epoch"],
        "val_size": metrics["val_size"],
        "train_size": metrics["train_size"],
        "heads": [frozen_kind, tuned_kind],
        "finetune_s": round(finetune_s, 1),
        "reembed_texts": len(tuned_X),
        "reembed_s": round(reembed_s, 1),
        "reembed_s_per_1000": round(1000 * reembed_s / len(tuned_X), 1),
        "load": [round(load_before, 2), round(load_after, 2)],
    }


def seed_ranges(text: str) -> list[int]:
    """``"0-4,7"`` -> ``[0, 1, 2, 3, 4, 7]``."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def loop_figure(name: str, selection: str, seed: int, n: int) -> float | None:
    """The seed's figure in bench_loop's report, if it holds one."""
    if not LOOP_JSON.exists():
        return None
    runs = json.loads(LOOP_JSON.read_text())["datasets"].get(name, {})
    for run in runs.get("strategies", {}).get(selection, {}).get("per_seed", []):
        if run["seed"] == seed:
            return run["accuracy"].get(str(n))
    return None


def mean_se(values: list[float]) -> str:
    """``".881 ± .006"``: the mean and its standard error over the seeds."""
    a = np.array(values, dtype=float)
    se = a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else 0.0
    return f"{a.mean():.3f} ± {se:.3f}".replace("0.", ".")


def summarise(records: list[dict[str, Any]]) -> None:
    """The docs' table from the recorded runs, each gate applied to the recorded validation
    scores: the worker's, and the one on accuracy alone (before ties went by loss)."""
    from filament_worker.finetune import gate_opens

    def opens(r: dict[str, Any], by_loss: bool) -> bool:
        losses = (r["val_loss_tuned"], r["val_loss_frozen"]) if by_loss else None
        return gate_opens(r["val_tuned"], r["val_frozen"], 0.0, losses)

    def served(runs: list[dict[str, Any]], by_loss: bool) -> str:
        figures = [r["tuned"] if opens(r, by_loss) else r["frozen"] for r in runs]
        return f"{mean_se(figures)} | {sum(opens(r, by_loss) for r in runs)}/{len(runs)}"

    print(
        "| dataset | selection | labels | seeds | frozen head | tuned head | served | gate opened "
        "| served, gate on accuracy alone | opened | tuned > frozen |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted({(r["dataset"], r["selection"], r["labels"]) for r in records}):
        runs = sorted(
            (r for r in records if (r["dataset"], r["selection"], r["labels"]) == key),
            key=lambda r: r["seed"],
        )
        seeds = ",".join(str(r["seed"]) for r in runs)
        better = sum(r["tuned"] > r["frozen"] for r in runs)
        print(
            f"| {' | '.join(map(str, key))} | {seeds} | {mean_se([r['frozen'] for r in runs])} "
            f"| {mean_se([r['tuned'] for r in runs])} | {served(runs, True)} "
            f"| {served(runs, False)} | {better}/{len(runs)} |"
        )

    def listed(runs: list[dict[str, Any]]) -> str:
        return ", ".join(
            f"{r['dataset']} {r['selection']} {r['labels']} seed {r['seed']} "
            f"{r['tuned'] - r['frozen']:+.3f}"
            for r in runs
        )

    ties = [r for r in records if opens(r, True) != opens(r, False)]
    print(f"opened by the tie on loss alone (tuned - frozen on test): {listed(ties)}")
    lost = [r for r in records if not opens(r, True) and r["tuned"] > r["frozen"]]
    print(f"gate closed, tuned better on test: {listed(lost)}")
    worse = [r for r in records if opens(r, True) and r["tuned"] < r["frozen"]]
    print(f"gate open, tuned worse on test: {listed(worse)}")
    for name in sorted({r["dataset"] for r in records}):
        runs = [r for r in records if r["dataset"] == name]
        budgets = sorted({r["labels"] for r in runs})
        fine = {
            n: float(np.median([r["finetune_s"] for r in runs if r["labels"] == n]))
            for n in budgets
        }
        per_1000 = [r["reembed_s_per_1000"] for r in runs]
        loads = [x for r in runs for x in r["load"]]
        print(
            f"{name}: fine-tune median s by labels {fine}; re-embedding {np.median(per_1000):.1f} "
            f"s per 1,000 texts (median; {min(per_1000)}-{max(per_1000)}); load average "
            f"{min(loads)}-{max(loads)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="uci,agnews")
    parser.add_argument("--selections", default="margin")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--labels", default="100,200")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/filament-bench-cache"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--summary", action="store_true", help="only print the tables of --out")
    args = parser.parse_args()
    if args.summary:
        summarise([json.loads(line) for line in args.out.read_text().splitlines()])
        return
    from filament.ml.embedder import load_embedder

    torch.set_num_threads(1)
    # one thread everywhere, as bench_loop's workers: the selection's k-means follows the
    # thread count, and with it the picks (the seed's figure would not be the loop's)
    threadpool_limits(1)
    budgets = tuple(int(x) for x in args.labels.split(","))
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["dataset"], r["selection"], r["seed"], r["labels"]))
    embedder = load_embedder("minilm_l6", device="cpu")
    for name in args.datasets.split(","):
        ds = embed(LOADERS[name](), args.cache)
        for seed in seed_ranges(args.seeds):  # seed-major: a cut-short run has whole seeds
            for selection in args.selections.split(","):
                todo = [n for n in budgets if (name, selection, seed, n) not in done]
                if not todo:
                    continue
                started = time.perf_counter()
                picked, scores = loop_picks(ds, selection, seed, budgets)
                simulate_s = round(time.perf_counter() - started, 1)
                for n in todo:
                    record = {
                        "dataset": name,
                        "selection": selection,
                        "seed": seed,
                        "labels": n,
                        "recipe": "classification",
                        "simulate_s": simulate_s,
                        "loop_json": loop_figure(name, selection, seed, n),
                        **run_budget(ds, embedder, picked[:n], seed, scores.get(n)),
                        "threads": torch.get_num_threads(),
                    }
                    print(json.dumps(record), flush=True)
                    with args.out.open("a") as out:
                        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
