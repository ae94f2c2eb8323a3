"""Per-annotator figures of a project: how much, how fast, how often skipped, how far they agree
with the others and with the model, and how they treat the model's suggestions.

How each figure is made (docs/activity-and-guidelines.md says the same for users):

- `labels`: the annotator's annotations, typed or confirmed from a suggestion (labels imported
  with an upload are the dataset's, not anyone's work).
- `labels_per_hour`: over active time. The annotator's labels and skips, in time order; each
  gap between two of them up to `ACTIVE_GAP_SECONDS` is active time, a longer gap is a pause
  and not counted, nor is the label after it. Rate = labels after an active gap / active time.
  None below `MIN_ACTIVE_SECONDS` of active time.
- `median_seconds`: per item the queue served, the seconds from the later of its first serve
  and the annotator's previous label or skip, to its label (`filament.labeling.timing`);
  `timed_labels` is its support. Items labeled outside the queue have no time.
- `skip_share`: skips / (skips + labels of items the queue served).
- agreement: the training job's stored figures (`filament.labeling.agreement`) with their
  support, against the strict majority of the other annotators and the model's held-out call.
- `suggestions_accepted`: annotations confirmed from a suggestion; `suggestions_corrected`:
  suggestions replaced with other labels on the suggestions page.

The figures are read from the annotation and skip rows of the project at request time: one
indexed scan of each (tests/benchmarks/bench_annotators.py measures it).
"""

import itertools
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from filament.db.models import Annotation, AnnotationSource, ProjectMember, Role, Skip, User
from filament.labeling import agreement
from filament.storage import Storage

ACTIVE_GAP_SECONDS = 600.0
MIN_ACTIVE_SECONDS = 60.0


@dataclass
class Figures:
    user_id: int
    name: str
    role: Role | None  # None: no longer a member
    labels: int = 0
    labels_per_hour: float | None = None
    active_seconds: float = 0.0
    median_seconds: float | None = None
    timed_labels: int = 0
    skipped: int = 0
    skip_share: float | None = None
    suggestions_accepted: int = 0
    suggestions_corrected: int = 0
    agreement_items: int = 0
    vs_consensus: dict[str, Any] | None = None
    vs_model: dict[str, Any] | None = None
    _times: list[tuple[datetime, bool]] = field(default_factory=list, repr=False)
    _seconds: list[float] = field(default_factory=list, repr=False)
    _served: int = 0


def active_rate(events: list[tuple[datetime, bool]]) -> tuple[float | None, float]:
    """(labels per hour, active seconds) from `(time, is_label)` events in any order."""
    events = sorted(events)
    active, counted = 0.0, 0
    for (before, _), (after, is_label) in itertools.pairwise(events):
        gap = (after - before).total_seconds()
        if gap <= ACTIVE_GAP_SECONDS:
            active += gap
            counted += is_label
    if active < MIN_ACTIVE_SECONDS:
        return None, active
    return counted / active * 3600, active


def figures(
    session: Session, storage: Storage, project_id: int, only_user: int | None = None
) -> tuple[list[Figures], str | None]:
    """Every annotator's figures (or `only_user`'s row alone), busiest first, with when the
    agreement figures were computed (None: not yet)."""
    rows: dict[int, Figures] = {}
    members = select(ProjectMember.user_id, ProjectMember.role, User.name, User.email).join(
        User, col(User.id) == ProjectMember.user_id
    )
    members = members.where(ProjectMember.project_id == project_id)
    if only_user is not None:
        members = members.where(ProjectMember.user_id == only_user)
    for user_id, role, name, email in session.exec(members).all():
        if role != Role.viewer or only_user is not None:
            rows[user_id] = Figures(user_id, name or email, role)

    def row(user_id: int) -> Figures:
        if user_id not in rows:  # a former member's work stays on the record
            user = session.get(User, user_id)
            rows[user_id] = Figures(user_id, (user.name or user.email) if user else "", None)
        return rows[user_id]

    annotations = select(
        Annotation.user_id,
        Annotation.created_at,
        Annotation.seconds,
        Annotation.served_at,
        Annotation.source,
        Annotation.corrects_suggestion,
    ).where(
        Annotation.project_id == project_id,
        col(Annotation.user_id).is_not(None),
        Annotation.source != AnnotationSource.import_,
    )
    skips = select(Skip.user_id, Skip.created_at).where(
        Skip.project_id == project_id, col(Skip.user_id).is_not(None)
    )
    if only_user is not None:
        annotations = annotations.where(Annotation.user_id == only_user)
        skips = skips.where(Skip.user_id == only_user)
    for user_id, created, seconds, served_at, source, corrects in session.exec(annotations):
        figures = row(user_id or 0)
        figures.labels += 1
        figures._times.append((created, True))
        if seconds is not None:
            figures._seconds.append(seconds)
        figures._served += served_at is not None
        figures.suggestions_accepted += source == AnnotationSource.suggestion
        figures.suggestions_corrected += bool(corrects)
    for user_id, created in session.exec(skips):
        figures = row(user_id or 0)
        figures.skipped += 1
        figures._times.append((created, False))
    for figures in rows.values():
        figures.labels_per_hour, figures.active_seconds = active_rate(figures._times)
        figures.timed_labels = len(figures._seconds)
        if figures._seconds:
            figures.median_seconds = statistics.median(figures._seconds)
        decided = figures.skipped + figures._served
        figures.skip_share = figures.skipped / decided if decided else None
    stored = agreement.load(storage, project_id)
    for entry in (stored or {}).get("per_annotator", []):
        if entry["user_id"] in rows:
            figures = rows[entry["user_id"]]
            figures.agreement_items = entry["items"]
            figures.vs_consensus, figures.vs_model = entry["vs_consensus"], entry["vs_model"]
    ordered = sorted(rows.values(), key=lambda f: (-f.labels, f.name, f.user_id))
    return ordered, (stored or {}).get("computed_at")
