"""Check-then-act races made atomic: parallel /finetune requests start one job, and parallel
member changes never leave a project without an owner."""

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from tests.api.test_uploads import project
from tests.conftest import add_member, register


def _at_once(calls: list) -> list:  # type: ignore[type-arg]
    """Run the calls in threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):  # type: ignore[no-untyped-def]
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_parallel_finetune_requests_start_one_job(client, owner):
    from filament import jobs
    from filament.db.models import Job
    from filament.db.session import session_scope
    from sqlmodel import select

    pid = project(client, owner, task="text_classification", labels=("neg", "pos"))
    url = f"/api/v1/projects/{pid}/finetune"
    answers = _at_once([lambda: client.post(url, headers=owner)] * 8)
    assert sorted(a.status_code for a in answers) == [202] + [409] * 7
    with session_scope() as session:
        started = session.exec(select(Job).where(Job.type == jobs.FINETUNE)).all()
    assert len(started) == 1


def test_parallel_demotions_keep_an_owner(client, owner):
    """Two owners demote each other at the same moment, many times: one always stays."""
    from filament.db.models import ProjectMember
    from filament.db.session import session_scope
    from sqlmodel import select

    other = register(client, "b@example.com")
    me = client.get("/api/v1/users/me", headers=owner).json()["id"]
    them = client.get("/api/v1/users/me", headers=other).json()["id"]
    for _ in range(6):
        pid = project(client, owner)
        add_member(client, owner, pid, "b@example.com", "owner")
        members = f"/api/v1/projects/{pid}/members"
        patch, delete = client.patch, client.delete
        answers = _at_once(
            [
                partial(patch, f"{members}/{them}", headers=owner, json={"role": "viewer"}),
                partial(patch, f"{members}/{me}", headers=other, json={"role": "viewer"}),
                partial(delete, f"{members}/{them}", headers=owner),
                partial(delete, f"{members}/{me}", headers=other),
            ]
        )
        codes = [a.status_code for a in answers]
        with session_scope() as session:
            roles = session.exec(
                select(ProjectMember.role).where(ProjectMember.project_id == pid)
            ).all()
        assert roles.count("owner") == 1, (codes, roles)
