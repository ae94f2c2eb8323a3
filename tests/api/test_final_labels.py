"""The final-label rule (`filament.labeling.consensus.decide`) case by case, by hand."""

import pytest
from filament.db.models import AnnotationSource, DecidedBy
from filament.labeling.consensus import Vote, decide

SINGLE = ["a", "b", "c"]
HUMAN, SUGGESTION = AnnotationSource.human, AnnotationSource.suggestion


def votes(*sets: str, source: AnnotationSource = HUMAN) -> list[Vote]:
    """One vote per string, its labels the string's letters ('' is the empty set)."""
    return [Vote(user, list(labels), source) for user, labels in enumerate(sets, start=1)]


def single(*sets: str, resolution: list[str] | None = None):  # type: ignore[no-untyped-def]
    return decide(SINGLE, False, votes(*sets), resolution)


def multi(*sets: str, resolution: list[str] | None = None):  # type: ignore[no-untyped-def]
    return decide(["x", "y", "z"], True, votes(*sets), resolution)


def test_nothing_to_decide():
    assert decide(SINGLE, False, []) is None


def test_one_annotation_is_single_or_a_confirmed_suggestion():
    final = single("b")
    assert (final.labels, final.decided_by, final.agreement, final.conflict) == (
        ["b"],
        DecidedBy.single,
        1.0,
        False,
    )
    confirmed = decide(SINGLE, False, votes("b", source=SUGGESTION))
    assert confirmed.decided_by == DecidedBy.suggestion and confirmed.from_suggestion


@pytest.mark.parametrize(
    ("sets", "labels", "agreeing"),
    [
        (("a", "a"), ["a"], 2),  # unanimous
        (("a", "a", "b"), ["a"], 2),
        (("b", "a", "a", "c"), ["a"], 2),  # a plurality: no other label has as many votes
        (("c", "c", "c", "a", "b"), ["c"], 3),
    ],
)
def test_single_label_majority(sets, labels, agreeing):
    final = single(*sets)
    assert (final.labels, final.decided_by, final.agreeing) == (
        labels,
        DecidedBy.majority,
        agreeing,
    )
    assert final.annotators == len(sets) and final.agreement == agreeing / len(sets)
    assert final.conflict is (len(set(sets)) > 1)


@pytest.mark.parametrize("sets", [("a", "b"), ("a", "b", "c"), ("a", "a", "b", "b"), ("b", "a")])
def test_single_label_tie_has_no_final_label(sets):
    final = single(*sets)
    assert (final.labels, final.decided_by, final.agreement) == (None, DecidedBy.tie, None)
    assert final.conflict and final.disagree


@pytest.mark.parametrize(
    ("sets", "labels", "agreeing"),
    [
        (("x", "xy", ""), ["x"], 1),  # x 2/3 in, y 1/3 out
        (("xy", "xy", "x"), ["x", "y"], 2),  # y 2/3 in
        (("yx", "xy"), ["x", "y"], 2),  # sets, not lists, and in the project's order
        (("", ""), [], 2),  # the empty set is an answer too
        (("z", "xz", "yz"), ["z"], 1),
        (("xyz", "xy", "x", "xz", "x"), ["x"], 2),  # y 2/5 and z 2/5 out
    ],
)
def test_multilabel_strict_majority_per_label(sets, labels, agreeing):
    final = multi(*sets)
    assert (final.labels, final.decided_by, final.agreeing) == (
        labels,
        DecidedBy.majority,
        agreeing,
    )


@pytest.mark.parametrize("sets", [("x", "y"), ("x", ""), ("xy", "x", "y", ""), ("xy", "xz")])
def test_multilabel_any_label_at_half_is_a_tie(sets):
    final = multi(*sets)
    assert (final.labels, final.decided_by) == (None, DecidedBy.tie)


def test_a_resolution_decides_whatever_the_votes_say():
    final = single("a", "a", "b", resolution=["b"])
    assert (final.labels, final.decided_by) == (["b"], DecidedBy.review)
    assert final.disagree and not final.conflict
    assert final.agreement == pytest.approx(1 / 3)
    tied = multi("x", "y", resolution=["y", "x"])
    assert (tied.labels, tied.agreement) == (["x", "y"], 0.0)
    # a resolution with no annotation left (all undone) still stands
    alone = decide(SINGLE, False, [], ["c"])
    assert (alone.labels, alone.annotators, alone.agreement) == (["c"], 0, None)


def test_suggestions_only_calibrate_nothing_unless_a_reviewer_decided():
    mixed = [Vote(1, ["a"], SUGGESTION), Vote(2, ["a"], HUMAN)]
    assert decide(SINGLE, False, mixed).from_suggestion
    assert decide(SINGLE, False, mixed).decided_by == DecidedBy.majority
    assert not decide(SINGLE, False, mixed, ["a"]).from_suggestion
