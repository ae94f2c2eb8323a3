"""Per-project arrays in object storage: item embeddings and each model version's pool scores.

Embeddings are appended in chunks (one per embed run), never recomputed; a model version's scores
hold one probability row per embedded item. Both are cached in-process and shared read-only.
"""

import io
import threading
import time
from dataclasses import dataclass, field
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
    keys = tuple(sorted(storage.list(embeddings_prefix(project_id, generation) + "/")))
    cached = _embedding_cache.get((project_id, generation))
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
    ids, vectors = [], []
    if cached and set(cached[0]) <= set(keys):
        ids, vectors = [cached[1].item_ids], [cached[1].vectors]
    seen = set(cached[0]) if ids else set()
    for key in keys:
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
