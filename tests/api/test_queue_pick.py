"""The queue's choice on a large pool: clustered once per model version, not per request."""

import numpy as np
from filament import queue
from filament.artifacts import Embeddings, Scores
from filament.db.models import Project, Task


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
