"""Request dependencies as `Annotated` aliases, so route signatures read as prose."""

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session, select

from filament.api.params import ProjectId
from filament.core.clock import as_utc
from filament.core.security import API_TOKEN_PREFIX, decode_access_token, hash_api_token
from filament.core.settings import Settings, get_settings
from filament.db.models import ApiToken, Project, ProjectMember, Role, User, utcnow
from filament.db.session import get_engine
from filament.storage import Storage, get_storage

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]

_UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="Not authenticated: send a valid 'Authorization: Bearer <token>' header",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_current_user(session: SessionDep, settings: SettingsDep, token: TokenDep) -> User:
    if not token:
        raise _UNAUTHORIZED
    if token.startswith(API_TOKEN_PREFIX):
        api_token = session.exec(
            select(ApiToken).where(ApiToken.token_hash == hash_api_token(token))
        ).first()
        if api_token is None or _expired(api_token.expires_at):
            raise _UNAUTHORIZED
        api_token.last_used_at = utcnow()
        session.add(api_token)
        session.commit()
        user = session.get(User, api_token.user_id)
    else:
        claims = decode_access_token(token, settings.resolved_secret_key())
        user = session.get(User, claims[0]) if claims is not None else None
        # a session signed before logout-all, a password change or disabling is over
        if user is not None and claims is not None and claims[1] != user.token_version:
            user = None
    if user is None or user.disabled:
        raise _UNAUTHORIZED
    return user


def _expired(expires_at: datetime | None) -> bool:
    if expires_at is None:
        return False
    return as_utc(expires_at) <= utcnow()


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Only the instance admin can do this")
    return user


InstanceAdmin = Annotated[User, Depends(require_admin)]


class Membership:
    """A project the caller belongs to, with their role. Non-members get 404, never the data."""

    def __init__(self, project: Project, role: Role, user: User) -> None:
        self.project = project
        self.role = role
        self.user = user

    @property
    def id(self) -> int:
        assert self.project.id is not None
        return self.project.id


def get_membership(project_id: ProjectId, session: SessionDep, user: CurrentUser) -> Membership:
    row = session.exec(
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(Project.id == project_id, ProjectMember.user_id == user.id)
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Project not found")
    return Membership(row[0], row[1], user)


# Who may do what (docs/security.md#roles). Everything else needs membership alone (reading:
# items, status, models, scores, export, jobs); non-members get 404 before any role check.
WRITERS = frozenset({Role.owner, Role.reviewer, Role.annotator})  # label, review suggestions
REVIEWERS = frozenset({Role.owner, Role.reviewer})  # resolve conflicts, see everyone's figures
OWNERS = frozenset({Role.owner})  # settings, members, datasets and uploads, fine-tuning
# model archives hold the project's data distilled: owners and reviewers
MODEL_READERS = frozenset({Role.owner, Role.reviewer})


def require_role(roles: frozenset[Role], refusal: str) -> Callable[..., Awaitable[Membership]]:
    """A dependency: the caller's membership if their role is one of `roles`, else 403."""

    # no I/O: async, so FastAPI runs it inline instead of in a worker thread
    async def check(membership: Annotated[Membership, Depends(get_membership)]) -> Membership:
        if membership.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
        return membership

    return check


require_writer = require_role(WRITERS, "Viewers cannot change a project")
require_owner = require_role(OWNERS, "Only the project's owners can do this")
require_model_reader = require_role(
    MODEL_READERS, "Only the project's owners and reviewers can download its models"
)
require_reviewer = require_role(REVIEWERS, "Only the project's owners and reviewers can do this")

ProjectMemberDep = Annotated[Membership, Depends(get_membership)]
ProjectWriter = Annotated[Membership, Depends(require_writer)]
ProjectOwner = Annotated[Membership, Depends(require_owner)]
ModelReader = Annotated[Membership, Depends(require_model_reader)]
ProjectReviewer = Annotated[Membership, Depends(require_reviewer)]


def get_arq(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.arq
