"""The head's share of label → model: ``train_head`` on 1,000 labeled rows (cross-validation,
the MLP candidate, refit), then the pool of 100,000 rows scored, as the head-training job does
(``predict_pool`` on float16 rows; images first estimate their standardisation on the pool).
Rows are the bench_loop datasets' cached embeddings: AG News (MiniLM, 384-d, text) and CIFAR-10
(EfficientNet-Lite0, 1280-d, image), the pool tiled to 100,000 rows.

Usage: ``python tests/benchmarks/bench_head.py [--trials 5] [--datasets agnews,cifar10]
[--unscaled] [--backbone image=NAME,text=NAME] [--mlp-tried]`` (``--unscaled``: every modality as
texts, the head before standardisation; ``--backbone``: another backbone's cached embeddings;
``--mlp-tried``: a training that cross-validates the MLP candidate, see ``heads.mlp_due``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT), str(Path(__file__).parent)]
from loop.data import LOADERS, embed, parse_backbones  # noqa: E402

POOL = 100_000
LABELS = 1000


def main() -> None:
    from filament.ml import heads, pool_scoring

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--unscaled", action="store_true", help="no standardisation, C = 1")
    parser.add_argument("--datasets", default="agnews,cifar10")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/filament-bench-cache"))
    parser.add_argument(
        "--backbone", default="", help="image=NAME and/or text=NAME, as bench_loop's option"
    )
    parser.add_argument(
        "--mlp-tried",
        action="store_true",
        help="a training that cross-validates the MLP candidate (heads.mlp_due: at 200 labels "
        "and each doubling); without it, the trainings in between",
    )
    args = parser.parse_args()
    for name in args.datasets.split(","):
        ds = embed(LOADERS[name](), args.cache, parse_backbones(args.backbone))
        assert ds.X is not None
        pool = np.resize(ds.X[ds.pool], (POOL, ds.X.shape[1])).astype(np.float16)
        rows = np.random.default_rng(0).choice(len(ds.pool), LABELS, replace=False)
        X, Y = pool[rows], ds.Y[ds.pool][rows]
        fits, scorings, totals = [], [], []
        for _ in range(args.trials):
            started = time.perf_counter()
            modality = "text" if args.unscaled else ds.modality
            standardize = heads.standardization_for(modality, pool)
            fit = heads.train_head(
                X,
                Y,
                False,
                len(ds.label_names),
                standardize=standardize,
                try_mlp=args.mlp_tried,
                pool=pool,
            )
            fitted = time.perf_counter()
            pool_scoring.predict_pool([fit.model], pool)
            done = time.perf_counter()
            fits.append(fitted - started)
            scorings.append(done - fitted)
            totals.append(done - started)
        print(
            f"{name} ({ds.backbone}, {ds.X.shape[1]}-d, {ds.modality}), {LABELS} labels, "
            f"standardised: {standardize is not None}, C = {fit.C}, MLP tried: {args.mlp_tried}, "
            f"head {fit.model.kind}: "
            f"fit p50 {np.median(fits):.2f} s, score {POOL:,} p50 {np.median(scorings):.2f} s, "
            f"total p50 {np.median(totals):.2f} s, max {max(totals):.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
