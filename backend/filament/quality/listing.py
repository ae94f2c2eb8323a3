"""Items as the lists show them, with the quality fields: confidence, label-error score,
annotators, source, near-duplicates; and the page of likely label errors."""

from collections.abc import Sequence

import numpy as np
from sqlmodel import Session, col, select

from filament.core.settings import get_settings
from filament.db.models import (
    Annotation,
    AnnotationSource,
    Dataset,
    Item,
    ItemPublic,
    ModelVersion,
    Project,
    User,
)
from filament.models.artifacts import Scores
from filament.models.pool_scores import confidence_of, predictions_for
from filament.quality import duplicates, label_issues
from filament.quality.duplicates import Groups
from filament.quality.label_issues import StoredIssues
from filament.quality.shapes import LabelIssue, LabelIssuePage
from filament.storage import Storage


def current_issues(
    storage: Storage, project: Project, scores: Scores | None
) -> StoredIssues | None:
    """The label check stored with the active version (the one whose scores are shown)."""
    return None if scores is None else label_issues.load(storage, project.id or 0, scores.version)


def current_groups(storage: Storage, project: Project) -> Groups:
    return duplicates.load_groups(
        storage, project.id or 0, project.embedding_version, get_settings().near_duplicate_cosine
    )


def annotation_summary(
    session: Session, item_ids: list[int]
) -> dict[int, tuple[list[str], AnnotationSource]]:
    """Per item: who annotated it (names, in order; "import" for uploaded labels) and the
    source of its latest annotation."""
    if not item_ids:
        return {}
    rows = session.exec(
        select(Annotation.item_id, Annotation.source, User.name, User.email)
        .outerjoin(User, col(User.id) == Annotation.user_id)
        .where(col(Annotation.item_id).in_(item_ids))
        .order_by(col(Annotation.id))
    ).all()
    summary: dict[int, tuple[list[str], AnnotationSource]] = {}
    for item_id, source, name, email in rows:
        names = summary.get(item_id, ([], source))[0]
        names.append(name or email or "import")
        summary[item_id] = (names, source)
    return summary


def add_duplicate_counts(storage: Storage, project: Project, items: list[ItemPublic]) -> None:
    """Only the near-duplicate counts (the labeling queue: its items offer the label to their
    duplicates with one key)."""
    counts = current_groups(storage, project).counts(np.array([i.id for i in items], np.int64))
    for item, count in zip(items, counts.tolist(), strict=True):
        item.duplicates = count


def enrich(
    session: Session,
    storage: Storage,
    project: Project,
    scores: Scores | None,
    items: list[ItemPublic],
) -> None:
    """Fill the quality fields of listed items in place (one query for the annotations)."""
    if not items:
        return
    ids = np.array([item.id for item in items], dtype=np.int64)
    issues = current_issues(storage, project, scores)
    error_scores = issues.scores_of(ids) if issues is not None else np.full(len(ids), np.nan)
    flagged = set(issues.flagged_ids().tolist()) if issues is not None else set()
    counts = current_groups(storage, project).counts(ids)
    confidence = np.full(len(ids), np.nan)
    if scores is not None:
        rows = scores.rows_of(ids)
        scored = rows >= 0
        confidence[scored] = confidence_of(scores.probs[rows[scored]], project.task.multilabel)
    summary = annotation_summary(session, [item.id for item in items if item.status == "labeled"])
    for item, error, conf, count in zip(items, error_scores, confidence, counts, strict=True):
        if np.isfinite(conf):
            item.confidence = round(float(conf), 4)
        if np.isfinite(error):
            item.label_error_score = round(float(error), 4)
            item.likely_error = item.id in flagged
        item.duplicates = int(count)
        if item.id in summary:
            item.annotators, item.source = summary[item.id]


def public_items(
    session: Session,
    storage: Storage,
    project: Project,
    scores: Scores | None,
    item_ids: Sequence[int],
) -> list[ItemPublic]:
    """The project's items of ``item_ids`` as the list shows them, in that order (ids of
    deleted or other projects' items are left out)."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return []
    rows = {
        row.id: row
        for row in session.exec(
            select(
                Item.id,
                Item.name,
                Item.kind,
                Item.text,
                Item.status,
                Item.n_annotations,
                col(Dataset.name).label("dataset"),
            )
            .join(Dataset)
            .where(col(Item.id).in_(ids), Item.project_id == project.id)
        )
    }
    labels: dict[int, list[str]] = {}
    for item_id, given in session.exec(
        select(Annotation.item_id, Annotation.labels)
        .where(col(Annotation.item_id).in_([i for i in ids if i in rows]))
        .order_by(col(Annotation.id))
    ):
        labels[item_id] = given
    predictions = predictions_for(scores, project, [i for i in ids if i in rows])
    answer = []
    for item_id in ids:
        if (row := rows.get(item_id)) is None:
            continue
        public = ItemPublic(
            id=item_id,
            name=row.name,
            kind=row.kind,
            text=row.text,
            dataset=row.dataset,
            # the rule of the items list (`routers.items.item_public`)
            status="labeled" if row.n_annotations else str(row.status),
            labels=labels.get(item_id),
        )
        if item_id in predictions:
            public.prediction, public.uncertainty = predictions[item_id]
        answer.append(public)
    enrich(session, storage, project, scores, answer)
    return answer


def label_issue_page(
    session: Session,
    storage: Storage,
    project: Project,
    model: ModelVersion | None,
    scores: Scores | None,
    limit: int,
    offset: int,
) -> LabelIssuePage:
    """The active version's flagged items, surest error first, with the annotators' votes."""
    if model is None:
        return LabelIssuePage(data=[], count=0, detail="No model yet")
    stored = label_issues.load(storage, project.id or 0, model.version)
    if stored is None:
        return LabelIssuePage(
            data=[],
            count=0,
            model_version=model.version,
            detail="This version has no label check: it had too few labels to cross-validate, "
            "or was made by fine-tuning; the next head training makes one",
        )
    positions = list(range(offset, min(offset + limit, len(stored.ranked))))
    ids = [int(stored.item_ids[stored.ranked[p]]) for p in positions]
    items = {item.id: item for item in public_items(session, storage, project, scores, ids)}
    votes = label_issues.votes_of(session, list(items))
    data = []
    for position, item_id in zip(positions, ids, strict=True):
        if item_id not in items:
            continue  # deleted since the training
        given, thinks, disputed, p, p_given = label_issues.explain(project, stored, position)
        item_votes = votes.get(item_id, [])
        data.append(
            LabelIssue(
                item=items[item_id],
                given=given,
                model_thinks=thinks,
                disputed=disputed,
                probability=round(p, 4),
                given_probability=round(p_given, 4),
                score=round(float(stored.score[stored.ranked[position]]), 4),
                annotators=sum(vote.count for vote in item_votes),
                votes=item_votes,
            )
        )
    return LabelIssuePage(
        data=data,
        count=len(stored.ranked),
        checked=int(np.isfinite(stored.score).sum()),
        model_version=model.version,
    )
