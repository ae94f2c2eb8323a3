"""What the web app reads before anyone signs in."""

from fastapi import APIRouter

from filament.accounts.users import no_account_yet
from filament.api.deps import SessionDep, SettingsDep
from filament.db.models import InstanceConfig

router = APIRouter(prefix="/config", tags=["config"])


@router.get("")
def read_config(session: SessionDep, settings: SettingsDep) -> InstanceConfig:
    """The registration mode (open, invite-only, closed), and whether the instance has no
    account yet (then whoever registers first may, and becomes the instance admin)."""
    return InstanceConfig(
        registration=settings.registration_mode, first_account=no_account_yet(session)
    )
