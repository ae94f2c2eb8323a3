"""A project's labeling guidelines: every member reads them, owners write them."""

from fastapi import APIRouter

from filament.api.deps import ProjectMemberDep, ProjectOwner, SessionDep
from filament.db.models import GuidelinesPublic, GuidelinesUpdate
from filament.labeling import guidelines

router = APIRouter(prefix="/projects/{project_id}/guidelines", tags=["guidelines"])


@router.get("")
def read_guidelines(member: ProjectMemberDep, session: SessionDep) -> GuidelinesPublic:
    """The instructions (Markdown) and each label's description and examples, with when and by
    whom they last changed (`updated_at` null: never written)."""
    return guidelines.read(session, member.project)


@router.put("")
def write_guidelines(
    body: GuidelinesUpdate, owner: ProjectOwner, session: SessionDep
) -> GuidelinesPublic:
    """Replace the guidelines. Examples are ids of this project's labeled items that carry the
    label they illustrate; labels left out have no description."""
    return guidelines.write(session, owner.project, owner.user.id or 0, body)
