"""Model archives are built by a worker, once per version: parallel download requests answer
202 with the same job, a failed build answers 409 with its reason."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.test_finetune import labeled_project


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_parallel_downloads_start_one_build_and_a_failure_is_a_409(client, owner, run_jobs):
    import redis
    from filament import jobs
    from filament.core.settings import get_settings
    from filament.db.models import Job
    from filament.db.session import session_scope
    from filament.models.versions import get_version
    from filament.storage import get_storage
    from sqlmodel import select

    pid, _ = labeled_project(client, owner, run_jobs, n=12, labeled=8)
    version = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["model_version"]
    url = f"/api/v1/projects/{pid}/models/{version}/download"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get(url, headers=owner), range(8)))
    assert [a.status_code for a in answers] == [202] * 8
    job_ids = {a.json()["job"]["id"] for a in answers}
    assert len(job_ids) == 1
    with session_scope() as session:
        builds = session.exec(select(Job).where(Job.type == jobs.BUILD_ARCHIVE)).all()
    assert [b.id for b in builds] == list(job_ids)
    queued = redis.Redis.from_url(get_settings().redis_url).zrange(jobs.CPU_QUEUE, 0, -1)
    assert queued == [f"{jobs.BUILD_ARCHIVE}:{pid}:{version}".encode()]
    # the job is followed like any other; a link cannot be had before the archive exists
    job = client.get(f"/api/v1/jobs/{job_ids.pop()}", headers=owner).json()
    assert job["type"] == jobs.BUILD_ARCHIVE and job["status"] == "queued"
    assert client.post(url + "-link", headers=owner).status_code == 202
    # the version's head is gone: the build fails, and says so instead of a 500
    with session_scope() as session:
        get_storage().delete(f"{get_version(session, pid, version).storage_key}/head.npz")
    from filament.cache import clear_all

    clear_all()  # the head loaded before it was deleted
    run_jobs()
    failed = client.get(url, headers=owner)
    assert failed.status_code == 409
    assert failed.json()["detail"] == (
        "Building the archive failed: building the archive failed on the worker"
    )
    claim = redis.Redis.from_url(get_settings().redis_url).ttl(f"filament:archive:{pid}:{version}")
    assert 0 < claim <= 600  # then a request builds it again
