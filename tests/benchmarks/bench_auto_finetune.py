"""The CPU worker's own text fine-tunes, as a team meets them. Prints figures.

Each run starts the real stack afresh (2 uvicorn API processes, 1 arq worker, embedded Redis,
SQLite), uploads the pool of a shared text dataset (`loop.data`: UCI's 2,000 pool texts or AG
News's 5,000, the split `bench_loop.py` uses), lets the real worker embed it with the project's
default backbone, then lets paced annotators (one item every 0.5-1.5 s each, the true label)
label through `GET /queue?limit=1` until `--labels` labels are in. Two runs per dataset: the
worker fine-tuning on its own (`FILAMENT_CPU_AUTO_FINETUNE_ITEMS` above the pool) and not (0).

It reports, per run:
- **label -> model**: for the k-th label, the time until `GET /status` shows a model with at
  least k labels (`labels_in_model`), p50 / p99 / max, for labels while a fine-tune job ran and
  the others (from the first model on; status polled every 0.25 s);
- each fine-tune job: its time, its held-out score against the gate's reference, whether the
  gate opened;
- the served model's accuracy on the dataset's 1,000 test texts through `POST /score`, once
  every job has finished.
Usage: `python -u tests/benchmarks/bench_auto_finetune.py --datasets uci,agnews --labels 200`.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]
from bench_service import ingest_csv, join, local_stack, login  # noqa: E402
from loop.data import LOADERS, Dataset  # noqa: E402

POLL_SECONDS = 0.25
QUIET_SECONDS = 10


class Annotator(threading.Thread):
    """Labels the queue's next item with its true label, paced like a fast human."""

    def __init__(self, base: str, auth: dict[str, str], pid: int, truth: dict[int, str],
                 team: Team, seed: int) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.base, self.auth, self.pid, self.truth = base, auth, pid, truth
        self.team, self.rng = team, random.Random(seed)

    def run(self) -> None:
        time.sleep(self.rng.uniform(0, 1))
        with httpx.Client(base_url=self.base, headers=self.auth, timeout=60) as http:
            while not self.team.done():
                page = http.get(f"/projects/{self.pid}/queue?limit=1")
                data = page.json().get("data") if page.status_code == 200 else None
                if not data:
                    time.sleep(0.2)
                    continue
                item = data[0]["id"]
                time.sleep(self.rng.uniform(0.5, 1.5))
                answer = http.post(
                    f"/projects/{self.pid}/items/{item}/annotations",
                    json={"labels": [self.truth[item]]},
                )
                if answer.status_code == 201:
                    self.team.labeled(time.time())


class Team:
    """The labels' times, in the order the service accepted them."""

    def __init__(self, target: int) -> None:
        self.target, self.times, self.lock = target, [], threading.Lock()

    def labeled(self, at: float) -> None:
        with self.lock:
            self.times.append(at)

    def done(self) -> bool:
        with self.lock:
            return len(self.times) >= self.target


class StatusPoller(threading.Thread):
    def __init__(self, base: str, auth: dict[str, str], pid: int) -> None:
        super().__init__(daemon=True)
        self.base, self.auth, self.pid = base, auth, pid
        self.samples: list[tuple[float, int]] = []  # (time, labels_in_model)
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.auth, timeout=60) as http:
            while not self.stop.is_set():
                status = http.get(f"/projects/{self.pid}/status")
                if status.status_code == 200:
                    self.samples.append((time.time(), status.json()["labels_in_model"] or 0))
                time.sleep(POLL_SECONDS)


def wait_for(base: str, auth: dict[str, str], pid: int, seconds: float) -> list[dict[str, Any]]:
    """The project's jobs once none is queued or running and the model has every label (or
    `seconds` have passed)."""
    deadline, quiet_since = time.monotonic() + seconds, None
    while True:
        jobs = httpx.get(f"{base}/projects/{pid}/jobs?limit=200", headers=auth).json()["data"]
        busy = [job for job in jobs if job["status"] in ("queued", "running")]
        status = httpx.get(f"{base}/projects/{pid}/status", headers=auth).json()
        behind = (status["labels_in_model"] or 0) < status["labeled"]
        if busy or behind:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        # quiet for QUIET_SECONDS: the head a fine-tune asks for when it ends (and the next
        # fine-tune that head may start) have come and gone
        if quiet_since and time.monotonic() - quiet_since > QUIET_SECONDS:
            return jobs
        if time.monotonic() > deadline:
            return jobs
        time.sleep(1)


def stamp(value: str | None) -> float | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def latencies(team: Team, samples: list[tuple[float, int]]) -> list[tuple[float, float]]:
    """(the k-th label's time, seconds until a model with >= k labels), from the first model."""
    first = next((count for _, count in samples if count > 0), None)
    if first is None:
        return []
    found = []
    for k, at in enumerate(team.times, start=1):
        if k < first:
            continue
        seen = next((t for t, count in samples if count >= k and t >= at), None)
        if seen is not None:
            found.append((at, seen - at))
    return found


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values):4d}  p50 {np.percentile(values, 50):5.2f} s  "
        f"p99 {np.percentile(values, 99):5.2f} s  max {max(values):5.2f} s"
    )


