"""Memory of API processes holding a project's embeddings: each process's private copy (the
chunks read into memory, as before `consolidate`) against one memory-mapped matrix shared
through the page cache. Several processes hold the same project at once, each runs a full pass
over every vector (what a similarity search or a clustering touches) and reports its RSS and
PSS (its share of shared pages: what the host really pays per process).

Usage: ``python tests/benchmarks/bench_memory.py [--items 1000000] [--dim 384] [--processes 3]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
PROJECT = 424242
CHUNK = 50_000


def hold(store: str, seconds: float) -> None:
    """A child: load, touch every vector, report, then hold until the others have reported."""
    import psutil
    from filament.models.artifacts import load_embeddings
    from filament.storage.local import LocalStorage

    started = time.perf_counter()
    embeddings = load_embeddings(LocalStorage(Path(store)), PROJECT)
    query = np.ones(embeddings.vectors.shape[1], dtype=np.float32)
    best = -np.inf
    for start in range(0, len(embeddings.item_ids), 65_536):  # a full pass, in slices
        best = max(best, float((embeddings.vectors[start : start + 65_536] @ query).max()))
    loaded = time.perf_counter() - started
    time.sleep(seconds)  # everyone holds their arrays while the others measure
    memory = psutil.Process().memory_full_info()
    print(json.dumps({"rss": memory.rss, "pss": memory.pss, "seconds": loaded, "best": best}))


def run(store: Path, processes: int) -> list[dict[str, float]]:
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", str(store)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    return [json.loads(child.communicate()[0]) for child in children]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        hold(args.child, seconds=4.0)
        return
    from filament.models.artifacts import consolidate, save_embedding_chunk
    from filament.storage.local import LocalStorage

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalStorage(Path(folder))
        for start in range(0, args.items, CHUNK):
            ids = np.arange(start + 1, min(start + CHUNK, args.items) + 1)
            save_embedding_chunk(
                storage, PROJECT, ids, rng.standard_normal((len(ids), args.dim), np.float32)
            )
        size = args.items * args.dim * 2 / 2**20
        print(f"{args.items:,} x {args.dim} float16 = {size:,.0f} MiB, {args.processes} processes")
        for name in ("private copies (chunks)", "one memory-mapped matrix"):
            if name.startswith("one"):
                started = time.perf_counter()
                consolidate(storage, PROJECT)
                print(f"  consolidate: {time.perf_counter() - started:.1f} s")
            figures = run(Path(folder), args.processes)
            rss = np.mean([f["rss"] for f in figures]) / 2**20
            pss = np.mean([f["pss"] for f in figures]) / 2**20
            load = np.mean([f["seconds"] for f in figures])
            print(
                f"  {name}: RSS {rss:,.0f} MiB, PSS {pss:,.0f} MiB per process "
                f"(host total {pss * args.processes:,.0f} MiB); load + full pass {load:.1f} s"
            )


if __name__ == "__main__":
    main()
