"""Stored embeddings: kept as float16 in memory, appended chunk by chunk. (A project id no
other test uses: the loaded arrays are cached per process by project.)"""

from pathlib import Path

import numpy as np
from filament.artifacts import load_embeddings, save_embedding_chunk
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
    from filament import artifacts

    storage = LocalStorage(tmp_path)
    vectors = np.ones((2, 4), dtype=np.float32)
    save_embedding_chunk(storage, 987655, np.array([1, 2]), vectors)
    old = load_embeddings(storage, 987655)
    save_embedding_chunk(storage, 987655, np.array([3, 4]), vectors)
    loader = artifacts._loader((987655, None))
    with loader:  # another request is loading the new chunk
        assert load_embeddings(storage, 987655) is old
    assert load_embeddings(storage, 987655).item_ids.tolist() == [1, 2, 3, 4]
