"""Team benchmark: many annotators start together on a fresh project. Prints figures.

Each run starts the real stack afresh (2 uvicorn API processes, 1 arq worker, embedded Redis,
SQLite or PostgreSQL), uploads a fresh project of AG News texts (made unique, repeated to the
size asked), embeds it, and lets every annotator (its own user and member) loop
`GET /queue?limit=1` -> `POST .../annotations` with the true label:
- **paced**: a fast human, about one label per second (0.5-1.5 s between getting an item and
  labeling it), each starting within the first second;
- **back to back**: no pause (saturation).
It reports p50/p99 of both requests by phase (before the first model, the first minute after
it, steady), items served to more than `annotations_per_item` people, errors, and labels/s.

Embeddings are TF-IDF hashed and randomly projected to 384 dimensions (topic structure like the
real ones, but seconds instead of 15 min of MiniLM for 100k texts); everything after them is the
service's own code. Usage: `python tests/benchmarks/bench_team.py --items 10000 --annotators 20`.
"""

import argparse
import csv
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import DATASETS, ingest_csv, join, local_stack, login

AGNEWS = DATASETS / "topic_agnews" / "agnews_dev.csv"
FIRST_MINUTE = 60.0


def agnews_rows(n: int) -> tuple[list[str], list[tuple[str, str, str]]]:
    """`n` unique (id, text, label) rows from AG News dev, repeated with a suffix if needed."""
    with AGNEWS.open(newline="") as handle:
        base = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    labels = sorted({label for _, label in base})
    rows = []
    for i in range(n):
        text, label = base[i % len(base)]
        rows.append((f"n{i}", f"{text} [{i}]", label))  # unique: ingest skips duplicates
    return labels, rows


def upload(base: str, auth: dict[str, str], labels: list[str], rows, per_item: int) -> int:  # type: ignore[no-untyped-def]
    pid = httpx.post(
        f"{base}/projects",
        headers=auth,
        json={
            "name": "team",
            "task": "text_classification",
            "labels": labels,
            "annotations_per_item": per_item,
        },
    ).json()["id"]
    lines = ["id,text"] + [f'{name},"{text.replace(chr(34), chr(39))}"' for name, text, _ in rows]
    ingest_csv(base, auth, pid, lines, "news.csv")
    return pid


