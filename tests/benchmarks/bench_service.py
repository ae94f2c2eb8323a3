"""Service benchmark: prints figures (not a pass/fail test). `make bench` runs it.

- rows/s ingesting a 100k-row CSV; images/s ingesting a 2,000-image zip
- label -> refreshed model and scores (head training) on a 100k-item project with 1,000 labels
- p50/p99 of GET items, POST annotations and GET queue with 20 concurrent clients (SQLite and,
  when reachable, PostgreSQL), two ways: back to back (saturation; on 2 cores the latency is
  mostly queueing) and paced like annotators (`PACE`)
- peak RSS growth of the API process during a 500 MB upload

Ingest and training run in this process through the worker's own functions (so the timing is
the job's, not the queue's); the API runs as a real uvicorn process.
"""

import argparse
import concurrent.futures
import contextlib
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"


# the paced load: each annotator sends a request every 200 ms on average, several times the pace
# of a fast human labeler (one item every 1-2 s, with the queue fetched once per 10 items)
PACE = 0.2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return (
        f"p50 {np.percentile(ms, 50):6.1f} ms  p99 {np.percentile(ms, 99):6.1f} ms  (n={len(ms)})"
    )


def configure(data_dir: Path, database_url: str | None, redis_url: str) -> None:
    from filament.cli import migrate
    from filament.core.settings import get_settings
    from filament.db.session import get_engine
    from filament.storage import get_storage

    os.environ.update(FILAMENT_DATA_DIR=str(data_dir), FILAMENT_REDIS_URL=redis_url)
    os.environ.pop("FILAMENT_DATABASE_URL", None)
    if database_url:
        os.environ["FILAMENT_DATABASE_URL"] = database_url
    for cache in (get_settings, get_engine, get_storage):
        cache.cache_clear()
    migrate()


def start_api(port: int) -> subprocess.Popen[bytes]:
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "filament.api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            # a process mapping a million-item project's scores can hold the GIL past
            # uvicorn's 5 s health check, which then kills it mid-request
            "--timeout-worker-healthcheck",
            "60",
            "--workers",
            os.environ.get("FILAMENT_API_WORKERS", "2"),
        ],
        env=dict(os.environ),
    )
    for _ in range(120):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return api
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit("API did not start")


