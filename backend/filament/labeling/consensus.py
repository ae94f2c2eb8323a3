"""The final label of an item: what the model trains on, the export carries and the API shows.

How it is decided (`decide`; docs/review.md), in this order:
1. **review**: a reviewer's resolution, when the item has one.
2. **single** / **suggestion**: the item's only annotation (`suggestion` when it was a
   confirmed suggestion).
3. **majority**: the annotators' majority.
   - One label per item: the label more annotators chose than any other (a plurality; with two
     or three annotators, a strict majority).
   - Multi-label: per label, a strict majority of the item's annotators: a label chosen by more
     than half of them is in, one chosen by fewer than half is out (the final set may be empty).
4. **tie**: no majority: two labels share the most votes, or (multi-label) some label was chosen
   by exactly half of the annotators. A tied item has no final label: it is left out of
   training until a reviewer resolves it.

An item is a **conflict** when two or more of its annotations differ and it has no resolution,
whether a majority still decides it or not. Every annotation counts (typed, confirmed from a
suggestion, imported with an upload, or left by a deleted user): they are the item's labels.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, distinct
from sqlmodel import Session, col, func, select

from filament.db.models import Annotation, AnnotationSource, DecidedBy, Project, Resolution

# a set of ids, or a select of them: where `load` reads
ItemIds = Sequence[int] | Any


@dataclass(frozen=True)
class Vote:
    user_id: int | None
    labels: list[str]
    source: AnnotationSource


@dataclass(frozen=True)
class FinalLabel:
    labels: list[str] | None  # None: a tie, no final label
    decided_by: DecidedBy
    annotators: int  # annotations of the item
    agreeing: int  # annotations whose label set is the final one
    disagree: bool  # two or more annotations differ (resolved or not)
    from_suggestion: bool  # not reviewed, and an annotation confirmed a suggestion

    @property
    def conflict(self) -> bool:
        return self.disagree and self.decided_by != DecidedBy.review

    @property
    def agreement(self) -> float | None:
        """The share of the item's annotators whose labels are the final label."""
        if self.labels is None or not self.annotators:
            return None
        return self.agreeing / self.annotators


def decide(
    project_labels: Sequence[str],
    multilabel: bool,
    votes: Sequence[Vote],
    resolution: Sequence[str] | None = None,
) -> FinalLabel | None:
    """The item's final label from its annotations and resolution; None without either."""
    sets = [frozenset(vote.labels) for vote in votes]
    disagree = len(set(sets)) > 1
    suggested = any(vote.source == AnnotationSource.suggestion for vote in votes)

    def final(chosen: frozenset[str] | None, how: DecidedBy, suggested: bool) -> FinalLabel:
        labels = None if chosen is None else [x for x in project_labels if x in chosen]
        agreeing = 0 if chosen is None else sets.count(chosen)
        return FinalLabel(labels, how, len(sets), agreeing, disagree, suggested)

    if resolution is not None:
        return final(frozenset(resolution), DecidedBy.review, False)
    if not sets:
        return None
    if len(sets) == 1:
        return final(sets[0], DecidedBy.suggestion if suggested else DecidedBy.single, suggested)
    chosen = _multilabel_majority(project_labels, sets) if multilabel else _plurality(sets)
    return final(chosen, DecidedBy.tie if chosen is None else DecidedBy.majority, suggested)


def _plurality(sets: list[frozenset[str]]) -> frozenset[str] | None:
    counts = Counter(label for labels in sets for label in labels).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return frozenset([counts[0][0]])


def _multilabel_majority(
    project_labels: Sequence[str], sets: list[frozenset[str]]
) -> frozenset[str] | None:
    counts = Counter(label for labels in sets for label in labels)
    if any(2 * counts[label] == len(sets) for label in project_labels):
        return None
    return frozenset(label for label in project_labels if 2 * counts[label] > len(sets))


def load(
    session: Session, project_id: int, item_ids: ItemIds | None = None
) -> tuple[dict[int, list[Vote]], dict[int, Resolution]]:
    """The annotations and resolutions of the project's items (of `item_ids`, a list or a
    select of ids, when given), by item."""
    annotations = select(
        Annotation.item_id, Annotation.user_id, Annotation.labels, Annotation.source
    ).where(Annotation.project_id == project_id)
    resolutions = select(Resolution).where(Resolution.project_id == project_id)
    if item_ids is not None:
        annotations = annotations.where(col(Annotation.item_id).in_(item_ids))
        resolutions = resolutions.where(col(Resolution.item_id).in_(item_ids))
    votes: dict[int, list[Vote]] = defaultdict(list)
    for item_id, user_id, labels, source in session.exec(annotations.order_by(col(Annotation.id))):
        votes[item_id].append(Vote(user_id, list(labels), AnnotationSource(source)))
    return votes, {r.item_id: r for r in session.exec(resolutions)}


def final_labels(
    session: Session, project: Project, item_ids: ItemIds | None = None
) -> dict[int, FinalLabel]:
    """The final label of every labeled (or resolved) item of the project, or of `item_ids`."""
    assert project.id is not None
    votes, resolutions = load(session, project.id, item_ids)
    decided = {}
    for item_id in votes.keys() | resolutions.keys():
        resolution = resolutions.get(item_id)
        found = decide(
            project.labels,
            project.task.multilabel,
            votes.get(item_id, []),
            resolution.labels if resolution else None,
        )
        if found is not None:
            decided[item_id] = found
    return decided


def training_labels(session: Session, project: Project) -> dict[int, list[str]]:
    """What the model learns from: the final label of every item that has one (ties wait)."""
    return {
        item_id: final.labels
        for item_id, final in final_labels(session, project).items()
        if final.labels is not None
    }


def open_conflicts(project_id: int) -> Any:
    """A select of the ids of the project's open conflicts: items with differing stored label
    lists and no resolution. Label lists are stored in the project's label order
    (`labels.checked_labels`), so equal sets are equal lists."""
    resolved = select(Resolution.item_id).where(Resolution.project_id == project_id)
    return (
        select(Annotation.item_id)
        .where(Annotation.project_id == project_id, col(Annotation.item_id).not_in(resolved))
        .group_by(col(Annotation.item_id))
        .having(func.count(distinct(cast(col(Annotation.labels), String))) > 1)
    )


@dataclass(frozen=True)
class ConflictCounts:
    open: int  # conflicts waiting for a review
    tied: int  # of those, without a majority: left out of training
    resolved: int  # items a reviewer resolved


def conflict_counts(session: Session, project: Project) -> ConflictCounts:
    assert project.id is not None
    conflicts = open_conflicts(project.id)
    count = session.exec(select(func.count()).select_from(conflicts.subquery())).one()
    tied = 0
    if count:
        finals = final_labels(session, project, conflicts)
        tied = sum(final.labels is None for final in finals.values())
    resolved = session.exec(select(func.count()).where(Resolution.project_id == project.id)).one()
    return ConflictCounts(open=count, tied=tied, resolved=resolved)