def embed_like_topics(pid: int) -> None:
    """Stand-in embeddings written as the embed job writes them (chunks, cold-start plan,
    items marked ready). The real worker's embed job then finds nothing left to do."""
    from filament.db.models import Item, ItemStatus
    from filament.db.session import get_engine, refresh_statistics, session_scope
    from filament.models.artifacts import save_embedding_chunk
    from filament.storage import get_storage
    from sklearn.feature_extraction.text import HashingVectorizer
    from sqlmodel import col, select, update

    with session_scope() as session:
        found = session.exec(
            select(Item.id, Item.text).where(Item.project_id == pid).order_by(col(Item.id))
        ).all()
    ids = np.array([row[0] for row in found], dtype=np.int64)
    hashed = HashingVectorizer(n_features=2**16, alternate_sign=False).transform(
        [row[1] or "" for row in found]
    )
    projection = np.random.default_rng(0).standard_normal((2**16, 384)).astype(np.float32)
    vectors = np.asarray(hashed @ projection, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    for start in range(0, len(ids), 10_000):
        save_embedding_chunk(get_storage(), pid, ids[start : start + 10_000], vectors[start:])
    try:  # the service's cold-start plan, as the embed job stores it (absent on older code)
        from filament.db.models import Project
        from filament_worker.embed import _plan_cold_start

        with session_scope() as session:
            project = session.get(Project, pid)
        _plan_cold_start(project, None)
    except ImportError:
        pass
    with session_scope() as session:
        session.exec(update(Item).where(Item.project_id == pid).values(status=ItemStatus.ready))
        session.commit()
    refresh_statistics(get_engine(), Item.__tablename__)


class Annotator(threading.Thread):
    def __init__(self, base: str, auth: dict[str, str], pid: int, truth: dict[int, str],
                 seconds: float, paced: bool, seed: int) -> None:  # fmt: skip
        super().__init__()
        self.base, self.auth, self.pid, self.truth = base, auth, pid, truth
        self.seconds, self.paced, self.rng = seconds, paced, random.Random(seed)
        self.samples: list[tuple[str, float, float]] = []  # (request, started, seconds)
        self.model_at: float | None = None
        self.served: list[int] = []
        self.errors: list[str] = []
        self.labeled = 0

    def timed(self, http: httpx.Client, name: str, method: str, path: str, **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        response = http.request(method, path, **kw)
        self.samples.append((name, started, time.monotonic() - started))
        if response.status_code >= 400:
            self.errors.append(f"{name} {response.status_code}: {response.text[:120]}")
        return response

    def run(self) -> None:
        end = time.monotonic() + self.seconds
        if self.paced:  # people sitting down together do not press the first key in the same ms
            time.sleep(self.rng.uniform(0, 1))
        with httpx.Client(base_url=self.base, headers=self.auth, timeout=60) as http:
            while time.monotonic() < end:
                page = self.timed(http, "GET queue", "GET", f"/projects/{self.pid}/queue?limit=1")
                if page.status_code >= 400:
                    continue
                body = page.json()
                if not body["cold_start"] and self.model_at is None:
                    self.model_at = self.samples[-1][1]
                if not body["data"]:
                    time.sleep(0.2)
                    continue
                item = body["data"][0]["id"]
                self.served.append(item)
                if self.paced:
                    time.sleep(self.rng.uniform(0.5, 1.5))
                answer = self.timed(
                    http,
                    "POST annotations",
                    "POST",
                    f"/projects/{self.pid}/items/{item}/annotations",
                    json={"labels": [self.truth[item]]},
                )
                self.labeled += answer.status_code == 201


def item_truth(pid: int, rows) -> dict[int, str]:  # type: ignore[no-untyped-def]
    from filament.db.models import Item
    from filament.db.session import session_scope
    from sqlmodel import select

    by_name = {name: label for name, _, label in rows}
    with session_scope() as session:
        found = session.exec(select(Item.id, Item.name).where(Item.project_id == pid)).all()
    return {item_id: by_name[name] for item_id, name in found}


def report(team: list[Annotator], seconds: float, per_item: int) -> None:
    starts = [a.model_at for a in team if a.model_at is not None]
    model_at = min(starts) if starts else float("inf")
    phases: dict[tuple[str, str], list[float]] = defaultdict(list)
    for annotator in team:
        for name, started, took in annotator.samples:
            if started < model_at:
                phase = "before the first model"
            elif started < model_at + FIRST_MINUTE:
                phase = "first minute of models"
            else:
                phase = "steady"
            phases[(name, phase)].append(took * 1000)
            phases[(name, "all")].append(took * 1000)
    for (name, phase), ms in sorted(phases.items()):
        print(
            f"    {name:17s} {phase:23s} n={len(ms):6d}  p50 {np.percentile(ms, 50):7.1f} ms"
            f"  p99 {np.percentile(ms, 99):7.1f} ms  max {max(ms):7.1f} ms"
        )
    servers: dict[int, set[int]] = defaultdict(set)
    for number, annotator in enumerate(team):
        for item in annotator.served:
            servers[item].add(number)
    over = sum(len(who) > per_item for who in servers.values())
    errors = [e for a in team for e in a.errors]
    labeled = sum(a.labeled for a in team)
    print(
        f"    items served to more than {per_item}: {over} of {len(servers)};"
        f" errors: {len(errors)}; {labeled} labels in {seconds:.0f} s ="
        f" {labeled / seconds:.1f} labels/s; first model after"
        f" {model_at - min(s[1] for a in team for s in a.samples):.1f} s"
    )
    for error in errors[:5]:
        print(f"      {error}")


def run(database_url: str | None, items: int, annotators: int, paced: bool, seconds: float,
        per_item: int) -> None:  # fmt: skip
    mode = "paced (~1 label/s each)" if paced else "back to back"
    print(f"  {items:,} items, {annotators} annotators, k={per_item}, {mode}:", flush=True)
    with tempfile.TemporaryDirectory(prefix="filament-team-") as tmp:
        os.environ["FILAMENT_HEAD_DEBOUNCE_SECONDS"] = "1"
        with local_stack(Path(tmp), database_url) as base:
            owner = login(base)
            labels, rows = agnews_rows(items)
            pid = upload(base, owner, labels, rows, per_item)
            embed_like_topics(pid)
            truth = item_truth(pid, rows)
            team_auth = []
            for _ in range(annotators):
                team_auth.append(join(base, owner, pid, "annotator"))
            team = [
                Annotator(base, auth, pid, truth, seconds, paced, seed)
                for seed, auth in enumerate(team_auth)
            ]
            for annotator in team:
                annotator.start()
            for annotator in team:
                annotator.join()
            report(team, seconds, per_item)


def main() -> None:
    # a timeout's SIGTERM still stops the stack this run started (`finally` blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", default="10000,100000")
    parser.add_argument("--annotators", default="20,50")
    parser.add_argument("--modes", default="paced,back-to-back")
    parser.add_argument("--paced-seconds", type=float, default=100)
    parser.add_argument("--busy-seconds", type=float, default=30)
    parser.add_argument("--per-item", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--databases", default="sqlite")
    args = parser.parse_args()
    for database in args.databases.split(","):
        print(f"== {database} ==", flush=True)
        for items in map(int, args.items.split(",")):
            for annotators in map(int, args.annotators.split(",")):
                for mode in args.modes.split(","):
                    paced = mode == "paced"
                    seconds = args.paced_seconds if paced else args.busy_seconds
                    url, name = None, None
                    if database == "postgresql":
                        import psycopg

                        name = f"filament_team_{uuid.uuid4().hex[:8]}"
                        with psycopg.connect(
                            "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
                        ) as connection:
                            connection.execute(f'CREATE DATABASE "{name}"')
                        url = f"{args.postgres}/{name}"
                    try:
                        run(url, items, annotators, paced, seconds, args.per_item)
                    finally:
                        if name:
                            with psycopg.connect(
                                "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
                            ) as connection:
                                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