def test_accuracy(base: str, auth: dict[str, str], pid: int, ds: Dataset) -> float:
    labels = httpx.get(f"{base}/projects/{pid}", headers=auth).json()["labels"]
    texts = [ds.inputs[row] for row in ds.test]
    predicted = []
    for start in range(0, len(texts), 100):
        scored = httpx.post(
            f"{base}/projects/{pid}/score",
            headers=auth,
            timeout=120,
            json={"type": "text", "texts": texts[start : start + 100]},
        )
        assert scored.status_code == 200, scored.text
        predicted += [labels[int(np.argmax(row))] for row in scored.json()["scores"]]
    truth = [ds.label_names[int(ds.Y[row])] for row in ds.test]
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))


def upload(base: str, auth: dict[str, str], ds: Dataset) -> int:
    """The project, its pool ingested (texts the pool repeats are ingested once)."""
    pid = httpx.post(
        f"{base}/projects",
        headers=auth,
        json={"name": ds.name, "task": "text_classification", "labels": ds.label_names},
    ).json()["id"]
    lines = ["id,text"] + [
        f'p{row},"{ds.inputs[row].replace(chr(34), chr(39))}"' for row in ds.pool
    ]
    ingest_csv(base, auth, pid, lines, "pool.csv")
    return pid


def wait_embedded(base: str, auth: dict[str, str], pid: int) -> tuple[int, float]:
    """The pool's size once every item is embedded, and the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < 1800:
        status = httpx.get(f"{base}/projects/{pid}/status", headers=auth).json()
        if status["items_total"] and status["items_ready"] >= status["items_total"]:
            return status["items_total"], time.monotonic() - started
        time.sleep(1)
    raise SystemExit("the pool was not embedded within 30 minutes")


def item_truth(base: str, auth: dict[str, str], pid: int, ds: Dataset) -> dict[int, str]:
    truth, after = {}, None
    while True:
        page = httpx.get(
            f"{base}/projects/{pid}/items",
            headers=auth,
            params={"limit": 500, **({"after": after} if after else {})},
        ).json()["data"]
        if not page:
            return truth
        for item in page:
            truth[item["id"]] = ds.label_names[int(ds.Y[int(item["name"][1:])])]
        after = page[-1]["id"]


def run(ds: Dataset, auto: bool, labels: int, annotators: int, seed: int, worker_log: Path) -> None:
    own = "yes" if auto else "no"
    print(f"  {ds.name}, seed {seed}: worker fine-tunes on its own: {own}", flush=True)
    with tempfile.TemporaryDirectory(prefix="filament-autoft-") as tmp:
        os.environ["FILAMENT_CPU_AUTO_FINETUNE_ITEMS"] = str(len(ds.pool) if auto else 0)
        with worker_log.open("w") as log, local_stack(Path(tmp), None, log) as base:
            owner = login(base)
            pid = upload(base, owner, ds)
            size, seconds = wait_embedded(base, owner, pid)
            print(f"    pool of {size:,} texts embedded in {seconds:.0f} s", flush=True)
            truth = item_truth(base, owner, pid, ds)
            team = Team(labels)
            poller = StatusPoller(base, owner, pid)
            poller.start()
            people = [
                Annotator(base, join(base, owner, pid), pid, truth, team, 100 * seed + person)
                for person in range(annotators)
            ]
            started = time.time()
            for person in people:
                person.start()
            while not team.done():
                time.sleep(0.5)
            labeled_in = time.time() - started
            jobs = wait_for(base, owner, pid, 900)
            time.sleep(2 * POLL_SECONDS)
            poller.stop.set()
            poller.join()
            finetunes = [job for job in jobs if job["type"] == "finetune"]
            spans = [
                (stamp(job["started_at"]), stamp(job["finished_at"]) or time.time())
                for job in finetunes
                if job["started_at"]
            ]
            during, outside = [], []
            for at, took in latencies(team, poller.samples):
                busy = any(start <= at <= end for start, end in spans)  # type: ignore[operator]
                (during if busy else outside).append(took)
            print(f"    {len(team.times)} labels in {labeled_in:.0f} s by {annotators}", flush=True)
            print(f"    label -> model, while a fine-tune ran: {summary(during)}")
            print(f"    label -> model, otherwise:             {summary(outside)}")
            for job in sorted(finetunes, key=lambda job: job["id"]):
                took = (stamp(job["finished_at"]) or 0) - (stamp(job["started_at"]) or 0)
                result = job["result"]
                print(
                    f"    fine-tune job {job['id']}: {job['status']}, {took:.0f} s, "
                    f"activated {result.get('activated')}, held-out "
                    f"{result.get('metric')} vs {result.get('reference_metric')}: "
                    f"{job['message'][:160]}"
                )
            models = httpx.get(f"{base}/projects/{pid}/models", headers=owner).json()["data"]
            active = next(m for m in models if m["active"])
            accuracy = test_accuracy(base, owner, pid, ds)
            print(
                f"    served: v{active['version']} ({active['kind']}, {active['label_count']} "
                f"labels): test accuracy {accuracy:.4f} on {len(ds.test):,}",
                flush=True,
            )


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `finally` stops the stack
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="uci,agnews")
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--annotators", type=int, default=2)
    parser.add_argument("--auto", default="yes,no", help="runs with and without, in this order")
    parser.add_argument("--seeds", default="0", help="the annotators' pacing and order")
    parser.add_argument("--worker-log", default="/tmp/bench_auto_finetune_worker.log")
    args = parser.parse_args()
    for name in args.datasets.split(","):
        ds = LOADERS[name]()
        for auto in args.auto.split(","):
            for seed in map(int, args.seeds.split(",")):
                run(ds, auto == "yes", args.labels, args.annotators, seed, Path(args.worker_log))


if __name__ == "__main__":
    main()
