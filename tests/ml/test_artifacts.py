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


def _chunks(storage: LocalStorage, project_id: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((9, 4)).astype(np.float32)
    save_embedding_chunk(storage, project_id, np.array([1, 2, 3]), vectors[:3])
    save_embedding_chunk(storage, project_id, np.array([7, 8, 9]), vectors[3:6])
    return vectors


def test_a_consolidated_matrix_is_memory_mapped_and_later_chunks_join_it(tmp_path: Path) -> None:
    from filament.models.artifacts import consolidate, matrix_prefix

    storage = LocalStorage(tmp_path)
    vectors = _chunks(storage, 987657)
    first = consolidate(storage, 987657)
    assert consolidate(storage, 987657) == first  # the same chunks: nothing rewritten
    mapped = load_embeddings(storage, 987657)
    assert isinstance(mapped.vectors, np.memmap)  # shared pages, not a private copy
    assert mapped.item_ids.tolist() == [1, 2, 3, 7, 8, 9]
    np.testing.assert_array_equal(mapped.vectors, vectors[:6].astype(np.float16))

    save_embedding_chunk(storage, 987657, np.array([4, 5, 6]), vectors[6:])  # a run under way
    grown = load_embeddings(storage, 987657)
    assert grown.item_ids.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    np.testing.assert_array_equal(grown.vectors[3:6], vectors[6:].astype(np.float16))
    second = consolidate(storage, 987657)
    assert second != first
    matrices = {key.split("/")[-2] for key in storage.list(matrix_prefix(987657) + "/")}
    assert matrices == {second.rsplit("/", 1)[1]}  # the older one is gone
    again = load_embeddings(storage, 987657)
    assert isinstance(again.vectors, np.memmap) and len(again.item_ids) == 9


def test_a_store_without_local_files_maps_a_cached_copy(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from filament.core.settings import get_settings
    from filament.models.artifacts import consolidate

    class Remote(LocalStorage):  # as S3: no file of its own to map
        local_path = None  # type: ignore[assignment]

    monkeypatch.setenv("FILAMENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    storage = Remote(tmp_path / "store")
    vectors = _chunks(storage, 987658)
    consolidate(storage, 987658)
    mapped = load_embeddings(storage, 987658)
    assert isinstance(mapped.vectors, np.memmap)
    assert str(tmp_path / "data" / "cache") in str(mapped.vectors.filename)
    np.testing.assert_array_equal(mapped.vectors, vectors[:6].astype(np.float16))
    get_settings.cache_clear()
