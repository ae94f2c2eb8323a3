"""The audit share: uniform draws from the unlabeled, unclaimed pool, claimed like every other
pick, marked in the data, and what the metrics are computed on."""

from types import SimpleNamespace

import numpy as np
from filament.labeling.audit import AUDIT_EARLY_LABELS, audit_count, audit_share, draw_audit
from filament.models.artifacts import Embeddings


def test_draws_are_uniform_over_the_free_items_and_binomial_in_number() -> None:
    embeddings = Embeddings(np.arange(100, dtype=np.int64), np.zeros((100, 2), np.float16))
    blocked = np.arange(0, 100, 2)  # finished, claimed or held: never drawn
    rng = np.random.default_rng(0)
    counts, seen = [], np.zeros(100)
    for _ in range(4000):
        count, candidates = draw_audit(embeddings, blocked, 10, 0.1, rng, spare=1)
        counts.append(count)
        seen[candidates] += 1
        assert len(set(candidates)) == len(candidates)
    assert seen[blocked].sum() == 0
    free = seen[1::2]
    # 10 % of 10 served items per request: binomial, mean 1, sd of the mean of 4000 ~0.015
    assert abs(np.mean(counts) - 1.0) < 4 * np.sqrt(0.9 / 4000)
    # uniform: every free item drawn about as often (chi-square with 49 dof, far from 1 %)
    expected = free.sum() / len(free)
    assert ((free - expected) ** 2 / expected).sum() < 80


def test_nothing_is_drawn_without_a_share_or_a_free_item() -> None:
    embeddings = Embeddings(np.arange(5, dtype=np.int64), np.zeros((5, 2), np.float16))
    rng = np.random.default_rng(1)
    assert draw_audit(embeddings, np.arange(5), 10, 0.5, rng) == (0, [])
    assert draw_audit(embeddings, np.zeros(0, np.int64), 10, 0.0, rng) == (0, [])
    nothing_embedded = Embeddings(np.zeros(0, np.int64), np.zeros((0, 2), np.float16))
    assert draw_audit(nothing_embedded, np.zeros(0, np.int64), 10, 1.0, rng) == (0, [])
    assert audit_count(0, 0.5, rng) == 0


def test_the_share_drops_after_the_first_audit_labels() -> None:
    project = SimpleNamespace(audit_share=0.1, audit_share_later=0.05)
    assert audit_share(project, AUDIT_EARLY_LABELS - 1) == 0.1  # type: ignore[arg-type]
    assert audit_share(project, AUDIT_EARLY_LABELS) == 0.05  # type: ignore[arg-type]


def _audit_ids(pid: int) -> set[int]:
    from filament.db.models import Item
    from filament.db.session import get_engine
    from sqlmodel import Session, col, select

    with Session(get_engine()) as session:
        return set(session.exec(select(Item.id).where(Item.project_id == pid, col(Item.audit))))


def test_the_queue_serves_audit_draws_once_and_unmarked(client, owner, run_jobs):
    from tests.api.test_loop import label_of, synthetic_rows, text_project
    from tests.conftest import add_member

    pid = text_project(client, owner, synthetic_rows(80), audit_share=0.5)
    run_jobs()
    other = add_member(client, owner, pid, "b@example.com")
    served: dict[str, list[dict]] = {"owner": [], "other": []}
    for who, headers in (("owner", owner), ("other", other)):
        for _ in range(3):
            held = ",".join(str(item["id"]) for item in served[who])
            page = client.get(
                f"/api/v1/projects/{pid}/queue?limit=10&exclude={held}", headers=headers
            ).json()
            served[who] += page["data"]
    ids = [item["id"] for batch in served.values() for item in batch]
    assert len(ids) == 60 and len(set(ids)) == 60  # audit draws are claimed like every pick
    audit = _audit_ids(pid)
    assert audit <= set(ids) and 15 <= len(audit) <= 45  # about half of 60 served
    # an annotator cannot tell: the same fields, nothing that says "audit"
    assert {tuple(sorted(item)) for item in served["owner"]} == {tuple(sorted(served["owner"][0]))}

    for item in served["owner"]:
        client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
    run_jobs()
    metrics = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()["metrics"]
    labeled_audit = audit & {item["id"] for item in served["owner"]}
    assert metrics["audit"]["support"] == len(labeled_audit) > 0
    assert metrics["cross_validated"]["support"] == 30


def test_no_audit_share_no_audit_items(client, owner, run_jobs):
    from tests.api.test_loop import synthetic_rows, text_project

    pid = text_project(client, owner, synthetic_rows(30), audit_share=0.0)
    run_jobs()
    page = client.get(f"/api/v1/projects/{pid}/queue?limit=20", headers=owner).json()
    assert len(page["data"]) == 20 and _audit_ids(pid) == set()