@contextlib.contextmanager
def local_stack(
    data_dir: Path, database_url: str | None, worker_log: IO[str] | int = subprocess.DEVNULL
) -> Iterator[str]:
    """The whole service on ``data_dir``, started afresh: embedded Redis, the database
    migrated, one arq worker (its log to ``worker_log``) and the API processes. Yields the
    API's base URL; stops them all at the end."""
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import get_settings

    os.environ["FILAMENT_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    server, redis_url = start_embedded_redis(get_settings())
    configure(data_dir, database_url, redis_url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "filament.cli", "worker"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=worker_log,
    )
    processes = [worker]
    try:
        port = free_port()
        processes.insert(0, start_api(port))
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        server.shutdown()  # type: ignore[attr-defined]


def ingest_csv(base: str, auth: dict[str, str], pid: int, lines: list[str], name: str) -> None:
    """Upload ``lines`` (a CSV, header first) to project ``pid`` and wait while the real worker
    ingests them."""
    answer = httpx.post(
        f"{base}/projects/{pid}/items",
        headers=auth,
        timeout=600,
        files=[("files", (name, ("\n".join(lines) + "\n").encode()))],
    )
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/jobs/{answer.json()['job_id']}", headers=auth).json()
        if state["status"] in ("done", "failed"):
            assert state["status"] == "done", state
            return
        time.sleep(0.5)
    raise SystemExit("the upload was not ingested within 10 minutes")


def login(base: str, invitation: str | None = None, email: str | None = None) -> dict[str, str]:
    """A new account (registered with `invitation` when given), signed in."""
    email = email or f"bench-{uuid.uuid4().hex[:6]}@example.com"
    body = {"email": email, "password": "benchmark pw", "invitation": invitation}
    httpx.post(f"{base}/auth/register", json={k: v for k, v in body.items() if v is not None})
    token = httpx.post(f"{base}/auth/token", data={"username": email, "password": "benchmark pw"})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def join(base: str, owner: dict[str, str], pid: int, role: str = "annotator") -> dict[str, str]:
    """A new member of the project, the way people join: invited, registered, accepted."""
    email = f"bench-{uuid.uuid4().hex[:6]}@example.com"
    sent = httpx.post(
        f"{base}/projects/{pid}/invitations", headers=owner, json={"email": email, "role": role}
    )
    assert sent.status_code == 201, sent.text
    token = sent.json()["token"]
    member = login(base, invitation=token, email=email)
    accepted = httpx.post(f"{base}/invitations/{token}/accept", headers=member)
    assert accepted.status_code == 200, accepted.text
    return member


def bench_text_ingest(base: str, auth: dict[str, str], rows: int) -> tuple[int, list[int]]:
    from filament_worker.ingest import run_ingest

    pid = httpx.post(
        f"{base}/projects",
        headers=auth,
        json={
            "name": "bench text",
            "task": "text_classification",
            "labels": ["negative", "positive"],
        },
    ).json()["id"]
    words = ["good", "bad", "great", "awful", "fine", "poor", "lovely", "dull", "nice", "weak"]
    rng = random.Random(0)
    body = "id,text\n" + "".join(
        f"r{i},{' '.join(rng.choices(words, k=12))} {i}\n" for i in range(rows)
    )
    upload = httpx.post(
        f"{base}/projects/{pid}/items",
        headers=auth,
        timeout=600,
        files=[("files", ("big.csv", body.encode()))],
    ).json()
    start = time.perf_counter()
    run_ingest(upload["job_id"])
    elapsed = time.perf_counter() - start
    print(f"ingest CSV: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s")
    return pid, []


def bench_zip_ingest(base: str, auth: dict[str, str], n: int) -> None:
    from filament_worker.ingest import run_ingest

    images = sorted((DATASETS / "images_cifar10_subset").rglob("*.jpg"))[:n]
    if len(images) < n:
        print("zip ingest: skipped (../shared/datasets/images_cifar10_subset absent)")
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in images:
            archive.write(path, path.relative_to(DATASETS / "images_cifar10_subset").as_posix())
    pid = httpx.post(
        f"{base}/projects",
        headers=auth,
        json={
            "name": "bench images",
            "task": "image_classification",
            "labels": [
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ],
        },
    ).json()["id"]
    upload = httpx.post(
        f"{base}/projects/{pid}/items",
        headers=auth,
        timeout=600,
        files=[("files", ("cifar.zip", buffer.getvalue()))],
    ).json()
    start = time.perf_counter()
    run_ingest(upload["job_id"])
    elapsed = time.perf_counter() - start
    print(f"ingest zip: {n:,} images in {elapsed:.1f} s = {n / elapsed:,.0f} images/s")


def fake_embeddings(pid: int, dim: int = 384) -> None:
    """Random unit vectors stand in for 100k real embeddings (27 min of MiniLM on this CPU)."""
    from filament.db.models import Item, ItemStatus
    from filament.db.session import get_engine, refresh_statistics, session_scope
    from filament.models.artifacts import save_embedding_chunk
    from filament.storage import get_storage
    from sqlmodel import col, select, update

    with session_scope() as session:
        ids = np.array(
            session.exec(
                select(Item.id).where(Item.project_id == pid).order_by(col(Item.id))
            ).all(),
            dtype=np.int64,
        )
        rng = np.random.default_rng(0)
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            vectors = rng.normal(size=(len(chunk), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            save_embedding_chunk(get_storage(), pid, chunk, vectors)
        session.exec(update(Item).where(Item.project_id == pid).values(status=ItemStatus.ready))
        session.commit()
    refresh_statistics(get_engine(), Item.__tablename__)  # as the embed job does


def timed_clients(fn, clients: int, per_client: int, pace: float | None = None) -> list[float]:  # type: ignore[no-untyped-def]
    """Latencies of `clients` threads each sending `per_client` requests: back to back when
    `pace` is None (saturation: the latency is mostly waiting for the 2 cores), else with
    exponentially distributed gaps of `pace` seconds on average (independent annotators)."""

    def one(worker: int) -> list[float]:
        samples = []
        gaps = random.Random(worker)
        with httpx.Client(timeout=60) as http:
            for n in range(per_client):
                if pace is not None:
                    time.sleep(gaps.expovariate(1 / pace))
                start = time.perf_counter()
                response = fn(http, worker, n)
                assert response.status_code < 300, response.text
                samples.append(time.perf_counter() - start)
        return samples

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return [s for part in pool.map(one, range(clients)) for s in part]


def report(name: str, fn, per_client: int) -> None:  # type: ignore[no-untyped-def]
    """Both loads for one endpoint: 20 clients back to back, and 20 paced clients."""
    start = time.perf_counter()
    busy = timed_clients(fn, 20, per_client)
    rate = len(busy) / (time.perf_counter() - start)
    print(f"{name}, 20 clients back to back: {percentiles(busy)}, {rate:,.0f} requests/s")
    paced = timed_clients(fn, 20, per_client, pace=PACE)
    print(f"{name}, 20 clients at {1 / PACE:.0f} requests/s each: {percentiles(paced)}")


def bench_latency(base: str, auth: dict[str, str], pid: int, label_count: int) -> None:
    from filament_worker.train import run_train_head

    pages = [
        httpx.get(f"{base}/projects/{pid}/items?limit=1000&offset={offset}", headers=auth).json()
        for offset in (0, 1000, 2000)
    ]
    total = pages[0]["count"]
    ids = [i["id"] for page in pages for i in page["data"]]
    rng = random.Random(1)
    # labels for the first model
    for item_id in ids[:label_count]:
        httpx.post(
            f"{base}/projects/{pid}/items/{item_id}/annotations",
            headers=auth,
            json={"labels": [rng.choice(["negative", "positive"])]},
        )
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run_train_head(pid)
        times.append(time.perf_counter() - start)
    print(
        f"head training + pool re-scoring, {total:,} items, {label_count:,} labels: "
        f"{percentiles(times)}"
    )

    first_id = ids[0]

    def get_items(http: httpx.Client, worker: int, n: int) -> httpx.Response:
        # a random page of the 100k, reached as the web app pages: by keyset (`after`)
        after = first_id + rng.randrange(0, max(total - 50, 1))
        return http.get(f"{base}/projects/{pid}/items?limit=50&after={after}", headers=auth)

    def get_items_offset(http: httpx.Client, worker: int, n: int) -> httpx.Response:
        offset = rng.randrange(0, max(total - 50, 1))
        return http.get(f"{base}/projects/{pid}/items?limit=50&offset={offset}", headers=auth)

    def annotate(http: httpx.Client, worker: int, n: int) -> httpx.Response:
        item_id = ids[label_count + (worker * 7 + n) % (len(ids) - label_count)]
        return http.post(
            f"{base}/projects/{pid}/items/{item_id}/annotations",
            headers=auth,
            json={"labels": ["positive"]},
        )

    annotators = [join(base, auth, pid) for _ in range(20)]

    seen: dict[int, list[int]] = {worker: [] for worker in range(20)}

    def queue(http: httpx.Client, worker: int, n: int) -> httpx.Response:
        # as the web app prefetches: the ids it holds go back as `exclude`, so every request
        # chooses new items (without it the server re-serves the caller's leases, which is cheap)
        held = ",".join(map(str, seen[worker][-200:]))
        response = http.get(
            f"{base}/projects/{pid}/queue?limit=10&exclude={held}", headers=annotators[worker]
        )
        seen[worker] += [item["id"] for item in response.json()["data"]]
        return response

    # each API process loads the pool's scores and embeddings on its first request: reported
    # apart, so the percentiles describe the steady state (20 clients twice: the kernel hands
    # connections to the processes unevenly, and each must have had one)
    cold = timed_clients(queue, 20, 2)
    print(
        f"first queue requests (each API process loads the embeddings): max "
        f"{max(cold) * 1000:.0f} ms"
    )
    timed_clients(get_items, 4, 1)
    report("GET items (limit 50, keyset page)", get_items, 25)
    report("GET items (limit 50, offset page)", get_items_offset, 25)
    report("POST annotations", annotate, 25)
    report("GET queue (limit 10)", queue, 20)


def bench_upload_rss(base: str, auth: dict[str, str], api_pid: int, megabytes: int) -> None:
    pid = httpx.post(
        f"{base}/projects",
        headers=auth,
        json={"name": "rss", "task": "image_classification", "labels": ["a", "b"]},
    ).json()["id"]

    # the API's worker processes (uvicorn's children), or the process itself
    children = Path(f"/proc/{api_pid}/task/{api_pid}/children").read_text().split()
    pids = [int(p) for p in children] or [api_pid]

    def status_kb(field: str) -> list[int]:
        values = []
        for pid_ in pids:
            for line in Path(f"/proc/{pid_}/status").read_text().splitlines():
                if line.startswith(field):
                    values.append(int(line.split()[1]))
        return values

    before = status_kb("VmRSS")
    block = b"\xff\xd8\xff" + os.urandom(1024 * 1024 - 3)
    boundary = "benchboundary"

    def body():  # type: ignore[no-untyped-def]
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        for _ in range(megabytes):
            yield block
        yield f"\r\n--{boundary}--\r\n".encode()

    start = time.perf_counter()
    response = httpx.post(
        f"{base}/projects/{pid}/items",
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    peaks = status_kb("VmHWM")
    growth = max(p - b for p, b in zip(peaks, before, strict=True))
    before, peak = max(before), max(peaks)
    print(
        f"upload {megabytes} MB: HTTP {response.status_code} in {elapsed:.1f} s; API RSS "
        f"{before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB "
        f"(largest growth of one API process {growth / 1024:.0f} MB)"
    )


def run(database_url: str | None, args: argparse.Namespace) -> None:
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import get_settings

    with tempfile.TemporaryDirectory(prefix="filament-bench-") as tmp:
        os.environ["FILAMENT_DATA_DIR"] = tmp
        get_settings.cache_clear()
        server, redis_url = start_embedded_redis(get_settings())
        configure(Path(tmp), database_url, redis_url)
        port = free_port()
        api = start_api(port)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            auth = login(base)
            bench_upload_rss(base, auth, api.pid, args.upload_mb)
            pid, _ = bench_text_ingest(base, auth, args.rows)
            bench_zip_ingest(base, auth, args.images)
            fake_embeddings(pid)
            bench_latency(base, auth, pid, args.labels)
        finally:
            api.terminate()
            api.wait()
            server.shutdown()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=2_000)
    parser.add_argument("--labels", type=int, default=1_000)
    parser.add_argument("--upload-mb", type=int, default=500)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if "sqlite" in args.databases:
        print("== SQLite ==", flush=True)
        run(None, args)
    if "postgresql" not in args.databases:
        return
    try:
        import psycopg

        name = f"filament_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except Exception as error:
        print(f"== PostgreSQL skipped: {error}")
        return
    print("== PostgreSQL ==", flush=True)
    try:
        run(f"{args.postgres}/{name}", args)
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
