"""Progress that moves: what a job row (and so the API) shows while an upload is ingested
and embedded, the rate and ETA measured from it, and the small things a new user meets on
the way (a header-only CSV, error texts, the SPA answering HEAD)."""

import io
import zipfile
from datetime import timedelta

import pytest

from tests.api.test_loop import synthetic_rows, text_project


@pytest.fixture
def writes(monkeypatch):  # type: ignore[no-untyped-def]
    """Every progress write that reaches a job row, unthrottled: (job id, progress, result)."""
    from filament_worker import common

    seen: list[tuple[int, float, dict]] = []
    original = common.update_job

    def recording(job_id, **fields):  # type: ignore[no-untyped-def]
        if "progress" in fields and "status" not in fields:
            seen.append((job_id, fields["progress"], fields.get("result") or {}))
        original(job_id, **fields)

    monkeypatch.setattr(common, "update_job", recording)
    monkeypatch.setattr(common, "PROGRESS_SECONDS", 0.0)
    return seen


def _embed_rows(pid: int):  # type: ignore[no-untyped-def]
    from filament.db.models import Job
    from filament.db.session import session_scope
    from sqlmodel import select

    with session_scope() as session:
        return session.exec(select(Job).where(Job.project_id == pid, Job.type == "embed")).all()


def test_an_embed_run_of_a_few_hundred_items_reports_progress_per_batch(
    client, owner, run_jobs, writes
):  # type: ignore[no-untyped-def]
    # 300 texts are one chunk of the worker's (512): its bar sat at 0 % until the end
    pid = text_project(client, owner, synthetic_rows(300))
    run_jobs()
    (row,) = _embed_rows(pid)
    steps = [(share, result) for job_id, share, result in writes if job_id == row.id]
    middle = [share for share, _ in steps if 0 < share < 1]
    assert len(middle) >= 3, steps  # batches of 64 texts: 64, 128, 192, 256 of 300
    assert middle == sorted(middle)
    assert any(result.get("unit") == "items" and result["total"] == 300 for _, result in steps)
    assert row.status == "done" and row.result == {"embedded": 300}


def test_a_sharded_embed_run_counts_the_shards_chunks_under_way(
    client, owner, run_jobs, writes, monkeypatch
):  # type: ignore[no-untyped-def]
    from filament.core.settings import get_settings
    from filament_worker import embed

    monkeypatch.setenv("FILAMENT_EMBED_SHARD_ITEMS", "150")
    get_settings.cache_clear()
    monkeypatch.setattr(embed, "SHARD_POLL_SECONDS", 0.02)
    seen_in_flight: list[int] = []
    counted = embed.in_flight_count

    def watching(project_id: int) -> int:
        seen_in_flight.append(counted(project_id))
        return seen_in_flight[-1]

    monkeypatch.setattr(embed, "in_flight_count", watching)
    pid = text_project(client, owner, synthetic_rows(300))
    run_jobs()
    (row,) = _embed_rows(pid)
    assert row.status == "done" and row.result == {"embedded": 300, "shards": 2}
    # each shard is one chunk: items turn ready 150 at a time, yet the bar moved in between
    assert any(0 < count < 150 for count in seen_in_flight), seen_in_flight
    middle = [share for job_id, share, _ in writes if job_id == row.id and 0 < share < 1]
    assert middle == sorted(middle)
    get_settings.cache_clear()


def test_ingest_reports_progress_within_one_file(client, owner, run_jobs, writes):  # type: ignore[no-untyped-def]
    pid = text_project(client, owner, synthetic_rows(2000))
    jobs = client.get(f"/api/v1/projects/{pid}/jobs", headers=owner).json()["data"]
    (ingest,) = [job for job in jobs if job["type"] == "ingest"]
    run_jobs()
    middle = [share for job_id, share, _ in writes if job_id == ingest["id"] and 0 < share < 1]
    assert len(middle) >= 3 and middle == sorted(middle), middle


