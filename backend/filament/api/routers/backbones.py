from typing import Self

from fastapi import APIRouter
from pydantic import BaseModel, Field

from filament.api.deps import CurrentUser, SettingsDep
from filament.db.models import Page
from filament.ml.backbones import (
    BACKBONES,
    DEFAULT_BACKBONE,
    BackboneBenchmark,
    BackboneUnavailable,
)

router = APIRouter(prefix="/backbones", tags=["projects"])


class ProbeAccuracyPublic(BaseModel):
    """Test accuracy of logistic regression on the frozen embeddings of one reference dataset,
    trained on ``labels`` randomly chosen labels (``null``: every label of its pool)."""

    dataset: str = Field(description="reference dataset: cifar10, uci or agnews (benchmarks)")
    labels: int | None
    accuracy: float


class BackboneBenchmarkPublic(BaseModel):
    """What this backbone measured on a reference machine (docs/benchmarks.md): embedding
    speed through the whole embed pipeline, and linear-probe accuracy (mean of ``seeds``)."""

    machine: str
    embed_per_second: float = Field(description="images or texts per second, per the modality")
    probe: list[ProbeAccuracyPublic]
    seeds: int

    @classmethod
    def of(cls, measured: BackboneBenchmark) -> Self:
        return cls(
            machine=measured.machine,
            embed_per_second=measured.embed_per_second,
            probe=[ProbeAccuracyPublic(**vars(p)) for p in measured.probe],
            seeds=measured.seeds,
        )


class BackbonePublic(BaseModel):
    name: str
    modality: str
    dim: int
    description: str
    available: bool
    default: bool
    detail: str | None = None
    benchmark: BackboneBenchmarkPublic | None = Field(
        default=None, description="measured speed and accuracy; null where not measured"
    )


@router.get("")
def list_backbones(user: CurrentUser, settings: SettingsDep) -> Page[BackbonePublic]:
    """The backbones a project can use; unavailable ones say where their weights belong."""
    data = []
    for spec in BACKBONES.values():
        try:
            spec.check_available(settings.weights_dir)
            available, detail = True, None
        except BackboneUnavailable as error:
            available, detail = False, str(error)
        data.append(
            BackbonePublic(
                name=spec.name,
                modality=spec.modality,
                dim=spec.dim,
                description=spec.description,
                available=available,
                default=DEFAULT_BACKBONE[spec.modality] == spec.name,
                detail=detail,
                benchmark=BackboneBenchmarkPublic.of(spec.benchmark) if spec.benchmark else None,
            )
        )
    return Page(data=data, count=len(data))
