"""Stored embeddings: kept as float16 in memory, appended chunk by chunk. (A project id no
other test uses: the loaded arrays are cached per process by project.)"""

from pathlib import Path

import numpy as np
from filament.models.artifacts import load_embeddings, save_embedding_chunk
from filament.storage.local import LocalStorage


def test_embeddings_stay_float16_and_new_chunks_append(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    rng = np.random.default_rng(0)
    first = rng.standard_normal((5, 8)).astype(np.float32)
    save_embedding_chunk(storage, 987654, np.arange(10, 15), first)
    loaded = load_embeddings(storage, 987654)
    assert loaded.vectors.dtype == np.float16  # half the memory of float32 in every process
    np.testing.assert_array_equal(loaded.vectors, first.astype(np.float16))

    second = rng.standard_normal((3, 8)).astype(np.float32)
    save_embedding_chunk(storage, 987654, np.array([3, 4, 5]), second)
    both = load_embeddings(storage, 987654)
    assert both.item_ids.tolist() == [3, 4, 5, 10, 11, 12, 13, 14]
    assert both.vectors.dtype == np.float16
    np.testing.assert_array_equal(both.vectors[:3], second.astype(np.float16))
    np.testing.assert_array_equal(both.vectors[3:], first.astype(np.float16))
    assert both.rows_of(np.array([12, 99])).tolist() == [5, -1]


def test_a_request_with_an_older_copy_does_not_wait_for_new_chunks(tmp_path: Path) -> None:
    """While one request reads new chunks, others answer from the embeddings they have."""
    from filament.models import artifacts

    storage = LocalStorage(tmp_path)
    vectors = np.ones((2, 4), dtype=np.float32)
    save_embedding_chunk(storage, 987656, np.array([1, 2]), vectors)
    old = load_embeddings(storage, 987656)
    save_embedding_chunk(storage, 987656, np.array([3, 4]), vectors)
    loader = artifacts._loader((987656, None))
    with loader:  # another request is loading the new chunk
        assert load_embeddings(storage, 987656) is old
    assert load_embeddings(storage, 987656).item_ids.tolist() == [1, 2, 3, 4]


def test_the_queue_ranks_by_the_model_that_never_saw_the_audit_labels(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from filament.models.artifacts import Embeddings, load_scores, save_scores
    from filament.models.pool_scores import pool_uncertainty

    storage = LocalStorage(tmp_path)
    ids = np.arange(4)
    probs = np.array([[0.99, 0.01], [0.5, 0.5], [0.99, 0.01], [0.99, 0.01]])
    queue_probs = np.array([[0.5, 0.5], [0.99, 0.01], [0.99, 0.01], [0.99, 0.01]])
    save_scores(storage, 987655, 1, ids, probs, queue_probs=queue_probs)
    scores = load_scores(storage, 987655, 1)
    np.testing.assert_allclose(scores.queue_probs, queue_probs, atol=1e-3)
    project = SimpleNamespace(strategy="margin", task=SimpleNamespace(multilabel=False))
    embeddings = Embeddings(ids, np.zeros((4, 2), np.float16))
    uncertain = pool_uncertainty(scores, embeddings, project, "margin")  # type: ignore[arg-type]
    assert np.argmax(uncertain) == 0  # queue_probs' uncertain row, not probs'
    save_scores(storage, 987655, 2, ids, probs)
    assert load_scores(storage, 987655, 2).queue_probs is None
