"""The queue's choice on a large pool: clustered once per model version, not per request."""

import numpy as np
from filament.db.models import Project, Task
from filament.labeling import queue
from filament.ml.strategies import typicality
from filament.models.artifacts import Embeddings, Scores


def binary_pool(n: int, project_id: int):
    """``n`` random 16-d items with random two-class probabilities, in a text project."""
    rng = np.random.default_rng(0)
    ids = np.arange(1, n + 1, dtype=np.int64)
    embeddings = Embeddings(ids, rng.standard_normal((len(ids), 16)).astype(np.float32))
    probs = rng.uniform(size=(len(ids), 1))
    probs = np.hstack([probs, 1 - probs]).astype(np.float32)
    project = Project(
        id=project_id, name="p", task=Task.text_classification, labels=["a", "b"], created_by=1
    )
    return rng, ids, embeddings, probs, project


def test_one_clustering_serves_every_pick_of_a_model_version(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    ids = np.arange(1, 20_001, dtype=np.int64)
    embeddings = Embeddings(ids, rng.standard_normal((len(ids), 32)).astype(np.float32))
    probs = rng.uniform(size=(len(ids), 1))
    project = Project(
        id=1, name="p", task=Task.text_classification, labels=["a", "b"], created_by=1
    )
    made = []
    plan = queue.plan_batch
    monkeypatch.setattr(queue, "plan_batch", lambda *a: made.append(1) or plan(*a))

    version_1 = Scores(1, ids, np.hstack([probs, 1 - probs]).astype(np.float32))
    blocked = ids[:500]
    served: list[int] = []
    for _ in range(5):  # five annotators asking in turn: each gets new items
        batch = queue.pick(embeddings, version_1, project, blocked, 10, "margin", rng)
        assert len(batch) == 10 and not set(batch) & set(blocked.tolist())
        blocked = np.concatenate([blocked, batch])
        served += batch
    assert len(set(served)) == 50 and len(made) == 1

    version_2 = Scores(2, ids, version_1.probs[::-1].copy())
    queue.pick(embeddings, version_2, project, blocked, 10, "margin", rng)
    assert len(made) == 2  # a new model, a new clustering


def test_a_version_stored_with_its_clustering_is_never_clustered_by_a_request(
    monkeypatch, tmp_path
) -> None:
    from filament.models.artifacts import load_scores, save_scores
    from filament.storage.local import LocalStorage

    rng, ids, embeddings, probs, project = binary_pool(5000, 9)
    plan = queue.plan_version(embeddings, ids[:100], probs[:, 0], np.random.default_rng(1))
    storage = LocalStorage(tmp_path)
    save_scores(storage, 9, 1, ids, probs, plan=plan)
    stored = load_scores(storage, 9, 1)
    assert stored.plan is not None and stored.plan.k == plan.k == 110
    assert stored.plan.item_ids.tolist() == plan.item_ids.tolist()

    made = []
    monkeypatch.setattr(queue, "plan_batch", lambda *a: made.append(1))
    # an item deleted since the version was trained is left out of the stored clustering
    alive = Embeddings(np.delete(ids, 150), np.delete(embeddings.vectors, 150, axis=0))
    batch = queue.pick(alive, stored, project, ids[:100], 10, "margin", rng)
    assert len(set(batch)) == 10 and not set(batch) & set(range(1, 101)) and 151 not in batch
    assert made == []


def test_a_clustering_whose_free_rows_are_used_up_is_made_again(monkeypatch) -> None:
    # a pool larger than the clustering's sample: leasing every free row it holds (a team
    # ahead of the next version) must not leave the queue empty beside thousands of free items
    rng, ids, embeddings, probs, project = binary_pool(8000, 3)
    plan = queue.plan_version(embeddings, ids[:100], probs[:, 0], np.random.default_rng(1))
    version = Scores(1, ids, probs, plan=plan)
    planned_free = np.setdiff1d(plan.item_ids, ids[:100])
    assert len(planned_free) == 3000 < len(ids) - 100
    blocked = np.concatenate([ids[:100], planned_free])
    batch = queue.pick(embeddings, version, project, blocked, 10, "margin", rng)
    assert len(set(batch)) == 10 and not set(batch) & set(blocked.tolist())
    # the new clustering serves the next requests; it was made once
    made = []
    monkeypatch.setattr(queue, "plan_batch", lambda *a: made.append(1))
    again = queue.pick(
        embeddings, version, project, np.concatenate([blocked, batch]), 10, "margin", rng
    )
    assert len(set(again)) == 10 and not set(again) & set(batch) and made == []


def test_a_used_up_cold_start_clustering_is_made_again() -> None:
    rng, _, embeddings, _, project = binary_pool(8000, 4)
    cold = queue.plan_cold_start(embeddings, np.random.default_rng(1))
    blocked = cold.item_ids
    batch = queue.pick(embeddings, None, project, blocked, 10, "margin", rng, cold)
    assert len(set(batch)) == 10 and not set(batch) & set(blocked.tolist())


def test_a_multilabel_project_is_served_by_the_rank_of_its_uncertainty() -> None:
    """Per-label margins averaged over many labels bunch: the pick weighs them by rank, so the
    most uncertain item of a cluster is served rather than its most typical one."""
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)
    X = np.vstack([c + 0.3 * rng.standard_normal((25, 2)) for c in centres]).astype(np.float32)
    middling = int(np.argsort(typicality(X[:25]))[12])  # of the first cluster
    probs = np.full((100, 3), 0.38, dtype=np.float32)  # margin 0.76 on every label
    probs[middling] = 0.39  # 0.78: the most uncertain item, by a little
    ids = np.arange(1, 101, dtype=np.int64)
    project = Project(
        id=7, name="p", task=Task.image_multilabel, labels=["a", "b", "c"], created_by=1
    )
    embeddings, scores = Embeddings(ids, X), Scores(1, ids, probs)
    picked = queue.pick(embeddings, scores, project, np.zeros(0, np.int64), 4, "margin", rng)
    assert ids[middling] in picked
