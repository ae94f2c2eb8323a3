"""A worker killed with SIGKILL in the middle of a head training and of a fine-tune, through
real worker processes, the real database and Redis: another worker finishes the work, and
nothing is lost or done twice (labels, versions, the active model, embeddings).

"In the middle" is made exact without hooks in the code under test: the test freezes the
worker (SIGSTOP) the moment the run shows itself (the run's Redis mark for a head training,
the job row's progress for a fine-tune), checks that the run has not finished yet, then kills
it. A run that finished before it could be frozen is tried again with new labels."""

import os
import signal
import subprocess
import time

import pytest
import redis

from tests.api.test_loop import label_of, synthetic_rows, text_project
from tests.api.test_worker_faults import _wait, _worker

LEASE = 4  # seconds: a killed worker's job and lock are free again this long after it died


def _label(client, owner, pid: int, items: list[dict]) -> None:  # type: ignore[no-untyped-def]
    for item in items:
        answer = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
        assert answer.status_code in (200, 201), answer.text


def _versions(client, owner, pid: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/projects/{pid}/models?limit=100", headers=owner).json()["data"]


def _freeze_when(worker: subprocess.Popen[bytes], condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    """SIGSTOP the worker as soon as `condition()` holds; False if the worker went idle first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            worker.send_signal(signal.SIGSTOP)
            return True
        time.sleep(0.005)
    return False


def _kill(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


# the kill is a worker, Redis and arq matter; one database each keeps CI shorter: PostgreSQL
# (production's) here, SQLite for the fine-tune
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_killed_mid_head_training_leaves_one_new_model(  # type: ignore[no-untyped-def]
    client, owner, run_jobs, redis_url, monkeypatch
):
    from filament import jobs

    monkeypatch.setenv("FILAMENT_JOB_LEASE_SECONDS", str(LEASE))  # for the worker processes
    monkeypatch.setenv("FILAMENT_HEAD_REST_SHARE", "0")
    pid = text_project(client, owner, synthetic_rows(400))
    run_jobs()  # embedded, in this process
    items = client.get(f"/api/v1/projects/{pid}/items?limit=400", headers=owner).json()["data"]
    _label(client, owner, pid, items[:20])
    run_jobs()  # the first model
    before = _versions(client, owner, pid)
    assert len(before) == 1
    marks = redis.Redis.from_url(redis_url)
    running = jobs.running_key(jobs.TRAIN_HEAD, pid)
    env = dict(os.environ)
    labeled = 20
    caught = False
    for _ in range(5):  # a run that finishes before it is frozen is tried again
        count = len(_versions(client, owner, pid))
        _label(client, owner, pid, items[labeled : labeled + 20])  # asks for a head run
        labeled += 20
        worker = _worker(env)
        try:
            caught = _freeze_when(worker, lambda: marks.exists(running), 300)
            assert caught, "the worker never started the head run"
            if len(_versions(client, owner, pid)) > count:
                worker.send_signal(signal.SIGCONT)  # it had already recorded its version
                caught = False
                _wait(lambda: not marks.exists(running), 60, "the head run did not end")
                continue
            _kill(worker)
            break
        finally:
            _stop(worker)
    assert caught, "no head run could be caught in the middle in 5 tries"
    stranded = len(_versions(client, owner, pid))
    # the API answers while no worker runs
    assert client.get(f"/api/v1/projects/{pid}/status", headers=owner).status_code == 200
    second = _worker(env)
    try:
        _wait(
            lambda: len(_versions(client, owner, pid)) == stranded + 1,
            300,  # a worker process starts in seconds on a quiet machine, a minute on a busy one
            "the killed head run was never done again",
        )
        _wait(lambda: not marks.exists(running), 60, "the re-run did not end")
        time.sleep(1)  # nothing else comes: the re-run was one run
    finally:
        _stop(second)
    versions = _versions(client, owner, pid)
    assert len(versions) == stranded + 1
    assert len({v["version"] for v in versions}) == len(versions)  # no version twice
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["model_version"] == max(v["version"] for v in versions)
    assert status["labeled"] == labeled  # every label kept, none twice
    newest = max(versions, key=lambda v: v["version"])
    assert newest["label_count"] == labeled  # the re-run covers the labels of the killed one


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_killed_mid_finetune_finishes_it_on_another(  # type: ignore[no-untyped-def]
    client, owner, run_jobs, monkeypatch
):
    from filament.db.models import Item, Job, JobStatus
    from filament.db.session import session_scope
    from filament.models.artifacts import load_embeddings
    from filament.storage import get_storage
    from sqlmodel import func, select

    monkeypatch.setenv("FILAMENT_JOB_LEASE_SECONDS", str(LEASE))
    monkeypatch.setenv("FILAMENT_FINETUNE_MIN_GAIN", "-1")  # the gate opens: the pool moves
    monkeypatch.setenv("FILAMENT_CPU_FINETUNE_EPOCHS", "3")  # long enough to be caught
    monkeypatch.setenv("FILAMENT_CPU_FINETUNE_MAX_ITEMS", "32")
    pid = text_project(client, owner, synthetic_rows(60))
    run_jobs()
    items = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()["data"]
    _label(client, owner, pid, items[:40])
    run_jobs()
    job_id = client.post(f"/api/v1/projects/{pid}/finetune", headers=owner).json()["id"]

    def row() -> Job:
        with session_scope() as session:
            found = session.get(Job, job_id)
            assert found is not None
            return found

    env = dict(os.environ)
    worker = _worker(env)
    try:
        caught = _freeze_when(
            worker, lambda: row().status == JobStatus.running and row().progress > 0, 240
        )
        assert caught, "the fine-tune never started"
        assert row().status == JobStatus.running, "the fine-tune ended before it was frozen"
        _kill(worker)
    finally:
        _stop(worker)
    assert client.get(f"/api/v1/jobs/{job_id}", headers=owner).json()["status"] == "running"
    second = _worker(env)
    try:
        _wait(lambda: row().status in (JobStatus.done, JobStatus.failed), 300, "never finished")
        _wait(
            lambda: (
                client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["items_ready"]
                == 60
            ),
            240,
            "the pool was not re-embedded by the fine-tuned encoder",
        )
    finally:
        _stop(second)
    finished = row()
    assert finished.status == JobStatus.done, finished.message
    assert finished.params.get("attempts") == 2  # the killed try, then the one that finished
    versions = _versions(client, owner, pid)
    tuned = [v for v in versions if v["kind"] == "finetuned"]
    assert len(tuned) == 1  # recorded once
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["labeled"] == 40
    with session_scope() as session:
        count = session.exec(select(func.count()).where(Item.project_id == pid)).one()
    # the pool's embeddings by the fine-tuned encoder: every item once
    embeddings = load_embeddings(get_storage(), pid, tuned[0]["version"])
    assert count == 60 == len(set(embeddings.item_ids.tolist())) == len(embeddings.item_ids)
