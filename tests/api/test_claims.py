"""The claim protocol (`filament.labeling.leases`) under forced interleavings, on the real
database and Redis: each test stops one party between two of its steps and lets another act."""

import time

import numpy as np
import pytest
from sqlmodel import Session, select

from tests.api.test_loop import synthetic_rows, text_project
from tests.conftest import add_member


@pytest.fixture
def setup(client, owner, run_jobs):  # type: ignore[no-untyped-def]
    """A 6-item project with k = 1 and three members; yields a function making one with k."""
    sessions: list[Session] = []

    def make(k: int = 1, overlap_share: float = 0.0):  # type: ignore[no-untyped-def]
        from filament.db.models import Item, Project, User
        from filament.db.session import get_engine

        pid = text_project(
            client, owner, synthetic_rows(6), annotations_per_item=k, overlap_share=overlap_share
        )
        run_jobs()
        for email in ("b@example.com", "c@example.com"):
            add_member(client, owner, pid, email)
        session = Session(get_engine(), expire_on_commit=False)
        sessions.append(session)
        project = session.get(Project, pid)
        users = [u.id for u in session.exec(select(User).order_by(User.id))]
        items = list(session.exec(select(Item).where(Item.project_id == pid).order_by(Item.id)))
        return session, client.app.state.redis, project, users, items

    yield make
    for session in sessions:  # an open transaction would block the next test's TRUNCATE
        session.close()


def _annotate(session, redis, project, user, item):  # type: ignore[no-untyped-def]
    from filament.db.models import AnnotationSource
    from filament.labeling import annotations

    return annotations.record(
        session, redis, project, user, [(item, ["positive"], AnnotationSource.human)]
    )


def test_an_annotation_committed_between_a_read_and_a_claim_is_seen(setup, monkeypatch):
    """B reads the item's annotators (none), A labels it, then B's claim runs: refused."""
    from filament.db.session import get_engine
    from filament.labeling import leases

    session, redis, project, (a, b, _), items = setup()
    x = items[0]
    read = leases.annotators_of

    def read_then_a_labels(session_b, ids):  # type: ignore[no-untyped-def]
        found = read(session_b, ids)
        monkeypatch.setattr(leases, "annotators_of", read)  # A's own read is a plain one
        with Session(get_engine(), expire_on_commit=False) as other:
            _annotate(other, redis, project, a, other.merge(x))
        return found

    monkeypatch.setattr(leases, "annotators_of", read_then_a_labels)
    assert leases.claim(redis, session, project, b, [x.id], 1) == []


def test_a_claim_between_the_mark_and_the_commit_is_refused(setup, monkeypatch):
    """A has set its done mark but not committed yet; B (whose read sees no row) is refused."""
    from filament.db.session import get_engine
    from filament.labeling import annotations, leases

    session, redis, project, (a, b, _), items = setup()
    x = items[0]
    claimed: list[list[int]] = []
    save = annotations._save

    def save_then_b_claims(*args):  # type: ignore[no-untyped-def]
        with Session(get_engine(), expire_on_commit=False) as other:
            claimed.append(leases.claim(redis, other, project, b, [x.id], 1))
        return save(*args)

    monkeypatch.setattr(annotations, "_save", save_then_b_claims)
    _annotate(session, redis, project, a, x)
    assert claimed == [[]]


def test_a_freed_lower_slot_does_not_admit_a_third_annotator(setup):
    """k = 2: A and B hold the item, A labels it; C must not get it (A done + B holding)."""
    from filament.labeling import leases

    session, redis, project, (a, b, c), items = setup(k=2)
    x = items[0]
    assert leases.claim(redis, session, project, a, [x.id], 1) == [x.id]
    assert leases.claim(redis, session, project, b, [x.id], 1) == [x.id]
    _annotate(session, redis, project, a, x)
    assert leases.claim(redis, session, project, c, [x.id], 1) == []
    assert leases.claim(redis, session, project, a, [x.id], 1) == []  # never twice to A
    assert leases.claim(redis, session, project, b, [x.id], 1) == [x.id]  # B's hold renews


def test_overlap_items_take_a_second_annotator_and_no_third(setup):
    """k = 1 with an overlap share of 1: every item wants two annotators."""
    from filament.labeling import leases

    session, redis, project, (a, b, c), items = setup(k=1, overlap_share=1.0)
    x = items[0]
    assert leases.claim(redis, session, project, a, [x.id], 1) == [x.id]
    assert leases.claim(redis, session, project, b, [x.id], 1) == [x.id]
    assert leases.claim(redis, session, project, c, [x.id], 1) == []
    (_, beyond) = _annotate(session, redis, project, a, x)
    assert beyond == set()  # A is one of the two the item wants


