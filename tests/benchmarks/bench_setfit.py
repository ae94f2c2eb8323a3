"""Contrastive fine-tune (SetFit recipe) for texts: prints figures (not a pass/fail test).

On UCI sentiment sentences and AG News (the fixed pool / test splits of ``loop.data``), with the
real all-MiniLM-L6-v2 weights, per seed and label count: ``n`` labelled rows drawn uniformly at
random from the pool (not stratified, as the reference learning curves), then

- frozen: the heads' logistic regression on the frozen embeddings of those rows;
- SetFit: ``setfit.contrastive_finetune`` on those rows (its own 80/20 hold-out for the gate),
  then, as the service does once the version is active (the train-head job right after it), a
  logistic regression on the tuned embeddings of all ``n`` rows;
- served: what the project would serve after the gate (SetFit if its held-out score beat the
  frozen head on the same held-out rows, else the frozen head);
- with ``--recipes classification`` (or ``setfit,classification``) the same for the
  classification fine-tune (``ml.finetune``, LP-FT, ``--classification-epochs``), the recipe the
  worker runs for images and for texts when ``FILAMENT_TEXT_FINETUNE=classification``;

test accuracy on the 1,000 test rows, the fine-tune's wall time, and (once per dataset) the wall
time of re-embedding the pool with the tuned encoder. Timings depend on the machine's load: say
so next to them. Results go to ``--out`` as JSON lines, one per run, as they finish.

Usage: ``python -u tests/benchmarks/bench_setfit.py [--datasets uci,agnews] [--labels 100,200]
[--seeds 3] [--max-steps 400] [--threads 1] [--recipes setfit,classification]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from filament.ml import classifier
from filament.ml.embedder import load_embedder
from filament.ml.finetune import FinetuneConfig, finetune
from filament.ml.heads import fit_head
from filament.ml.setfit import SetFitConfig, contrastive_finetune

from tests.benchmarks.loop.data import LOADERS, Dataset, embed

SHARED_CACHE = Path("/tmp/filament-bench-cache")  # bench_loop's frozen embeddings, if present


def accuracy(X_train: np.ndarray, y: np.ndarray, X_test: np.ndarray, ds: Dataset) -> float:
    head = fit_head(X_train, y, False, len(ds.label_names), "logreg")
    return float((head.predict_proba(X_test).argmax(axis=1) == ds.Y[ds.test]).mean())


def run_one(
    ds: Dataset,
    embedder: Any,
    n: int,
    seed: int,
    recipe: str,
    config: SetFitConfig | FinetuneConfig,
    time_pool: bool,
) -> dict[str, Any]:
    assert ds.X is not None
    rows = np.sort(np.random.default_rng([seed, n]).choice(ds.pool, n, replace=False))
    texts = [ds.inputs[i] for i in rows.tolist()]
    frozen = accuracy(ds.X[rows], ds.Y[rows], ds.X[ds.test], ds)
    started = time.perf_counter()
    n_labels = len(ds.label_names)
    if isinstance(config, SetFitConfig):
        result = contrastive_finetune(
            embedder, texts, ds.Y[rows], False, n_labels, replace(config, seed=seed)
        )
    else:
        result = finetune(embedder, texts, ds.Y[rows], False, n_labels, replace(config, seed=seed))
    finetune_s = time.perf_counter() - started
    test_texts = [ds.inputs[i] for i in ds.test.tolist()]
    tuned = classifier.embed(result.model, embedder, texts + test_texts)
    tuned_accuracy = accuracy(tuned[:n], ds.Y[rows], tuned[n:], ds)
    metrics = result.metrics
    gated = metrics["best_epoch"] > 0 and metrics["primary_metric"] > metrics["head_baseline"]
    record: dict[str, Any] = {
        "dataset": ds.name,
        "labels": n,
        "seed": seed,
        "recipe": recipe,
        "frozen": frozen,
        "tuned": tuned_accuracy,
        "served": tuned_accuracy if gated else frozen,
        "gate_open": bool(gated),
        "val_tuned": metrics["primary_metric"],
        "val_frozen": metrics["head_baseline"],
        "pairs": metrics.get("pairs"),
        "steps": metrics.get("steps"),
        "pair_loss_frozen": metrics.get("pair_loss_frozen"),
        "pair_loss_tuned": metrics.get("pair_loss_tuned"),
        "finetune_s": round(finetune_s, 1),
        "threads": torch.get_num_threads(),
    }
    if time_pool:
        pool_texts = [ds.inputs[i] for i in ds.pool.tolist()]
        t0 = time.perf_counter()
        classifier.embed(result.model, embedder, pool_texts)
        record |= {"pool": len(pool_texts), "reembed_pool_s": round(time.perf_counter() - t0, 1)}
    return record


def summarise(records: list[dict[str, Any]]) -> None:
    print(
        "\n| dataset | labels | recipe | seeds | frozen head | tuned head | served (after gate) |"
    )
    print("|---|---|---|---|---|---|---|")
    keys = sorted({(r["dataset"], r["labels"], r["recipe"]) for r in records})
    for name, n, recipe in keys:
        runs = [r for r in records if (r["dataset"], r["labels"], r["recipe"]) == (name, n, recipe)]

        def cell(key: str, runs: list[dict[str, Any]] = runs) -> str:
            values = np.array([r[key] for r in runs])
            return f"{values.mean():.3f} ± {values.std():.3f}"

        print(
            f"| {name} | {n} | {recipe} | {len(runs)} | {cell('frozen')} | {cell('tuned')} "
            f"| {cell('served')} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="uci,agnews")
    parser.add_argument("--labels", default="100,200")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--recipes", default="setfit", help="setfit and/or classification (ml.finetune)"
    )
    parser.add_argument("--classification-epochs", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/setfit-bench-cache"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_setfit.jsonl"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    for cached in SHARED_CACHE.glob("*.npy") if SHARED_CACHE.exists() else []:
        if not (args.cache / cached.name).exists():
            shutil.copy(cached, args.cache / cached.name)
    names = args.datasets.split(",")
    data = {name: embed(LOADERS[name](), args.cache) for name in names}
    embedder = load_embedder("minilm_l6", device="cpu")
    configs: dict[str, SetFitConfig | FinetuneConfig] = {
        "setfit": SetFitConfig(max_steps=args.max_steps, threads=args.threads),
        # the worker's CPU budget for the classification fine-tune (settings.cpu_finetune_*)
        "classification": FinetuneConfig(epochs=args.classification_epochs, max_items=256),
    }
    recipes = args.recipes.split(",")
    for recipe in recipes:
        print(f"{recipe}: {configs[recipe]}", flush=True)
    records: list[dict[str, Any]] = []
    timed: set[tuple[str, str]] = set()
    for seed in range(args.seeds):  # seed-major: a cut-short run still has whole seeds
        for name in names:
            for n in [int(x) for x in args.labels.split(",")]:
                for recipe in recipes:
                    first = (name, recipe) not in timed
                    record = run_one(data[name], embedder, n, seed, recipe, configs[recipe], first)
                    timed.add((name, recipe))
                    records.append(record)
                    print(json.dumps(record), flush=True)
                    with args.out.open("a") as out:
                        out.write(json.dumps(record) + "\n")
    summarise(records)


if __name__ == "__main__":
    main()
