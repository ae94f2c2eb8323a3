"""Latency of the per-annotator figures (`GET /projects/{id}/annotators`) on a large project.

A project of `--items` (100,000) text items with `--annotations` (5,000) annotations by
`--annotators` (10) people, a tenth of them timed from the queue, and one skip per ten
annotations; the route is asked `--runs` times through the real app (TestClient, embedded Redis)
on SQLite and, when it is reachable, PostgreSQL (a throwaway database, dropped after).

Usage: ``nice -n 10 python tests/benchmarks/bench_annotators.py [--annotations 50000]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker"), str(ROOT)]

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def fill(url: str, items: int, annotations: int, annotators: int) -> None:
    """Rows straight into the database: items, members, annotations and skips."""
    from filament.db.models import Annotation, Item, ProjectMember, Skip
    from sqlalchemy import create_engine, insert, text

    engine = create_engine(url)
    with engine.begin() as db:
        project = db.execute(text("SELECT id FROM project")).scalar_one()
        dataset = db.execute(text("SELECT id FROM dataset")).scalar_one()
        users = [row[0] for row in db.execute(text('SELECT id FROM "user" ORDER BY id'))]
        db.execute(
            insert(ProjectMember),
            [{"project_id": project, "user_id": u, "role": "annotator"} for u in users[1:]],
        )
        for start in range(0, items, 10_000):
            db.execute(
                insert(Item),
                [
                    {
                        "project_id": project,
                        "dataset_id": dataset,
                        "name": f"i{n}",
                        "kind": "text",
                        "text": f"text number {n}",
                        "content_hash": uuid.uuid4().hex,
                        "size": 10,
                        "status": "ready",
                        "n_annotations": 1 if n < annotations else 0,
                        "audit": False,
                        "created_at": datetime.now(UTC),
                    }
                    for n in range(start, min(start + 10_000, items))
                ],
            )
        item_ids = [row[0] for row in db.execute(text("SELECT id FROM item ORDER BY id"))]
        t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
        rows, skips = [], []
        for n in range(annotations):
            user = users[n % annotators]
            at = t0 + timedelta(seconds=20 * (n // annotators) + (n % 7))
            timed = n % 10 == 0
            rows.append(
                {
                    "item_id": item_ids[n],
                    "project_id": project,
                    "user_id": user,
                    "labels": ["positive" if n % 3 else "negative"],
                    "source": "human" if n % 11 else "suggestion",
                    "created_at": at,
                    "served_at": at - timedelta(seconds=15) if timed else None,
                    "seconds": 12.5 if timed else None,
                    "corrects_suggestion": n % 13 == 0,
                }
            )
            if n % 10 == 5:
                skips.append(
                    {
                        "project_id": project,
                        "item_id": item_ids[annotations + n % (items - annotations)],
                        "user_id": user,
                        "created_at": at + timedelta(seconds=3),
                    }
                )
        for start in range(0, len(rows), 5_000):
            db.execute(insert(Annotation), rows[start : start + 5_000])
        db.execute(insert(Skip), skips)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            db.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def measure(url: str, redis_url: str, data_dir: str, args: argparse.Namespace) -> list[float]:
    os.environ.update(
        FILAMENT_ENV="test",
        FILAMENT_DATABASE_URL=url,
        FILAMENT_REDIS_URL=redis_url,
        FILAMENT_DATA_DIR=data_dir,
        FILAMENT_API_WARM_ON_ANNOUNCE="false",
    )
    from fastapi.testclient import TestClient
    from filament.api.app import create_app
    from filament.db.migrate import upgrade

    from tests.conftest import register, reset_caches

    reset_caches()
    upgrade(url)
    with TestClient(create_app()) as client:
        owner = register(client, "owner@example.com")
        for n in range(1, args.annotators):
            register(client, f"a{n}@example.com")
        made = client.post(
            "/api/v1/projects",
            headers=owner,
            json={"name": "big", "task": "text_classification", "labels": ["negative", "positive"]},
        )
        pid = made.json()["id"]
        fill(url, args.items, args.annotations, args.annotators)
        route = f"/api/v1/projects/{pid}/annotators"
        first = client.get(route, headers=owner)
        assert first.status_code == 200, first.text
        assert sum(row["labels"] for row in first.json()["data"]) == args.annotations
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            answer = client.get(route, headers=owner)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200
    from filament.db.session import get_engine

    get_engine().dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, default=5_000)
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        server, redis_url = start_embedded_redis(Settings(data_dir=Path(tmp) / "redis"))
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        admin = None
        try:
            from sqlalchemy import create_engine, text

            admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
            name = f"filament_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as db:
                db.execute(text(f'CREATE DATABASE "{name}"'))
            targets.append(("postgresql", f"{PG}/{name}"))
        except Exception as error:  # no PostgreSQL here: SQLite alone
            print(f"PostgreSQL skipped: {error.__class__.__name__}")
            admin = None
        try:
            for n, (label, url) in enumerate(targets):
                times = measure(url, redis_url, f"{tmp}/data{n}", args)
                times.sort()
                p95 = times[int(0.95 * len(times)) - 1]
                print(
                    f"{label}: {args.items:,} items, {args.annotations:,} annotations, "
                    f"{args.annotators} annotators: GET /annotators p50 "
                    f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
                    f"max {times[-1]:.1f} ms ({args.runs} runs)"
                )
        finally:
            if admin is not None:
                with admin.connect() as db:
                    db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
            server.shutdown()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
