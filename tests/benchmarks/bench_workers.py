"""Embedding throughput of one project with 1, 2 and 4 worker processes: a fresh service
(SQLite, embedded Redis, the real API and workers), one text upload split into shards
(filament_worker.embed), timed from the upload's acceptance to its last item ready. Each
worker gets `--threads` torch threads, so on a machine with C cores, C / threads workers can
run side by side: the figure that matters is that throughput grows with workers while cores
allow, i.e. that nothing serialises them.

Usage: ``python tests/benchmarks/bench_workers.py [--rows 4000] [--shard 500] [--threads 1]
[--workers 1,2,4]``
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker"), str(Path(__file__).parent)]
from bench_service import configure, free_port, login, start_api  # noqa: E402


def one_run(workers: int, rows: int, shard: int, threads: int) -> float:
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        redis_server, redis_url = start_embedded_redis(Settings(data_dir=data / "redis"))
        configure(data, None, redis_url)
        os.environ.update(
            FILAMENT_EMBED_SHARD_ITEMS=str(shard),
            FILAMENT_WORKER_TORCH_THREADS=str(threads),
            FILAMENT_WORKER_NICENESS="0",
            FILAMENT_API_WORKERS="1",
        )
        port = free_port()
        api = start_api(port)
        base = f"http://127.0.0.1:{port}/api/v1"
        processes = [
            subprocess.Popen([sys.executable, "-m", "filament.cli", "worker"], env=dict(os.environ))
            for _ in range(workers)
        ]
        try:
            auth = login(base)
            pid = httpx.post(
                f"{base}/projects",
                headers=auth,
                json={"name": "workers", "task": "text_classification", "labels": ["a", "b"]},
            ).json()["id"]
            rng = random.Random(0)
            words = ["good", "bad", "great", "awful", "fine", "poor", "lovely", "dull", "nice"]
            body = "id,text\n" + "".join(
                f"r{i},{' '.join(rng.choices(words, k=16))} {i}\n" for i in range(rows)
            )
            time.sleep(3)  # the workers have loaded their backbones' code
            started = time.perf_counter()
            httpx.post(
                f"{base}/projects/{pid}/items",
                headers=auth,
                timeout=600,
                files=[("files", ("t.csv", body.encode()))],
            )
            while True:
                status = httpx.get(f"{base}/projects/{pid}/status", headers=auth).json()
                if status["items_ready"] >= rows:
                    return rows / (time.perf_counter() - started)
                time.sleep(0.25)
        finally:
            for process in [*processes, api]:
                process.terminate()
            for process in [*processes, api]:
                process.wait(timeout=60)
            redis_server.shutdown()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--shard", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    print(f"{args.rows:,} texts, shards of {args.shard}, {args.threads} torch thread(s) a worker")
    baseline = None
    for workers in [int(n) for n in args.workers.split(",")]:
        rate = one_run(workers, args.rows, args.shard, args.threads)
        baseline = baseline or rate
        print(f"  {workers} worker(s): {rate:,.0f} texts/s ({rate / baseline:.2f}x one)")


if __name__ == "__main__":
    main()
