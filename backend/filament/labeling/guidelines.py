"""A project's labeling guidelines: instructions in Markdown and, per label, a description
with example items, stored with when and by whom they last changed.

The text is stored as given. It is Markdown for the web app, which renders it without raw
HTML and without `javascript:` links (frontend/src/features/guidelines); no other client
should render it as HTML. Examples are labeled items of the project that carry the label:
ids of other projects' items are the same 404 as unknown ones, so they reveal nothing.
"""

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

from filament import activity
from filament.core.errors import NotFound, Unprocessable
from filament.db.models import (
    ActivityAction,
    Annotation,
    GuideExample,
    Guidelines,
    GuidelinesPublic,
    GuidelinesUpdate,
    Item,
    LabelGuidePublic,
    Project,
    User,
    utcnow,
)


def read(session: Session, project: Project) -> GuidelinesPublic:
    """The project's guidelines, one entry per project label (in the project's order), each
    example with its item's name, text and labels."""
    stored = session.get(Guidelines, project.id, populate_existing=True)
    guides = {guide["label"]: guide for guide in (stored.labels if stored else [])}
    example_ids = [i for guide in guides.values() for i in guide.get("examples", [])]
    examples = _examples(session, project.id or 0, example_ids)
    labels = [
        LabelGuidePublic(
            label=label,
            description=guides.get(label, {}).get("description", ""),
            examples=[
                examples[i] for i in guides.get(label, {}).get("examples", []) if i in examples
            ],
        )
        for label in project.labels
    ]
    author = session.get(User, stored.updated_by) if stored and stored.updated_by else None
    return GuidelinesPublic(
        instructions=stored.instructions if stored else "",
        labels=labels,
        updated_at=stored.updated_at if stored else None,
        updated_by=stored.updated_by if stored else None,
        updated_by_name=(author.name or author.email) if author else None,
    )


def write(
    session: Session, project: Project, user_id: int, body: GuidelinesUpdate
) -> GuidelinesPublic:
    """Replace the guidelines (labels not named keep no description). Unknown or repeated
    labels are 422; example ids that are not this project's items are 404; items that do not
    carry the label they illustrate are 422."""
    assert project.id is not None
    names = [guide.label.strip() for guide in body.labels]
    unknown = sorted({name for name in names if name not in project.labels})
    if unknown:
        raise Unprocessable(f"Not labels of this project: {', '.join(unknown)}")
    if len(set(names)) != len(names):
        raise Unprocessable("Each label may be described once")
    _check_examples(
        session, project.id, {n: g.examples for n, g in zip(names, body.labels, strict=True)}
    )
    labels = [
        {"label": name, "description": guide.description, "examples": list(guide.examples)}
        for name, guide in zip(names, body.labels, strict=True)
        if guide.description or guide.examples
    ]
    stored = session.get(Guidelines, project.id)
    before = _summary(stored.instructions, stored.labels) if stored else _summary("", [])
    if stored is None:
        stored = Guidelines(project_id=project.id)
    stored.instructions, stored.labels = body.instructions, labels
    stored.updated_at, stored.updated_by = utcnow(), user_id
    session.add(stored)
    activity.record(
        session,
        project.id,
        user_id,
        ActivityAction.guidelines_changed,
        ("project", project.id),
        **activity.changes(before, _summary(body.instructions, labels)),
    )
    session.commit()
    return read(session, project)


def _summary(instructions: str, labels: list[dict[str, Any]]) -> dict[str, Any]:
    """What the activity log says changed: the instructions' length (the text itself can be
    long) and, per label, its description's length and its examples."""
    return {
        "instructions_chars": len(instructions),
        **{
            f"label:{guide['label']}": {
                "description_chars": len(guide.get("description", "")),
                "examples": guide.get("examples", []),
            }
            for guide in labels
        },
    }


def _check_examples(session: Session, project_id: int, examples: dict[str, list[int]]) -> None:
    ids = sorted({i for chosen in examples.values() for i in chosen})
    if not ids:
        return
    found = set(
        session.exec(
            select(Item.id).where(col(Item.id).in_(ids), Item.project_id == project_id)
        ).all()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"Items not found: {missing[:10]}")
    carried: dict[int, set[str]] = defaultdict(set)
    for item_id, labels in session.exec(
        select(Annotation.item_id, Annotation.labels).where(col(Annotation.item_id).in_(ids))
    ).all():
        carried[item_id].update(labels)
    wrong = [
        f"{i} ({label})"
        for label, chosen in examples.items()
        for i in chosen
        if label not in carried[i]
    ]
    if wrong:
        raise Unprocessable(
            f"Examples must be labeled items carrying their label: {', '.join(wrong[:10])}"
        )


def _examples(session: Session, project_id: int, item_ids: list[int]) -> dict[int, GuideExample]:
    if not item_ids:
        return {}
    items = session.exec(
        select(Item.id, Item.name, Item.kind, Item.text).where(
            col(Item.id).in_(item_ids), Item.project_id == project_id
        )
    ).all()
    labels: dict[int, list[str]] = {}
    for item_id, chosen in session.exec(
        select(Annotation.item_id, Annotation.labels)
        .where(col(Annotation.item_id).in_(item_ids))
        .order_by(col(Annotation.id))
    ).all():
        labels[item_id] = chosen  # the latest annotation's, as the item listing shows
    return {
        row.id: GuideExample(
            id=row.id, name=row.name, kind=row.kind, text=row.text, labels=labels.get(row.id, [])
        )
        for row in items
    }
