from fastapi import APIRouter
from pydantic import BaseModel

from filament.api.deps import CurrentUser, SettingsDep
from filament.db.models import Page
from filament.ml.backbones import BACKBONES, DEFAULT_BACKBONE, BackboneUnavailable

router = APIRouter(prefix="/backbones", tags=["projects"])


class BackbonePublic(BaseModel):
    name: str
    modality: str
    dim: int
    description: str
    available: bool
    default: bool
    detail: str | None = None


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
            )
        )
    return Page(data=data, count=len(data))
