"""Label-efficiency benchmark: a simulated annotator against the service's own selection code.

For each dataset, strategy and seed, a loop that does what the service does:

- embeddings from ``filament.ml.embedder.load_embedder`` (the project's default backbone),
  cached as ``.npy`` under ``--cache`` (default ``/tmp/filament-bench-cache``) per dataset and
  backbone, so reruns skip the slow CPU embedding;
- the next batch of 10 from ``filament.labeling.queue.pick`` (TypiClust weighted by uncertainty
  squared, see ``filament.ml.strategies``; with no model yet the weight is 1; ``random`` samples
  uniformly), with the pool scored by the latest head;
- an oracle answering with the dataset's labels; then ``filament.ml.heads.train_head`` on all
  labels so far (what the head-training job runs after each batch);
- at each budget (20/50/100/120/150/200/500 labels) the head is scored on a held-out test set:
  accuracy and macro-F1 (single-label), micro- and macro-F1 (multi-label).

A model first exists once the labels hold two classes (single-label) or two rows (multi-label);
until then the queue stays in cold start, as it does with no trained model.

Writes ``docs/benchmarks/label_efficiency_<dataset>.png`` (metric vs labels, one line per
strategy, min-max band over seeds) and ``docs/benchmarks/label_efficiency.json``, and prints a
summary with issue 15's bar for the project's default strategy (``margin``), against the figures
before it (``loop.report.RANDOM_AT_200_BEFORE`` / ``FROZEN_CEILING_BEFORE``): 100 labels reach
the old random 200-label score on every dataset, 200 labels reach the old whole-pool ceiling on
at least two, and the default beats random at every budget on every dataset.

``--variants`` also runs other selections (reimplemented here, library untouched) with the
default strategy: ``probe`` is no strategy at all but a bound on what any selection can do
here: it peeks at the answers; see ``VARIANTS``.

``--backbone image=efficientnet_lite2,text=mpnet_base`` embeds with other backbones than the
defaults (cached per backbone) and writes ``label_efficiency_large.json`` and
``label_efficiency_large_<dataset>.png`` instead (``--name`` chooses another stem), so the
default backbones' report stays as it is.

Usage: ``python tests/benchmarks/bench_loop.py [--datasets uci,agnews,cifar10,posters]
[--seeds 3] [--variants] [--embed-only] [--backbone image=NAME,text=NAME]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
from loop.data import LOADERS, embed, parse_backbones  # noqa: E402
from loop.report import OUT_DIR, STRATEGY_ORDER, finish, print_summary, run_json, setup_info  # noqa: E402
from loop.runner import run_tasks  # noqa: E402
from loop.simulation import BATCH, BUDGETS  # noqa: E402
from loop.variants import VARIANTS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(LOADERS))
    parser.add_argument("--strategies", default=",".join(STRATEGY_ORDER))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/filament-bench-cache"))
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="simulations run in parallel")
    parser.add_argument(
        "--refit-late",
        type=int,
        default=BATCH,
        help="above 200 labels refit the head every this many labels (service: every batch)",
    )
    parser.add_argument(
        "--max-labels",
        type=int,
        default=max(BUDGETS),
        help="stop at this many labels (budgets above it are left empty): for costly variants",
    )
    parser.add_argument(
        "--variants",
        default="",
        help="comma-separated VARIANTS names (or 'all') to run with the default strategy",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="no simulation: recompute comparisons, charts and the summary from the JSON",
    )
    parser.add_argument(
        "--backbone",
        default="",
        help="image=NAME and/or text=NAME: embed with these instead of the default backbones",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="report stem: <name>.json, <name>_<dataset>.png (default label_efficiency, or "
        "label_efficiency_large with --backbone)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        help="label_efficiency.json files from other runs to merge in (with --rebuild)",
    )
    args = parser.parse_args()

    import torch
    from filament.ml.strategies import DEFAULT_STRATEGY

    backbones = parse_backbones(args.backbone)
    stem = args.name or ("label_efficiency_large" if backbones else "label_efficiency")
    json_path = args.out / f"{stem}.json"
    report = json.loads(json_path.read_text()) if json_path.exists() else {}
    report.setdefault("datasets", {})
    if args.rebuild:
        for other in args.merge:
            merged = json.loads(other.read_text())
            report.setdefault("setup", merged.get("setup"))
            if "backbones" in merged.get("setup", {}):
                report["setup"].setdefault("backbones", {}).update(merged["setup"]["backbones"])
            for name, theirs in merged["datasets"].items():
                mine = report["datasets"].setdefault(name, {"strategies": {}})
                mine.update({k: v for k, v in theirs.items() if k != "strategies"})
                mine["strategies"].update(theirs["strategies"])
        for name, result in report["datasets"].items():
            finish(result, args.out / f"{stem}_{name}.png", DEFAULT_STRATEGY)
        report["setup"] = report.get("setup") or setup_info(3, DEFAULT_STRATEGY)
        report["acceptance"] = print_summary(report, DEFAULT_STRATEGY)
        json_path.write_text(json.dumps(report, indent=1) + "\n")
        return
    torch.set_num_threads(2)
    names = [n for n in args.datasets.split(",") if n]
    strategies = [s for s in args.strategies.split(",") if s]
    datasets = {}
    for name in names:
        print(f"{name}: loading + embedding (cache {args.cache})", flush=True)
        datasets[name] = embed(LOADERS[name](), args.cache, backbones)
    if args.embed_only:
        return
    args.out.mkdir(parents=True, exist_ok=True)
    earlier = report.get("setup", {}).get("backbones", {})  # runs per modality add up
    report["setup"] = setup_info(args.seeds, DEFAULT_STRATEGY)
    if backbones:
        report["setup"]["backbones"] = {**earlier, **backbones}
    variants = (
        list(VARIANTS) if args.variants == "all" else [v for v in args.variants.split(",") if v]
    )
    strategies += [f"{DEFAULT_STRATEGY}@{v}" for v in variants]
    tasks = [(n, s, seed) for n in names for s in strategies for seed in range(args.seeds)]
    finished = run_tasks(tasks, args.cache, args.jobs, args.refit_late, args.max_labels, backbones)
    for name, ds in datasets.items():
        result = report["datasets"].setdefault(name, {"strategies": {}})
        result.update(
            title=ds.title,
            backbone=ds.backbone,
            pool=len(ds.pool),
            test=len(ds.test),
            labels=ds.label_names,
            metrics=list(ds.metrics),
            refit_late=args.refit_late,
        )
        for strategy in strategies:
            runs = [finished[(name, strategy, seed)] for seed in range(args.seeds)]
            result["strategies"][strategy] = run_json(runs, ds.metrics)
        finish(result, args.out / f"{stem}_{name}.png", DEFAULT_STRATEGY)
        json_path.write_text(json.dumps(report, indent=1) + "\n")
    report["acceptance"] = print_summary(report, DEFAULT_STRATEGY) or report.get("acceptance")
    json_path.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
