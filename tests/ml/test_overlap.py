"""The overlap share's per-item draw: uniform, fixed, nested as the share grows."""

import numpy as np
from filament.db.models import Project, Task
from filament.labeling import overlap


def _project(share: float, k: int = 1, project_id: int = 7) -> Project:
    return Project(
        id=project_id,
        name="p",
        task=Task.text_classification,
        labels=["a", "b"],
        backbone="x",
        created_by=1,
        annotations_per_item=k,
        overlap_share=share,
    )


def test_the_draw_is_uniform_and_fixed() -> None:
    ids = np.arange(1, 20_001)
    draws = overlap.item_draws(7, ids)
    assert draws.min() >= 0 and draws.max() < 1
    counts, _ = np.histogram(draws, bins=10, range=(0, 1))
    assert np.all(np.abs(counts - 2000) < 4 * np.sqrt(2000))  # a 4-sigma band per decile
    assert np.array_equal(draws, overlap.item_draws(7, ids))
    assert not np.array_equal(draws, overlap.item_draws(8, ids))  # another project, another draw


def test_the_share_is_met_and_a_larger_share_keeps_the_sample() -> None:
    ids = np.arange(1, 10_001)
    tenth = overlap.in_overlap(_project(0.1), ids)
    fifth = overlap.in_overlap(_project(0.2), ids)
    assert abs(tenth.mean() - 0.1) < 0.012 and abs(fifth.mean() - 0.2) < 0.016
    assert np.all(fifth[tenth])


def test_wanted_counts() -> None:
    ids = np.arange(1, 1001)
    assert set(overlap.wanted(_project(0.0), ids).tolist()) == {1}
    assert set(overlap.wanted(_project(0.3), ids).tolist()) == {1, 2}
    assert set(overlap.wanted(_project(0.3, k=3), ids).tolist()) == {3}  # k already > 2
    assert overlap.most_wanted(_project(0.0)) == 1
    assert overlap.most_wanted(_project(0.3)) == 2
    assert overlap.most_wanted(_project(0.3, k=3)) == 3
