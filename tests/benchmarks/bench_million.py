"""A million-item text project through the real service (2 API processes, embedded Redis,
SQLite or PostgreSQL): ingest rate, API process memory, `GET queue` with 20 paced annotators,
label → model with 1,000 labels, the items page, and a streamed export.

The rows are AG News dev texts (``../shared/datasets/topic_agnews``) repeated with a row
number, so every row is distinct. Embedding a million texts with MiniLM would take ~1.5 h on
2 cores, so the real backbone embeds the distinct base texts once and each row gets its base
text's vector plus small noise (renormalised): the pool has the topic structure of real data
for the queue's clustering, at the size of a million items.

Usage: ``python tests/benchmarks/bench_million.py [--rows 1000000] [--base 2000]
[--databases sqlite,postgresql] [--keep DIR [--train-only]] [--profile]``
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker"), str(Path(__file__).parent)]
from bench_service import (  # noqa: E402
    DATASETS,
    PACE,
    configure,
    free_port,
    join,
    login,
    percentiles,
    start_api,
    timed_clients,
)

TOPICS = ["World", "Sports", "Business", "Sci/Tech"]


def base_texts(n: int) -> list[tuple[str, str]]:
    with open(DATASETS / "topic_agnews" / "agnews_dev.csv", newline="") as handle:
        rows = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    return rows[:n]


def api_pids(api_pid: int) -> list[int]:
    """uvicorn's worker processes (its children, less multiprocessing's resource tracker)."""
    children = Path(f"/proc/{api_pid}/task/{api_pid}/children").read_text().split()
    workers = [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return workers or [api_pid]


def memory_mb(pids: list[int]) -> list[tuple[float, float]]:
    """(RSS, PSS) of each process in MB: PSS counts shared pages (the memory-mapped embedding
    matrix, read through the page cache) once across the processes that map them."""
    out = []
    for pid in pids:
        fields = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value, *_ = line.split()
            fields[name.rstrip(":")] = int(value)
        out.append((fields["Rss"] / 1024, fields["Pss"] / 1024))
    return out


def ingest(base: str, auth: dict[str, str], rows: list[tuple[str, str]], total: int) -> int:
    from filament_worker.ingest import run_ingest

    pid = httpx.post(
        f"{base}/projects",
        headers=auth,
        json={"name": "million", "task": "text_classification", "labels": TOPICS},
    ).json()["id"]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i in range(total):
            writer.writerow([f"r{i}", f"{rows[i % len(rows)][0]} #{i}"])
        path = handle.name
    size = os.path.getsize(path)
    started = time.perf_counter()
    with open(path, "rb") as body:
        upload = httpx.post(
            f"{base}/projects/{pid}/items",
            headers=auth,
            timeout=1800,
            files=[("files", ("million.csv", body))],
        )
    assert upload.status_code == 202, upload.text
    sent = time.perf_counter() - started
    started = time.perf_counter()
    run_ingest(upload.json()["job_id"])
    elapsed = time.perf_counter() - started
    os.unlink(path)
    print(
        f"upload {size / 1e6:.0f} MB CSV: {sent:.1f} s; ingest job: {total:,} rows in "
        f"{elapsed:.1f} s = {total / elapsed:,.0f} rows/s",
        flush=True,
    )
    return pid


def embed_like_base(pid: int, rows: list[tuple[str, str]]) -> None:
    """The real backbone on the base texts; every row gets its base vector plus noise."""
    from filament.db.models import Item, ItemStatus, Project
    from filament.db.session import get_engine, refresh_statistics, session_scope
    from filament.ml.embedder import load_embedder
    from filament.models.artifacts import consolidate, save_embedding_chunk
    from filament.storage import get_storage
    from sqlmodel import col, select, update

    with session_scope() as session:
        project = session.get(Project, pid)
        assert project is not None
        started = time.perf_counter()
        embedder = load_embedder(project.backbone or "minilm_l6")
        vectors = embedder.embed_texts([text for text, _ in rows])
        elapsed = time.perf_counter() - started
        print(
            f"real embeddings of the {len(rows):,} base texts: {elapsed:.1f} s "
            f"({len(rows) / elapsed:.0f} texts/s, model load included)",
            flush=True,
        )
        ids = np.array(
            session.exec(
                select(Item.id).where(Item.project_id == pid).order_by(col(Item.id))
            ).all(),
            dtype=np.int64,
        )
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        for start in range(0, len(ids), 50_000):
            chunk = ids[start : start + 50_000]
            rows_of = (np.arange(start, start + len(chunk)) % len(rows)).astype(np.int64)
            noisy = vectors[rows_of] + rng.normal(scale=0.02, size=(len(chunk), vectors.shape[1]))
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            save_embedding_chunk(get_storage(), pid, chunk, noisy.astype(np.float32))
        consolidate(get_storage(), pid)
        session.exec(update(Item).where(Item.project_id == pid).values(status=ItemStatus.ready))
        session.commit()
    refresh_statistics(get_engine(), Item.__tablename__)  # as the embed job does
    print(
        f"stored {len(ids):,} vectors + consolidated matrix: {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def label_and_train(
    base: str,
    auth: dict[str, str],
    pid: int,
    rows: list[tuple[str, str]],
    labels: int,
    profile: bool = False,
) -> list[int]:
    ids: list[int] = []
    after = 0
    while len(ids) < labels + 4000:
        page = httpx.get(
            f"{base}/projects/{pid}/items?limit=1000&after={after}", headers=auth, timeout=60
        ).json()["data"]
        ids += [item["id"] for item in page]
        after = page[-1]["id"]
    first = ids[0]
    with httpx.Client(timeout=60) as http:
        for item_id in ids[:labels]:
            truth = rows[(item_id - first) % len(rows)][1]
            http.post(
                f"{base}/projects/{pid}/items/{item_id}/annotations",
                headers=auth,
                json={"labels": [truth]},
            )
    time_trainings(pid, profile)
    return ids


def time_trainings(pid: int, profile: bool) -> None:
    from filament_worker.train import run_train_head

    times = []
    for _ in range(5):
        started = time.perf_counter()
        run_train_head(pid)
        times.append(time.perf_counter() - started)
    print(
        f"label → model (head trained, every item re-scored, queue clustering): "
        f"{percentiles(times)}",
        flush=True,
    )
    if profile:  # where one more training's time goes, by cumulative time
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run_train_head, pid)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def latency(base: str, auth: dict[str, str], pid: int, ids: list[int], api: int) -> None:
    annotators = [join(base, auth, pid) for _ in range(20)]
    seen: dict[int, list[int]] = {worker: [] for worker in range(20)}

    def queue(http: httpx.Client, worker: int, n: int) -> httpx.Response:
        held = ",".join(map(str, seen[worker][-200:]))
        response = http.get(
            f"{base}/projects/{pid}/queue?limit=10&exclude={held}", headers=annotators[worker]
        )
        seen[worker] += [item["id"] for item in response.json()["data"]]
        return response

    total = httpx.get(f"{base}/projects/{pid}/items?limit=1", headers=auth).json()["count"]
    rng = random.Random(1)
    first = ids[0]

    def items_page(http: httpx.Client, worker: int, n: int) -> httpx.Response:
        after = first + rng.randrange(0, max(total - 50, 1))
        return http.get(f"{base}/projects/{pid}/items?limit=50&after={after}", headers=auth)

    cold = timed_clients(queue, 20, 2)
    print(f"first queue requests (each API process maps the embeddings): max {max(cold):.2f} s")
    for n, (rss, pss) in enumerate(memory_mb(api_pids(api))):
        print(f"API process {n}: RSS {rss:,.0f} MB, PSS {pss:,.0f} MB (after the queue warmed it)")
    paced = timed_clients(queue, 20, 20, pace=PACE)
    print(f"GET queue (limit 10), 20 paced annotators: {percentiles(paced)}", flush=True)
    busy_started = time.perf_counter()
    busy = timed_clients(queue, 20, 10)
    rate = len(busy) / (time.perf_counter() - busy_started)
    print(f"GET queue, 20 back to back: {percentiles(busy)}, {rate:.0f} requests/s")
    timed_clients(items_page, 4, 1)
    paced = timed_clients(items_page, 20, 25, pace=PACE)
    print(f"GET items (limit 50, keyset page), 20 paced: {percentiles(paced)}", flush=True)


def export(base: str, auth: dict[str, str], pid: int, api: int, content: str) -> None:
    """Stream the export to nothing, sampling the API processes' RSS meanwhile."""
    pids = api_pids(api)
    before = [rss for rss, _ in memory_mb(pids)]
    peak = list(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for n, (rss, _) in enumerate(memory_mb(pids)):
                peak[n] = max(peak[n], rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = 0
    with httpx.stream(
        "GET",
        f"{base}/projects/{pid}/export?format=csv&content={content}",
        headers=auth,
        timeout=1800,
    ) as response:
        assert response.status_code == 200, response.read()
        for block in response.iter_bytes():
            size += len(block)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    growth = max(p - b for p, b in zip(peak, before, strict=True))
    print(
        f"export content={content} CSV: {size / 1e6:,.0f} MB in {elapsed:.1f} s; largest RSS "
        f"growth of an API process {growth:,.0f} MB",
        flush=True,
    )


def run(database_url: str | None, args: argparse.Namespace) -> None:
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import get_settings

    rows = base_texts(args.base)
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="filament-million-")
        )
        Path(tmp).mkdir(parents=True, exist_ok=True)
        kept = (Path(tmp) / "bench.json").exists()
        os.environ["FILAMENT_DATA_DIR"] = tmp
        get_settings.cache_clear()
        server, redis_url = start_embedded_redis(get_settings())
        configure(Path(tmp), database_url, redis_url)
        port = free_port()
        api = start_api(port)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            if kept:  # --keep: the project of an earlier run, ingested and embedded
                saved = json.loads((Path(tmp) / "bench.json").read_text())
                auth, pid = saved["auth"], saved["pid"]
            else:
                auth = login(base)
                pid = ingest(base, auth, rows, args.rows)
                embed_like_base(pid, rows)
                (Path(tmp) / "bench.json").write_text(json.dumps({"auth": auth, "pid": pid}))
            if args.train_only:  # the kept project's labels: label -> model alone
                time_trainings(pid, args.profile)
                return
            ids = label_and_train(base, auth, pid, rows, args.labels, args.profile)
            latency(base, auth, pid, ids, api.pid)
            export(base, auth, pid, api.pid, "predictions")
            export(base, auth, pid, api.pid, "labels")
        finally:
            api.terminate()
            api.wait()
            server.shutdown()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=2_000)
    parser.add_argument("--labels", type=int, default=1_000)
    parser.add_argument(
        "--keep",
        help="a data folder (SQLite) kept between runs: ingest and embed once, then reuse",
    )
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="with --keep: only time head trainings on the kept project's labels",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one more head training"
    )
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if "sqlite" in args.databases:
        print("== SQLite ==", flush=True)
        run(None, args)
    if "postgresql" not in args.databases:
        return
    import psycopg

    name = f"filament_million_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    print("== PostgreSQL ==", flush=True)
    try:
        run(f"{args.postgres}/{name}", args)
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
