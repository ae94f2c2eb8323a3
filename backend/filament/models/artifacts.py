"""Per-project arrays in object storage: item embeddings and each model version's pool scores.

Embeddings are appended in chunks (one per embed run), never recomputed; a model version's scores
hold one probability row per embedded item. Both are cached in-process and shared read-only.

At the end of an embed run the worker also writes the chunks as one matrix (`consolidate`),
which every process on a host memory-maps from one file: the pages it touches are shared
through the OS page cache instead of each API process holding its own copy of the whole
matrix (1M x 1,280 image vectors are 2.5 GB). Chunks that arrived after the matrix (an embed
run under way) are read into memory beside it.
"""

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from filament.cache import ProcessCache
from filament.storage import Storage, make_key


def embeddings_prefix(project_id: int, generation: int | None = None) -> str:
    """Where a project's embeddings live: `generation` is the fine-tuned model version whose
    backbone made them (None: the pretrained backbone)."""
    folder = "embeddings" if generation is None else f"embeddings-v{generation}"
    return make_key("projects", project_id, folder)


def model_prefix(project_id: int, version: int) -> str:
    return make_key("projects", project_id, "models", f"v{version}")


def save_npz(storage: Storage, key: str, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    storage.put_bytes(key, buffer.getvalue())


def load_npz(storage: Storage, key: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(storage.get_bytes(key)), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def save_embedding_chunk(
    storage: Storage,
    project_id: int,
    item_ids: np.ndarray,
    vectors: np.ndarray,
    generation: int | None = None,
) -> str:
    # named by the ids it holds, so a re-run of the same batch overwrites instead of duplicating
    first, last = int(item_ids[0]), int(item_ids[-1])
    key = f"{embeddings_prefix(project_id, generation)}/{first:012d}-{last:012d}.npz"
    save_npz(storage, key, item_ids=item_ids.astype(np.int64), vectors=vectors.astype(np.float16))
    return key


@dataclass
class Embeddings:
    item_ids: np.ndarray  # int64, sorted ascending
    # float16 (n, dim) as stored, rows aligned with item_ids: half the memory of float32 in
    # every process holding them; computations take float32 copies of the rows they use
    vectors: np.ndarray

    def rows_of(self, item_ids: np.ndarray) -> np.ndarray:
        """Row index of each id, -1 where the id has no embedding."""
        if len(self.item_ids) == 0:
            return np.full(len(item_ids), -1)
        rows = np.clip(np.searchsorted(self.item_ids, item_ids), 0, len(self.item_ids) - 1)
        return np.where(self.item_ids[rows] == item_ids, rows, -1)


_loaders = [threading.Lock() for _ in range(64)]  # striped by key: bounded, rarely shared
# (project, generation) -> (the chunk files read, their embeddings)
_embedding_cache: ProcessCache[tuple[int, int | None], tuple[tuple[str, ...], Embeddings]] = (
    ProcessCache("embeddings", 16)
)
_score_cache: ProcessCache[str, "Scores"] = ProcessCache("scores", 16)
# (project, generation, embedded) -> (the plan and its item count, or None; when it was read)
_plan_cache: ProcessCache[tuple[int, int | None, int], tuple[Any, float]] = ProcessCache(
    "cold plans", 64
)


def _loader(key: object) -> threading.Lock:
    """One loader per array: a cold API process under 20 annotators otherwise read the same
    100k embeddings 20 times at once. Requests that have an older copy use it meanwhile."""
    return _loaders[hash(key) % len(_loaders)]


def load_embeddings(storage: Storage, project_id: int, generation: int | None = None) -> Embeddings:
    """All of a project's embeddings of one generation; only chunks not seen before are read."""
    chunks = _chunk_keys(storage, project_id, generation)
    cached = _embedding_cache.get((project_id, generation))
    held = cached[0] if cached else ()
    if (
        cached
        and isinstance(cached[1].vectors, np.memmap)
        and held[: len(chunks)] == tuple(chunks)
        and all(key.endswith("/chunks.json") for key in held[len(chunks) :])
    ):
        # the steady state: a map of exactly these chunks (a matrix is named by its chunks, so
        # no newer one can hold the same set), without listing the matrices on every request
        return cached[1]
    # the chunks and the complete matrices: a new matrix of the same chunks replaces the
    # private copy read during the embed run by the shared map
    keys = (*chunks, *_matrices(storage, project_id, generation))
    if cached and cached[0] == keys:
        return cached[1]
    loader = _loader((project_id, generation))
    if cached and not loader.acquire(blocking=False):
        # another request is reading the new chunks: answer from the ones already here (their
        # items are all still valid) rather than wait for it
        return cached[1]
    if not cached:
        loader.acquire()  # a cold process: nothing to answer from but what is being read
    try:
        return _load_embeddings(storage, project_id, generation, keys)
    finally:
        loader.release()


def _load_embeddings(
    storage: Storage, project_id: int, generation: int | None, keys: tuple[str, ...]
) -> Embeddings:
    cached = _embedding_cache.get((project_id, generation))
    if cached and cached[0] == keys:
        return cached[1]  # loaded while this request waited
    prefix = embeddings_prefix(project_id, generation) + "/"
    chunks = {key for key in keys if key.startswith(prefix)}
    ids, vectors = [], []
    seen: set[str] = set()
    had = {key for key in cached[0] if key.startswith(prefix)} if cached else set()
    if cached and had and had <= chunks:  # chunks are only ever added: read the new ones
        ids, vectors, seen = [cached[1].item_ids], [cached[1].vectors], had
    mapped = _mapped_matrix(storage, project_id, generation, chunks)
    if mapped is not None:
        covered, matrix = mapped
        if covered == chunks:  # the steady state: nothing but the shared map
            _embedding_cache.put((project_id, generation), (keys, matrix))
            return matrix
        if len(covered) > len(seen):
            ids, vectors, seen = [matrix.item_ids], [matrix.vectors], covered
    for key in sorted(chunks):
        if key not in seen:
            chunk = load_npz(storage, key)
            ids.append(chunk["item_ids"])
            vectors.append(chunk["vectors"].astype(np.float16, copy=False))
    if ids:
        all_ids, first = np.unique(np.concatenate(ids), return_index=True)  # sorted, deduplicated
        embeddings = Embeddings(all_ids, np.concatenate(vectors)[first])
    else:
        embeddings = Embeddings(np.zeros(0, np.int64), np.zeros((0, 0), np.float16))
    _embedding_cache.put((project_id, generation), (keys, embeddings))
    return embeddings


def matrix_prefix(project_id: int, generation: int | None = None) -> str:
    return embeddings_prefix(project_id, generation) + "-matrix"


def _chunk_keys(storage: Storage, project_id: int, generation: int | None) -> list[str]:
    return sorted(storage.list(embeddings_prefix(project_id, generation) + "/"))


def _matrices(storage: Storage, project_id: int, generation: int | None) -> list[str]:
    """The complete matrices' `chunks.json` keys."""
    listed = storage.list(matrix_prefix(project_id, generation) + "/")
    return sorted(key for key in listed if key.endswith("/chunks.json"))


def consolidate(storage: Storage, project_id: int, generation: int | None = None) -> str | None:
    """Write the project's embedding chunks as one matrix (`ids.npy`, `vectors.npy`, and
    `chunks.json` last, which lists the chunks it holds and marks it complete) and drop older
    matrices. Returns its prefix (None: no chunks). Named by the chunks it holds: writing the
    same set again is a no-op."""
    keys = _chunk_keys(storage, project_id, generation)
    if not keys:
        return None
    stamp = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    prefix = f"{matrix_prefix(project_id, generation)}/{stamp}"
    if not storage.exists(f"{prefix}/chunks.json"):
        parts = [load_npz(storage, key) for key in keys]
        all_ids, first = np.unique(
            np.concatenate([part["item_ids"] for part in parts]), return_index=True
        )
        vectors = np.concatenate([part["vectors"] for part in parts])[first]
        del parts
        for name, array in (("ids", all_ids), ("vectors", vectors.astype(np.float16))):
            with tempfile.TemporaryFile() as spool:  # streamed: no second copy in memory
                np.save(spool, array, allow_pickle=False)
                spool.seek(0)
                storage.put_stream(f"{prefix}/{name}.npy", spool)
        storage.put_bytes(f"{prefix}/chunks.json", json.dumps(keys).encode())
    for key in storage.list(matrix_prefix(project_id, generation) + "/"):
        if not key.startswith(prefix + "/"):
            storage.delete(key)
    return prefix


def _mapped_matrix(
    storage: Storage, project_id: int, generation: int | None, keys: set[str]
) -> tuple[set[str], Embeddings] | None:
    """The newest complete matrix whose chunks are all still current, memory-mapped, with
    the chunks it covers; None when there is none."""
    complete = _matrices(storage, project_id, generation)
    best: tuple[set[str], str] | None = None
    for key in complete:
        try:
            covered = set(json.loads(storage.get_bytes(key)))
        except (OSError, ValueError, KeyError):  # deleted meanwhile by a newer consolidation
            continue
        if covered <= keys and (best is None or len(covered) > len(best[0])):
            best = (covered, key.rsplit("/", 1)[0])
    if best is None:
        return None
    covered, prefix = best
    try:
        ids = np.load(_local_file(storage, f"{prefix}/ids.npy"), allow_pickle=False)
        vectors = np.load(
            _local_file(storage, f"{prefix}/vectors.npy"), mmap_mode="r", allow_pickle=False
        )
    except (OSError, ValueError, KeyError):
        return None  # replaced while being read: the chunks will do
    return covered, Embeddings(ids, vectors)


def _local_file(storage: Storage, key: str) -> Path:
    """A file on this host holding the object: the store's own file (local storage), or a
    copy under the data dir's cache, fetched once and shared by the host's processes."""
    local_path = getattr(storage, "local_path", None)
    if local_path is not None:
        return Path(local_path(key))
    from filament.core.settings import get_settings

    target = Path(get_settings().data_dir) / "cache" / key
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as part,
            storage.open(key) as source,
        ):
            shutil.copyfileobj(source, part, 1024 * 1024)
        os.replace(part.name, target)  # atomic: readers see the whole file or none
        for sibling in target.parent.parent.iterdir():  # older matrices of this project
            if sibling != target.parent and sibling.is_dir():
                shutil.rmtree(sibling, ignore_errors=True)
    return target


@dataclass
class ClusterPlan:
    """The queue's clustering for a model version, by item id (see `queue.version_clusters`):
    made by the training job, so that no annotator's request waits for it."""

    item_ids: np.ndarray
    cluster: np.ndarray
    typical: np.ndarray
    k: int


@dataclass
class Scores:
    """A model version's probabilities for every embedded item."""

    version: int
    item_ids: np.ndarray  # sorted
    probs: np.ndarray  # float32 (n, n_labels)
    plan: ClusterPlan | None = None
    # what the queue ranks by when they differ from `probs`: a head that never saw the audit
    # labels (see `filament.ml.heads.HeadFit.queue_model`)
    queue_probs: np.ndarray | None = None
    derived: dict[object, Any] = field(default_factory=dict)  # per version: scoring, queue

    def rows_of(self, item_ids: np.ndarray) -> np.ndarray:
        return Embeddings(self.item_ids, self.probs).rows_of(item_ids)


def cold_plan_key(project_id: int, generation: int | None = None) -> str:
    """Beside (not inside) the embeddings folder, whose every file is a chunk."""
    return f"{embeddings_prefix(project_id, generation)}-cold-plan.npz"


def save_cold_plan(
    storage: Storage, project_id: int, generation: int | None, plan: ClusterPlan, embedded: int
) -> None:
    """The queue's clustering before the first model (see `queue.plan_cold_start`), made by the
    embed job for the `embedded` items there were."""
    save_npz(
        storage,
        cold_plan_key(project_id, generation),
        plan_item_ids=plan.item_ids,
        plan_cluster=plan.cluster,
        plan_typical=plan.typical.astype(np.float32),
        plan_k=np.array(plan.k),
        embedded=np.array(embedded),
    )


def _plan_from(data: dict[str, np.ndarray]) -> ClusterPlan:
    return ClusterPlan(
        data["plan_item_ids"],
        data["plan_cluster"],
        data["plan_typical"].astype(np.float64),
        int(data["plan_k"]),
    )


def load_cold_plan(
    storage: Storage, project_id: int, generation: int | None, embedded: int
) -> tuple[ClusterPlan, int] | None:
    """The stored cold-start plan and how many items it was made for; None when there is none.
    Read once per process and embedding count (`embedded`: how many items the caller sees), and
    again every few seconds while the plan is missing or older than that count (the embed job
    writes it after each chunk)."""
    cache_key = (project_id, generation, embedded)
    hit = _plan_cache.get(cache_key)
    if hit is not None:
        found, read_at = hit
        if (found is not None and found[1] >= embedded) or time.monotonic() - read_at < 2:
            return found
    try:
        data = load_npz(storage, cold_plan_key(project_id, generation))
        found = (_plan_from(data), int(data["embedded"]))
    except FileNotFoundError:
        found = None
    _plan_cache.put(cache_key, (found, time.monotonic()))
    return found


def scores_key(project_id: int, version: int) -> str:
    return f"{model_prefix(project_id, version)}/scores.npz"


def save_scores(
    storage: Storage,
    project_id: int,
    version: int,
    item_ids: np.ndarray,
    probs: np.ndarray,
    plan: ClusterPlan | None = None,
    queue_probs: np.ndarray | None = None,
) -> None:
    arrays = {"item_ids": item_ids, "probs": probs.astype(np.float16)}
    if queue_probs is not None:
        arrays["queue_probs"] = queue_probs.astype(np.float16)
    if plan is not None:
        arrays |= {
            "plan_item_ids": plan.item_ids,
            "plan_cluster": plan.cluster,
            "plan_typical": plan.typical.astype(np.float32),
            "plan_k": np.array(plan.k),
        }
    save_npz(storage, scores_key(project_id, version), **arrays)


def load_scores(storage: Storage, project_id: int, version: int) -> Scores:
    key = scores_key(project_id, version)
    if (found := _score_cache.get(key)) is not None:
        return found
    with _loader(key):
        if (found := _score_cache.get(key)) is not None:
            return found  # loaded while this request waited
        data = load_npz(storage, key)
        plan = _plan_from(data) if "plan_item_ids" in data else None
        queue_probs = data["queue_probs"].astype(np.float32) if "queue_probs" in data else None
        scores = Scores(
            version, data["item_ids"], data["probs"].astype(np.float32), plan, queue_probs
        )
        return _score_cache.put(key, scores)
