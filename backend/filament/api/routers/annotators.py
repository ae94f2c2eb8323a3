"""Per-annotator figures: owners and reviewers see every annotator's row, an annotator their
own, viewers none (they do not label; docs/security.md)."""

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from filament.api.deps import REVIEWERS, ProjectMemberDep, SessionDep, StorageDep
from filament.db.models import Role
from filament.labeling import annotator_figures
from filament.labeling.annotator_figures import ACTIVE_GAP_SECONDS

router = APIRouter(prefix="/projects/{project_id}/annotators", tags=["annotators"])


class FigureEstimate(BaseModel):
    """An agreement figure with its support; null value where `reason` says why."""

    value: float | None
    low: float | None
    high: float | None
    items: int
    pairs: int
    reason: str | None = None


class FigureComparison(BaseModel):
    percent_agreement: FigureEstimate
    cohen_kappa: FigureEstimate


class AnnotatorFigures(BaseModel):
    user_id: int
    name: str
    role: Role | None = Field(description="null: no longer a member")
    labels: int = Field(description="typed or confirmed from suggestions; imports excluded")
    labels_per_hour: float | None = Field(
        description="over active time: gaps between labels or skips longer than "
        "`active_gap_seconds` are pauses and not counted; null below a minute of active time"
    )
    active_seconds: float
    median_seconds: float | None = Field(
        description="per item served by the queue: from the later of its serve and the "
        "previous label or skip, to its label"
    )
    timed_labels: int = Field(description="labels the median rests on")
    skipped: int
    skip_share: float | None = Field(description="skips / (skips + labels of served items)")
    suggestions_accepted: int
    suggestions_corrected: int
    agreement_items: int = Field(description="items the agreement figures compare")
    vs_consensus: FigureComparison | None = Field(
        description="against the strict majority of the other annotators of each item"
    )
    vs_model: FigureComparison | None = Field(
        description="against the model's held-out (cross-validated) prediction"
    )


class AnnotatorsPage(BaseModel):
    data: list[AnnotatorFigures]
    scope: str = Field(description="`all` (owners, reviewers) or `own` (annotators)")
    active_gap_seconds: float = ACTIVE_GAP_SECONDS
    agreement_computed_at: datetime | None = None


@router.get("")
def annotator_table(
    member: ProjectMemberDep, session: SessionDep, storage: StorageDep
) -> AnnotatorsPage:
    """Per annotator: labels, labels per hour of active time, median seconds per item, share
    skipped, agreement with the consensus and the model (with support), suggestions accepted
    and corrected."""
    if member.role == Role.viewer:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Viewers do not label; only owners and reviewers see every annotator's figures",
        )
    everyone = member.role in REVIEWERS
    rows, computed_at = annotator_figures.figures(
        session, storage, member.id, None if everyone else member.user.id
    )
    return AnnotatorsPage(
        data=[AnnotatorFigures.model_validate(row, from_attributes=True) for row in rows],
        scope="all" if everyone else "own",
        agreement_computed_at=computed_at,
    )