def test_outside_the_overlap_an_item_takes_one_annotator(setup):
    from filament.labeling import leases, overlap

    session, redis, project, (a, b, _), items = setup(k=1, overlap_share=0.5)
    ids = np.array([item.id for item in items])
    sampled = overlap.in_overlap(project, ids)
    for item_id, second in zip(ids.tolist(), sampled.tolist(), strict=True):
        assert leases.claim(redis, session, project, a, [item_id], 1) == [item_id]
        assert leases.claim(redis, session, project, b, [item_id], 1) == ([item_id] * second)


def test_an_item_listed_twice_is_held_once(setup):
    """A partly labeled item that someone else also holds comes up twice among the waiting
    items: it must be served once."""
    from filament.labeling import leases

    session, redis, project, (_, b, _), items = setup(k=2)
    x, y = items[0], items[1]
    assert leases.claim(redis, session, project, b, [x.id, x.id, y.id], 3) == [x.id, y.id]


def test_a_late_annotation_saves_and_says_it_went_beyond_k(setup):
    from filament.labeling import leases

    session, redis, project, (a, b, _), items = setup()
    x = items[0]
    assert leases.claim(redis, session, project, a, [x.id], 1) == [x.id]
    redis.hset(leases.item_key(project.id, x.id), str(a), f"h{time.time() - 1:.3f}")  # expired
    assert leases.claim(redis, session, project, b, [x.id], 1) == [x.id]
    (saved,), beyond = _annotate(session, redis, project, a, x)
    assert saved.id is not None and beyond == {x.id}
    (_, beyond_b) = _annotate(session, redis, project, b, x)
    assert beyond_b == {x.id}  # B's is the second of k = 1 too; both are kept and said


def test_a_stale_database_read_is_refused(setup, monkeypatch):
    """A read made before the done marks' lifetime could miss an annotation whose marks are
    gone: the script refuses the claim rather than trust it."""
    from filament.labeling import leases

    session, redis, project, (a, _, _), items = setup()
    now = redis.time()
    old = (now[0] - leases.DONE_MARK_SECONDS - 5, now[1])
    monkeypatch.setattr(redis, "time", lambda: old)
    assert leases.claim(redis, session, project, a, [items[0].id], 1) == []


def test_undo_frees_only_the_callers_slot(setup):
    from filament.labeling import annotations, leases

    session, redis, project, (a, b, c), items = setup(k=2)
    x = items[0]
    _annotate(session, redis, project, a, x)
    _annotate(session, redis, project, b, x)
    assert leases.claim(redis, session, project, c, [x.id], 1) == []
    assert annotations.undo(session, redis, project, a, x)
    assert leases.claim(redis, session, project, b, [x.id], 1) == []  # B still labeled it
    assert leases.claim(redis, session, project, c, [x.id], 1) == [x.id]


def test_items_waiting_for_another_annotator_come_first(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(40), annotations_per_item=2)
    run_jobs()
    other = add_member(client, owner, pid, "b@example.com")
    first = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=owner).json()["data"]
    labeled = first[0]["id"]
    client.post(
        f"/api/v1/projects/{pid}/items/{labeled}/annotations",
        headers=owner,
        json={"labels": ["positive"]},
    )
    theirs = client.get(f"/api/v1/projects/{pid}/queue?limit=3", headers=other).json()["data"]
    # the labeled item first (it waits for a second annotator), then the owner's held ones
    assert theirs[0]["id"] == labeled
    assert {i["id"] for i in theirs[1:]} == {first[1]["id"], first[2]["id"]}


def test_an_empty_queue_says_why(client, owner, run_jobs):
    pid = text_project(client, owner, synthetic_rows(2))
    run_jobs()
    other = add_member(client, owner, pid, "b@example.com")
    mine = client.get(f"/api/v1/projects/{pid}/queue?limit=5", headers=owner).json()
    assert len(mine["data"]) == 2 and mine["reason"] is None
    theirs = client.get(f"/api/v1/projects/{pid}/queue?limit=5", headers=other).json()
    assert theirs["data"] == [] and "leased to other annotators" in theirs["reason"]
    for item in mine["data"]:
        client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": ["positive"]},
        )
    done = client.get(f"/api/v1/projects/{pid}/queue?limit=5", headers=other).json()
    assert done["data"] == [] and "all the annotations it needs" in done["reason"]