def test_a_running_job_tells_its_rate_and_eta(client, owner):  # type: ignore[no-untyped-def]
    from filament.db.models import Job, utcnow
    from filament.db.session import session_scope
    from filament.jobs.rows import create_job, update_job

    pid = text_project(client, owner, synthetic_rows(4))
    job_id = create_job(pid, "embed", "embedding 200 items")
    fresh = client.get(f"/api/v1/jobs/{job_id}", headers=owner).json()
    assert fresh["rate_per_second"] is None and fresh["eta_seconds"] is None  # no rate yet
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.started_at = utcnow() - timedelta(seconds=10)
        session.add(job)
        session.commit()
    update_job(job_id, progress=0.25, result={"done": 50, "total": 200, "unit": "items"})
    running = client.get(f"/api/v1/jobs/{job_id}", headers=owner).json()
    assert running["rate_per_second"] == pytest.approx(5.0, rel=0.2)
    assert running["eta_seconds"] == pytest.approx(30.0, rel=0.2)
    listed = client.get(f"/api/v1/projects/{pid}/jobs", headers=owner).json()["data"]
    assert any(job["id"] == job_id and job["eta_seconds"] for job in listed)
    # a job that counts no items: an ETA from its share, no rate in items
    update_job(job_id, progress=0.5, result={})
    halfway = client.get(f"/api/v1/jobs/{job_id}", headers=owner).json()
    assert halfway["rate_per_second"] is None
    assert halfway["eta_seconds"] == pytest.approx(10.0, rel=0.3)
    update_job(job_id, status="done", progress=1.0)
    ended = client.get(f"/api/v1/jobs/{job_id}", headers=owner).json()
    assert ended["rate_per_second"] is None and ended["eta_seconds"] is None


def test_training_progress_carries_an_eta(client, owner):  # type: ignore[no-untyped-def]
    from filament.db.models import Job, utcnow
    from filament.db.session import session_scope
    from filament.jobs.rows import create_job

    pid = text_project(client, owner, synthetic_rows(4))
    job_id = create_job(pid, "finetune", "fine-tuning")
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.started_at, job.progress = utcnow() - timedelta(seconds=20), 0.4
        session.add(job)
        session.commit()
    training = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert training["training_progress"]["eta_seconds"] == pytest.approx(30.0, rel=0.2)


def test_a_header_only_csv_is_accepted_with_a_warning(client, owner, run_jobs):  # type: ignore[no-untyped-def]
    made = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "T", "task": "text_classification", "labels": ["a", "b"]},
    )
    pid = made.json()["id"]
    files = [("files", ("empty.csv", io.BytesIO(b"id,text\n\n")))]
    accepted = client.post(f"/api/v1/projects/{pid}/items", headers=owner, files=files)
    assert accepted.status_code == 202
    assert accepted.json()["warnings"] == ["empty.csv: no rows below the CSV header"]
    run_jobs()
    job = client.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=owner).json()
    assert job["status"] == "done" and job["result"]["created"] == 0
    (warning,) = job["result"]["warnings"]
    assert warning == "empty.csv: no rows below its header, so nothing was added"
    assert "nothing was added" in job["message"]
    # a CSV with rows has no warning
    rows = [("files", ("rows.csv", io.BytesIO(b"text\nhello\n")))]
    fine = client.post(f"/api/v1/projects/{pid}/items", headers=owner, files=rows).json()
    assert fine["warnings"] == []


def test_an_item_error_does_not_repeat_its_name(client, owner, run_jobs):  # type: ignore[no-untyped-def]
    from tests.api.test_uploads import png, project, upload

    pid = project(client, owner)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bad/corrupt.jpg", png((1, 2, 3))[:40])
        archive.writestr("good.png", png((4, 5, 6)))
    accepted = upload(client, owner, pid, ("a.zip", buffer.getvalue()))
    run_jobs()
    job = client.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=owner).json()
    (error,) = job["errors"]
    assert error["name"] == "bad/corrupt.jpg"
    assert "bad/corrupt.jpg" not in error["error"] and "image" in error["error"]


def test_the_spa_answers_head(client, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from filament.core.settings import get_settings

    spa = tmp_path / "spa"
    (spa / "label").mkdir(parents=True)
    (spa / "index.html").write_text("<html>home</html>")
    (spa / "label.html").write_text("<html>label</html>")
    monkeypatch.setenv("FILAMENT_SPA_DIR", str(spa))
    get_settings.cache_clear()
    for path in ("/", "/label", "/label.html", "/projects/unknown"):
        answer = client.head(path)
        assert answer.status_code == 200, (path, answer.status_code)
        assert answer.content == b""
    assert client.get("/label").text == "<html>label</html>"
    get_settings.cache_clear()
