"""Many annotators at once, through the real stack: two API processes (uvicorn), a real arq
worker training heads meanwhile, the real database and Redis. Whatever the interleaving of
queue requests, annotations, undos and the first model's arrival, no item gets more than
`annotations_per_item` annotators, and nobody is served an item they have labeled."""

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
import pytest
from filament.labeling.overlap import item_draws
from sqlalchemy import create_engine, text

from tests.api.test_loop import text_project
from tests.conftest import add_member

ROOT = Path(__file__).resolve().parents[2]
ANNOTATORS = 8
SECONDS = 10.0
LABELS = ("World", "Sports", "Business", "Tech")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_stack(port: int) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)  # the test's database, Redis and data dir (FILAMENT_*)
    api = [sys.executable, "-m", "uvicorn", "filament.api.app:create_app", "--factory"]
    api += ["--port", str(port), "--workers", "2", "--log-level", "warning"]
    return [
        subprocess.Popen(api, env=env, cwd=ROOT),
        subprocess.Popen([sys.executable, "-m", "filament.cli", "worker"], env=env, cwd=ROOT),
    ]


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 180  # two API processes importing torch on a busy machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"the API did not come up on {url}")


class Annotator(threading.Thread):
    """Labels like a fast human with a prefetching client: asks for 1-3 items, labels most,
    skips a few (some kept leased and excluded, some released through the skip route), undoes
    one now and then."""

    def __init__(self, url: str, headers: dict[str, str], pid: int, seed: int) -> None:
        super().__init__()
        self.url, self.headers, self.pid = url, headers, pid
        self.rng = random.Random(seed)
        self.served: list[int] = []
        self.labeled: set[int] = set()
        self.undone: set[int] = set()
        self.released: set[int] = set()  # skipped through the API: others may take them now
        self.served_after_labeling: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        skipped: list[int] = []
        deadline = time.monotonic() + SECONDS
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as http:
            while time.monotonic() < deadline:
                params = {"limit": self.rng.randint(1, 3)}
                if skipped:
                    params["exclude"] = ",".join(map(str, skipped))
                page = http.get(f"/api/v1/projects/{self.pid}/queue", params=params)
                if page.status_code != 200:
                    self.errors.append(f"queue {page.status_code} {page.text[:200]}")
                    continue
                items = [entry["id"] for entry in page.json()["data"]]
                if not items:
                    time.sleep(0.05)
                for item in items:
                    self.served.append(item)
                    if item in self.labeled:
                        self.served_after_labeling.append(item)
                    if self.rng.random() < 0.04:  # skip on the client: keep it, exclude it
                        skipped.append(item)
                        continue
                    if self.rng.random() < 0.04:  # skip on the server: the hold ends now
                        self._skip(http, item)
                        continue
                    self._label(http, item)

    def _skip(self, http: httpx.Client, item: int) -> None:
        answer = http.post(f"/api/v1/projects/{self.pid}/queue/{item}/skip")
        if answer.status_code != 204:
            self.errors.append(f"skip {answer.status_code} {answer.text[:200]}")
        self.released.add(item)

    def _label(self, http: httpx.Client, item: int) -> None:
        path = f"/api/v1/projects/{self.pid}/items/{item}/annotations"
        answer = http.post(path, json={"labels": [self.rng.choice(LABELS)]})
        if answer.status_code != 201:
            self.errors.append(f"annotate {answer.status_code} {answer.text[:200]}")
            return
        self.labeled.add(item)
        if self.rng.random() < 0.05:
            undo = http.delete(path)
            if undo.status_code != 204:
                self.errors.append(f"undo {undo.status_code} {undo.text[:200]}")
                return
            self.labeled.discard(item)
            self.undone.add(item)


@pytest.mark.parametrize(("per_item", "overlap_share"), [(1, 0.0), (2, 0.0), (1, 0.3)])
def test_a_team_never_gets_an_item_too_often(
    client, owner, run_jobs, per_item, overlap_share
) -> None:
    rows = [(f"n{i}", f"story {i} on {LABELS[i % 4]}, number {i * 7}") for i in range(2000)]
    pid = text_project(
        client,
        owner,
        rows,
        labels=LABELS,
        annotations_per_item=per_item,
        overlap_share=overlap_share,
    )
    run_jobs()  # ingest + embed
    team = []
    for n in range(ANNOTATORS):
        email = f"a{n}@example.com"
        team.append(add_member(client, owner, pid, email, "annotator"))

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    stack = _start_stack(port)
    try:
        _wait_until_up(url)
        annotators = [Annotator(url, headers, pid, seed) for seed, headers in enumerate(team)]
        for annotator in annotators:
            annotator.start()
        for annotator in annotators:
            annotator.join()
    finally:
        for process in stack:
            process.terminate()
        for process in stack:
            process.wait(timeout=30)

    assert [error for a in annotators for error in a.errors] == []
    # what each client was served: an item whose annotation nobody undid, and which nobody
    # skipped on the server (that hands it on), went to at most k
    servers: dict[int, set[int]] = defaultdict(set)
    undone = set().union(*(a.undone for a in annotators), *(a.released for a in annotators))
    for number, annotator in enumerate(annotators):
        for item in annotator.served:
            servers[item].add(number)

    def wanted(item: int) -> int:  # the overlap sample: a draw below the share wants two
        sampled = item_draws(pid, np.array([item]))[0] < overlap_share
        return max(per_item, 2) if sampled else per_item

    too_often = {item: len(who) for item, who in servers.items() if len(who) > wanted(item)}
    assert {item: n for item, n in too_often.items() if item not in undone} == {}
    assert [a.served_after_labeling for a in annotators] == [[]] * ANNOTATORS
    # and the database agrees
    engine = create_engine(os.environ["FILAMENT_DATABASE_URL"])
    with engine.connect() as connection:
        annotators_per_item = dict(
            connection.execute(
                text(
                    "SELECT item_id, COUNT(DISTINCT user_id) FROM annotation "
                    "WHERE project_id = :pid GROUP BY item_id"
                ),
                {"pid": pid},
            ).all()
        )
    engine.dispose()
    labeled = sum(annotators_per_item.values())
    assert labeled > 8 * ANNOTATORS  # the team did label, and fast
    assert {i: n for i, n in annotators_per_item.items() if n > wanted(i)} == {}
    if overlap_share:  # the sample did get its second annotators, waiting items first
        assert sum(n == 2 for n in annotators_per_item.values()) > ANNOTATORS
