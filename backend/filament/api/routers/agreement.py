"""How far a project's annotators agree: the figures the training job stored last."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import col, select

from filament.api.deps import ProjectMemberDep, SessionDep, SettingsDep, StorageDep
from filament.db.models import User
from filament.labeling import agreement
from filament.ml.agreement import (
    BOOTSTRAP_RESAMPLES,
    INTERVAL_METHOD,
    LEVEL,
    NO_OVERLAP,
    below_support,
)

router = APIRouter(prefix="/projects/{project_id}/agreement", tags=["agreement"])


class AgreementEstimate(BaseModel):
    """A figure with its support; ``value`` and the interval are null where ``reason`` says
    why (too few items, nothing to compare, or undefined: one category only)."""

    value: float | None
    low: float | None
    high: float | None
    items: int = Field(description="items the figure rests on")
    pairs: int = Field(description="pairs of annotations compared")
    reason: str | None = None


class AgreementMeasures(BaseModel):
    percent_agreement: AgreementEstimate
    fleiss_kappa: AgreementEstimate
    krippendorff_alpha: AgreementEstimate


class LabelAgreement(AgreementMeasures):
    """One label as a binary item: chosen or not."""

    label: str


class AgreementComparison(BaseModel):
    percent_agreement: AgreementEstimate
    cohen_kappa: AgreementEstimate


class PairAgreement(AgreementComparison):
    a: int
    a_name: str
    b: int
    b_name: str


class AnnotatorAgreement(BaseModel):
    user_id: int
    name: str
    items: int
    vs_consensus: AgreementComparison = Field(
        description="against the strict majority of the other annotators of each item"
    )
    vs_model: AgreementComparison | None = Field(
        description="against the model's held-out (cross-validated) prediction"
    )


class AgreementPoint(BaseModel):
    computed_at: datetime
    items: int
    annotations: int
    model_version: int | None
    percent_agreement: AgreementEstimate
    fleiss_kappa: AgreementEstimate
    krippendorff_alpha: AgreementEstimate
    cohen_kappa: AgreementEstimate


class ProjectAgreement(BaseModel):
    computed: bool = Field(
        description="false until a training run saw an item labeled by two annotators"
    )
    computed_at: datetime | None = None
    model_version: int | None = None
    annotations_per_item: int
    overlap_share: float = Field(
        default=0.0, description="share of items (a random sample) that a second annotator labels"
    )
    items: int = Field(description="items with two or more annotations")
    annotations: int
    annotators: int
    min_support: int = Field(description="items below which only counts are given")
    level: float = LEVEL
    interval: str = INTERVAL_METHOD
    resamples: int = BOOTSTRAP_RESAMPLES
    overall: AgreementMeasures | None = None
    cohen_kappa: AgreementEstimate | None = None
    per_label: list[LabelAgreement] = []
    pairs: list[PairAgreement] = []
    per_annotator: list[AnnotatorAgreement] = []
    history: list[AgreementPoint] = []
    message: str | None = None


@router.get("")
def project_agreement(
    member: ProjectMemberDep, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> ProjectAgreement:
    """Percent agreement, Cohen's and Fleiss' kappa and Krippendorff's alpha on the items that
    two or more annotators labeled, with 95 % bootstrap intervals over items; below the minimum
    support only counts."""
    stored = agreement.load(storage, member.id)
    per_item, overlap_share = member.project.annotations_per_item, member.project.overlap_share
    if stored is None:
        return ProjectAgreement(
            computed=False,
            annotations_per_item=per_item,
            overlap_share=overlap_share,
            items=0,
            annotations=0,
            annotators=0,
            min_support=settings.metrics_min_support,
            message=NO_OVERLAP,
        )
    user_ids = {p[side] for p in stored["pairs"] for side in ("a", "b")}
    user_ids |= {a["user_id"] for a in stored["per_annotator"]}
    names = {
        user_id: name or email
        for user_id, name, email in session.exec(
            select(User.id, User.name, User.email).where(col(User.id).in_(user_ids))
        ).all()
    }
    for pair in stored["pairs"]:
        pair["a_name"], pair["b_name"] = names.get(pair["a"], ""), names.get(pair["b"], "")
    for annotator in stored["per_annotator"]:
        annotator["name"] = names.get(annotator["user_id"], "")
    message = None if stored["items"] else NO_OVERLAP
    if stored["items"] and stored["items"] < stored["min_support"]:
        message = below_support(stored["items"], stored["min_support"])
    return ProjectAgreement(
        computed=True,
        annotations_per_item=per_item,
        overlap_share=overlap_share,
        message=message,
        **stored,
    )
