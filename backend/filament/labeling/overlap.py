"""How many annotators each item wants: `annotations_per_item` (k) for every item, and at
least two for the project's **overlap share**, a random sample of items that a second
annotator labels so that agreement is measured on items the queue did not choose.

An item is in the overlap when a hash of (project, item) mapped to [0, 1) falls below the
share: a fixed uniform draw per item, so the sample is random (fair for the agreement
estimate), the same in every API process without storing anything, and raising the share only
adds items to it. The queue, the claim protocol and the annotation record all read the wanted
count from here.
"""

import numpy as np

from filament.db.models import Project

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def item_draws(project_id: int, item_ids: np.ndarray) -> np.ndarray:
    """A fixed uniform number in [0, 1) per item of the project (splitmix64 of its ids)."""
    ids = np.asarray(item_ids, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):  # the mixing wraps around 2**64 by design
        z = (np.uint64(project_id) << np.uint64(32)) ^ ids
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def in_overlap(project: Project, item_ids: np.ndarray) -> np.ndarray:
    """Which of the items belong to the project's overlap sample."""
    if project.overlap_share <= 0:
        return np.zeros(len(item_ids), dtype=bool)
    return item_draws(project.id or 0, item_ids) < project.overlap_share


def wanted(project: Project, item_ids: np.ndarray) -> np.ndarray:
    """The number of annotators each item wants."""
    k = project.annotations_per_item
    counts = np.full(len(item_ids), k, dtype=np.int64)
    if k < 2:
        counts[in_overlap(project, item_ids)] = 2
    return counts


def wanted_of(project: Project, item_id: int) -> int:
    return int(wanted(project, np.array([item_id]))[0])


def most_wanted(project: Project) -> int:
    """The largest number of annotators any item of the project wants."""
    if project.annotations_per_item < 2 and project.overlap_share > 0:
        return 2
    return project.annotations_per_item
