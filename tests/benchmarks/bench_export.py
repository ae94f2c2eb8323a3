"""Dataset exports at 100k items: the time and the peak RSS growth of each export format.

Two synthetic projects in one SQLite database (or PostgreSQL with --database): a text project
(short distinct texts) and an image project (items pointing at --images distinct small JPEGs
in local storage, so the run does not write 100k files), every item labeled by one of three
annotators. Each format then runs in a fresh process that drains the streamed body (counting
its bytes, keeping none of them), so the peak RSS of one format does not hide the next:
growth = peak RSS during the export - RSS just before it (the imports and the database
connection are warm by then; pyarrow's one-time import of pandas, where installed, too).

Usage: ``python tests/benchmarks/bench_export.py [--items 100000] [--images 1000]
[--database URL] [--keep DIR] [--only image:imagefolder,...]`` (a --keep folder that holds
a run's projects is used again, without building them)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "worker")]

FORMATS = [
    ("text", "csv"),
    ("text", "jsonl"),
    ("text", "parquet"),
    ("text", "parquet+annotations"),
    ("image", "parquet"),
    ("image", "imagefolder"),
]
ANNOTATORS = ["ann@example.com", "bob@example.com", "cyd@example.com"]
LABELS = ["World", "Sports", "Business", "Sci/Tech"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jpeg(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def build(url: str, storage_root: Path, n: int, n_images: int) -> dict[str, int]:
    """The two projects, inserted in bulk; their ids."""
    from filament.db.migrate import upgrade
    from filament.db.models import (
        Annotation,
        AnnotationSource,
        Dataset,
        Item,
        ItemStatus,
        Project,
        Task,
        User,
    )
    from filament.storage import make_key
    from filament.storage.local import LocalStorage
    from sqlalchemy import create_engine, insert
    from sqlmodel import Session

    upgrade(url)
    storage = LocalStorage(storage_root)
    engine = create_engine(url)
    ids = {}
    rng = random.Random(0)
    with Session(engine) as session:
        users = [User(email=email, name=email, password_hash="x") for email in ANNOTATORS]
        session.add_all(users)
        session.commit()
        for modality, task in (
            ("text", Task.text_classification),
            ("image", Task.image_classification),
        ):
            project = Project(
                name=f"bench {modality}",
                task=task,
                labels=LABELS,
                backbone="bench",
                created_by=users[0].id or 0,
            )
            session.add(project)
            session.commit()
            dataset = Dataset(project_id=project.id or 0, name="default")
            session.add(dataset)
            session.commit()
            keys = []
            if modality == "image":
                for number in range(n_images):
                    key = make_key("projects", project.id or 0, "items", f"bench-{number}")
                    storage.put_bytes(key, jpeg(number))
                    keys.append(key)
            for start in range(0, n, 5000):
                rows = []
                for number in range(start, min(n, start + 5000)):
                    text = f"item {number}: {' '.join(rng.choices(LABELS, k=12))}"
                    rows.append(
                        {
                            "project_id": project.id,
                            "dataset_id": dataset.id,
                            "name": f"{number}.jpg" if modality == "image" else f"row-{number}",
                            "kind": modality,
                            "storage_key": keys[number % n_images] if keys else None,
                            "content_type": "image/jpeg" if keys else None,
                            "text": None if keys else text,
                            "content_hash": f"{modality}-{number}",
                            "size": 0,
                            "status": ItemStatus.ready,
                            "n_annotations": 1,
                        }
                    )
                inserted = session.execute(insert(Item).returning(Item.id), rows).scalars().all()
                session.execute(
                    insert(Annotation),
                    [
                        {
                            "item_id": item_id,
                            "project_id": project.id,
                            "user_id": users[item_id % len(users)].id,
                            "labels": [LABELS[item_id % len(LABELS)]],
                            "source": AnnotationSource.human,
                        }
                        for item_id in inserted
                    ],
                )
                session.commit()
            ids[modality] = project.id or 0
    engine.dispose()
    return ids


def run_one(url: str, storage_root: Path, project_id: int, fmt: str) -> dict[str, float]:
    """One export in this process, drained; its figures."""
    from filament.db.models import Project
    from filament.storage.local import LocalStorage
    from sqlalchemy import create_engine
    from sqlmodel import Session

    engine = create_engine(url)
    storage = LocalStorage(storage_root)
    with Session(engine) as session:
        project = session.get(Project, project_id)
        assert project is not None
        body = body_of(session, storage, project, fmt)
        # pyarrow imports pandas on its first array when pandas is installed (a dev
        # dependency here, ~60 MB once per process): outside the figures of every format
        import pyarrow as pa

        pa.array([1])
        before = rss_mb()
        start = time.perf_counter()
        size = 0
        for chunk in body:
            size += len(chunk)
        seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "mb": round(size / 1024**2, 1),
        "rss_before_mb": round(before, 1),
        "peak_growth_mb": round(peak_mb() - before, 1),
    }


def body_of(session, storage, project, fmt: str):  # type: ignore[no-untyped-def]
    from filament.exports.formats import dataset_export

    if fmt in {"csv", "jsonl"}:
        from filament.api.routers.export import _item_rows, _items_csv

        rows = _item_rows(session, project, None)
        if fmt == "csv":
            return (part.encode() for part in _items_csv(rows, None, True))
        return ((json.dumps(row) + "\n").encode() for row in rows)
    base, _, extra = fmt.partition("+")
    return dataset_export(
        session, storage, project, base, "items", unlabeled=False, annotations=bool(extra)
    ).body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--database", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--keep", default=None, help="a folder for the database and storage")
    parser.add_argument("--only", default=None, help="e.g. image:imagefolder,text:parquet")
    parser.add_argument(
        "--run", nargs=3, metavar=("URL", "PROJECT", "FORMAT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--storage", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        url, project_id, fmt = args.run
        print(json.dumps(run_one(url, Path(args.storage), int(project_id), fmt)))
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    storage_root = folder / "storage"
    built = folder / "projects.json"  # a --keep folder's projects are used again
    if built.exists():
        ids = json.loads(built.read_text())
    else:
        start = time.perf_counter()
        ids = build(url, storage_root, args.items, args.images)
        built.write_text(json.dumps(ids))
        print(f"built 2 projects of {args.items:,} items in {time.perf_counter() - start:.0f} s")
    print(f"{'project':8} {'format':22} {'seconds':>8} {'items/s':>8} {'MB out':>8} {'RSS +MB':>8}")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT / 'worker'}"}
    for modality, fmt in FORMATS:
        if args.only and f"{modality}:{fmt}" not in args.only.split(","):
            continue
        answer = subprocess.run(
            [
                sys.executable,
                __file__,
                "--storage",
                str(storage_root),
                "--run",
                url,
                str(ids[modality]),
                fmt,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        figures = json.loads(answer.stdout.strip().splitlines()[-1])
        rate = args.items / figures["seconds"] if figures["seconds"] else 0
        print(
            f"{modality:8} {fmt:22} {figures['seconds']:8.1f} {rate:8,.0f} "
            f"{figures['mb']:8.1f} {figures['peak_growth_mb']:8.1f}"
        )


if __name__ == "__main__":
    main()
