"""What the label-issue list says of a flagged item, from the file a version stores: single-
and multi-label, on hand-made out-of-fold probabilities (no database, no storage)."""

import io
from types import SimpleNamespace

import numpy as np
import pytest
from filament.quality import label_issues


def _stored(project, y, probs) -> label_issues.StoredIssues:
    data, summary = label_issues.version_file(project, np.arange(10, 10 + len(y)), y, probs)
    with np.load(io.BytesIO(data)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    assert summary == {
        "method": "confident_learning",
        "checked": int(np.isfinite(probs).all(axis=1).sum()),
        "flagged": len(arrays["ranked"]),
    }
    return label_issues.StoredIssues(
        version=1,
        item_ids=arrays["item_ids"],
        score=arrays["score"].astype(np.float64),
        flagged=arrays["flagged"],
        likely=arrays["likely"],
        given=arrays["given"],
        ranked=arrays["ranked"],
        ranked_probs=arrays["ranked_probs"].astype(np.float64),
        ranked_labels=arrays.get("ranked_labels"),
    )


def test_single_label_explanation():
    project = SimpleNamespace(task=SimpleNamespace(multilabel=False), labels=["cat", "dog"])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.88, 0.12]])
    stored = _stored(project, np.array([0, 0, 1, 1, 1]), probs)
    assert stored.flagged_ids().tolist() == [14]
    given, thinks, disputed, p, p_given = label_issues.explain(project, stored, 0)
    assert (given, thinks, disputed) == (["dog"], ["cat"], ["dog", "cat"])
    assert p == pytest.approx(0.88, abs=1e-3) and p_given == pytest.approx(0.12, abs=1e-3)
    np.testing.assert_allclose(stored.scores_of(np.array([14, 99])), [0.88, np.nan], atol=1e-3)


def test_multilabel_explanation_flips_the_disputed_label_only():
    project = SimpleNamespace(task=SimpleNamespace(multilabel=True), labels=["a", "b", "c"])
    probs = np.array(
        [
            [0.9, 0.1, 0.8],
            [0.8, 0.2, 0.9],
            [0.1, 0.9, 0.7],
            [0.2, 0.8, 0.9],
            [0.9, 0.1, 0.95],  # "b" given, the model is sure it is absent
        ]
    )
    y = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1], [1, 1, 1]])
    stored = _stored(project, y, probs)
    assert stored.flagged_ids().tolist() == [14]
    given, thinks, disputed, p, p_given = label_issues.explain(project, stored, 0)
    assert given == ["a", "b", "c"] and thinks == ["a", "c"] and disputed == ["b"]
    assert p == pytest.approx(0.9, abs=1e-3) and p_given == pytest.approx(0.1, abs=1e-3)
