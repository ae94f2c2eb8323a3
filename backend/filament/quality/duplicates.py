"""Near-duplicates: items whose embeddings have a cosine at or above
``FILAMENT_NEAR_DUPLICATE_COSINE`` (exact duplicates never get this far: ingest skips them).

The embed job compares each chunk it embeds with every item embedded so far and stores the
pairs it finds as one file per chunk, named like the chunk (a re-run overwrites it), in a folder
beside the embeddings of that generation. Groups are the connected components of the pairs
(`filament.ml.similarity.groups`), built when read and cached per process.

Pairs are kept at the threshold of the day they were found: raising the setting takes effect at
once (pairs below it are ignored), lowering it only for items embedded afterwards.
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
from redis import Redis
from sqlmodel import Session, col, select

from filament.cache import ProcessCache
from filament.db.models import AnnotationSource, Item, Project
from filament.labeling import annotations, leases
from filament.ml.similarity import groups, near_duplicate_pairs
from filament.models.artifacts import load_embeddings, load_npz, save_npz
from filament.storage import Storage, make_key

RELIST_SECONDS = 2.0  # how stale a process's view of the pair files may get


def duplicates_prefix(project_id: int, generation: int | None = None) -> str:
    folder = "duplicates" if generation is None else f"duplicates-v{generation}"
    return make_key("projects", project_id, folder)


def record_chunk(
    storage: Storage,
    project_id: int,
    generation: int | None,
    chunk_ids: np.ndarray,
    threshold: float,
) -> int:
    """Find and store the pairs of a freshly embedded chunk (saved already) with every item
    embedded so far; returns how many pairs it found."""
    embeddings = load_embeddings(storage, project_id, generation)
    rows = embeddings.rows_of(np.asarray(chunk_ids, dtype=np.int64))
    a, b, cosine = near_duplicate_pairs(embeddings.vectors, rows[rows >= 0], threshold)
    first, last = int(np.min(chunk_ids)), int(np.max(chunk_ids))
    save_npz(
        storage,
        f"{duplicates_prefix(project_id, generation)}/{first:012d}-{last:012d}.npz",
        a=embeddings.item_ids[a],
        b=embeddings.item_ids[b],
        cosine=cosine.astype(np.float32),
        threshold=np.array(threshold),
    )
    return len(a)


@dataclass
class Groups:
    """Every item in a near-duplicate group (``ids``, sorted) with its group: the group's
    smallest id."""

    ids: np.ndarray
    group: np.ndarray
    threshold: float

    def group_of(self, item_ids: np.ndarray) -> np.ndarray:
        """The group of each id; -1 for items in none."""
        item_ids = np.asarray(item_ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(len(item_ids), -1, dtype=np.int64)
        rows = np.clip(np.searchsorted(self.ids, item_ids), 0, len(self.ids) - 1)
        return np.where(self.ids[rows] == item_ids, self.group[rows], -1)

    def members(self, item_id: int) -> np.ndarray:
        """The other items of the item's group (none when it is in no group)."""
        (group,) = self.group_of(np.array([item_id]))
        if group < 0:
            return np.zeros(0, dtype=np.int64)
        others: np.ndarray = self.ids[(self.group == group) & (self.ids != item_id)]
        return others

    def counts(self, item_ids: np.ndarray) -> np.ndarray:
        """How many near-duplicates each item has."""
        groups_of = self.group_of(item_ids)
        if len(self.group) == 0:
            return np.zeros(len(groups_of), dtype=np.int64)
        labels, sizes = np.unique(self.group, return_counts=True)
        where = np.clip(np.searchsorted(labels, groups_of), 0, len(labels) - 1)
        return np.where(groups_of >= 0, sizes[where] - 1, 0)


_files: ProcessCache[tuple[int, int | None], tuple[tuple[str, ...], dict[str, dict]]] = (
    ProcessCache("near-duplicate pairs", 16)
)
_groups: ProcessCache[tuple[int, int | None], tuple[tuple[str, ...], float, float, Groups]] = (
    ProcessCache("near-duplicate groups", 16)
)
_lock = threading.Lock()


def load_groups(
    storage: Storage, project_id: int, generation: int | None, threshold: float
) -> Groups:
    """The groups of a generation's embeddings at ``threshold``; pair files are listed at most
    every ``RELIST_SECONDS`` and only new ones read."""
    key = (project_id, generation)
    hit = _groups.get(key)
    if hit and hit[1] == threshold and time.monotonic() - hit[2] < RELIST_SECONDS:
        return hit[3]
    with _lock:
        names = tuple(sorted(storage.list(duplicates_prefix(project_id, generation) + "/")))
        hit = _groups.get(key)
        if hit and hit[0] == names and hit[1] == threshold:
            _groups.put(key, (names, threshold, time.monotonic(), hit[3]))
            return hit[3]
        cached = _files.get(key)
        read = dict(cached[1]) if cached else {}
        for name in names:
            if name not in read:
                read[name] = load_npz(storage, name)
        read = {name: read[name] for name in names}
        _files.put(key, (names, read))
        found = _build(list(read.values()), threshold)
        _groups.put(key, (names, threshold, time.monotonic(), found))
        return found


def _build(chunks: list[dict], threshold: float) -> Groups:
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return Groups(empty, empty.copy(), threshold)
    a = np.concatenate([c["a"] for c in chunks]).astype(np.int64)
    b = np.concatenate([c["b"] for c in chunks]).astype(np.int64)
    keep = np.concatenate([c["cosine"] for c in chunks]) >= threshold
    ids, group = groups(a[keep], b[keep])
    return Groups(ids, group, threshold)


def label_duplicates(
    session: Session,
    redis: Redis,
    storage: Storage,
    project: Project,
    user_id: int,
    item: Item,
    labels: list[str],
    threshold: float,
) -> tuple[list[int], list[int]]:
    """Give the item's near-duplicates the caller's ``labels``, as annotations of source
    ``duplicate``: each is claimed first (`leases.claim`, as the queue would serve it), so an
    item the caller labeled already, or one with all the annotators it wants, is skipped.
    Returns ``(labeled, skipped)`` ids."""
    groups_now = load_groups(storage, project.id or 0, project.embedding_version, threshold)
    others = groups_now.members(item.id or 0).tolist()
    if not others:
        return [], []
    rows = {
        row.id: row
        for row in session.exec(
            select(Item).where(col(Item.id).in_(others), Item.project_id == project.id)
        )
    }
    present = [i for i in others if i in rows]
    held = leases.claim(redis, session, project, user_id, present, len(present))
    if held:
        entries = [(rows[i], labels, AnnotationSource.duplicate) for i in held]
        annotations.record(session, redis, project, user_id, entries)
    won = set(held)
    return sorted(won), sorted(i for i in present if i not in won)
