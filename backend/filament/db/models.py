"""Tables and their public shapes.

One class ladder per entity: Base -> Create/Update -> table -> Public.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    EmailStr,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import AutoString, Field, SQLModel

from filament.core.clock import utcnow as utcnow  # re-exported: callers import it here
from filament.core.rates import measured_rate
from filament.core.settings import RegistrationMode
from filament.ml.strategies import DEFAULT_STRATEGY, STRATEGIES

T = TypeVar("T")


class ItemKind(StrEnum):
    image = "image"
    text = "text"


class Task(StrEnum):
    image_classification = "image_classification"
    image_multilabel = "image_multilabel"
    text_classification = "text_classification"

    @property
    def modality(self) -> ItemKind:
        return ItemKind.text if self is Task.text_classification else ItemKind.image

    @property
    def multilabel(self) -> bool:
        return self is Task.image_multilabel


class Role(StrEnum):
    owner = "owner"
    reviewer = "reviewer"  # labels, resolves conflicts, sees agreement, downloads models
    annotator = "annotator"
    viewer = "viewer"


class ItemStatus(StrEnum):
    pending = "pending"  # stored, waiting for its embedding
    ready = "ready"  # embedded, can be queued
    error = "error"


class AnnotationSource(StrEnum):
    human = "human"
    suggestion = "suggestion"
    import_ = "import"
    # given to an item's near-duplicates in one go from the label of the item
    # (`filament.quality.duplicates`)
    duplicate = "duplicate"


class QualityView(StrEnum):
    """Preset views of the items list (`filament.quality.browse`)."""

    label_disagrees = "label_disagrees"  # the latest label is not what the active model predicts
    likely_error = "likely_error"  # flagged by confident learning, surest first
    near_duplicate = "near_duplicate"  # in a near-duplicate group, groups together


class ItemSort(StrEnum):
    """Sort keys of the items list; `-key` sorts descending. Items without the figure go last."""

    confidence = "confidence"
    uncertainty = "uncertainty"
    label_error = "label_error"


class DecidedBy(StrEnum):
    """How an item's final label was decided (`filament.labeling.consensus`)."""

    single = "single"  # one annotation
    majority = "majority"  # the annotators' majority
    review = "review"  # a reviewer's resolution
    suggestion = "suggestion"  # one annotation, a confirmed suggestion
    tie = "tie"  # no majority and no resolution: no final label, left out of training


class ResolutionSource(StrEnum):
    review = "review"  # a reviewer (or owner) decided between the annotators


class JobType(StrEnum):
    """What a job does; also the name of the worker's function that runs it."""

    ingest = "ingest"
    embed = "embed"
    train_head = "train_head"
    finetune = "finetune"
    build_archive = "build_archive"


class ModelKind(StrEnum):
    head = "head"  # a light head on the embeddings
    finetuned = "finetuned"  # the backbone trained end to end with its classifier


class VersionStatus(StrEnum):
    ready = "ready"
    rejected = "rejected"  # a fine-tune that did not beat the version it was meant to replace


class MailStatus(StrEnum):
    """Whether an invitation's link was mailed (the link works either way)."""

    not_configured = "not_configured"  # no FILAMENT_SMTP_URL: the owner passes the link on
    sending = "sending"
    sent = "sent"
    failed = "failed"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


# --- users and tokens -------------------------------------------------------------------------


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=255, unique=True, index=True)
    name: str = Field(default="", max_length=255)


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=128)


# an invitation token as the API hands it out (secrets.token_urlsafe(32): 43 characters)
InvitationToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")]


class UserRegister(UserCreate):
    invitation: InvitationToken | None = Field(
        default=None,
        description="the token of a pending invitation for this email; needed when the "
        "server's registration is invite-only (GET /config)",
    )


class User(UserBase, table=True):
    # one instance admin, the first account: the partial unique index makes "first" hold
    # under concurrent registrations (the second insert of an admin fails)
    __table_args__ = (
        Index(
            "ix_user_one_admin",
            "is_admin",
            unique=True,
            sqlite_where=text("is_admin"),
            postgresql_where=text("is_admin"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    # in every access token; bumped by logout-all, a password change or disabling the account,
    # which ends every session signed before
    token_version: int = Field(default=0)
    disabled: bool = Field(default=False)
    is_admin: bool = Field(default=False)


class Token(BaseModel):  # the answer to a sign-in (OAuth2 password flow)
    access_token: str
    token_type: str = "bearer"


class UserPublic(UserBase):
    id: int
    created_at: datetime
    is_admin: bool = False  # the instance admin (docs/security.md, Registration)


class UserAdminView(UserPublic):
    """A user as the instance admin sees them."""

    disabled: bool


class UserAdminUpdate(SQLModel):
    disabled: Annotated[bool, Strict()]  # strict: 0 is not false (found by the fuzzer)


class InstanceConfig(BaseModel):
    """What the web app needs to know before anyone signs in."""

    registration: RegistrationMode
    # no account exists yet: whoever registers first may, whatever the mode, and is the admin
    first_account: bool


class ApiTokenCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=366, description="default: FILAMENT_API_TOKEN_DAYS (90)"
    )


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None  # None: tokens made before expiry existed


class ApiTokenPublic(SQLModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = None


class ApiTokenCreated(ApiTokenPublic):
    token: str


# --- projects ---------------------------------------------------------------------------------


class ProjectSettings(SQLModel):
    # margin, not entropy: it beat random on every shared dataset (docs/benchmarks.md)
    strategy: str = Field(default=DEFAULT_STRATEGY, max_length=32)
    suggestion_precision: float = Field(default=0.97, gt=0.5, lt=1.0)
    annotations_per_item: int = Field(default=1, ge=1, le=20)
    # with one annotator per item: the share of items (a fixed random sample) that a second
    # annotator labels, so agreement is measured on items the queue did not choose
    overlap_share: Annotated[float, Strict()] = Field(default=0.0, ge=0.0, le=1.0)
    lease_seconds: int = Field(default=600, ge=10, le=86_400)
    # share of served items drawn uniformly at random for auditing the model (held-out
    # figures); `audit_share` until AUDIT_EARLY_LABELS audit labels, then `audit_share_later`
    # strict: `false` is not a share of 0 (found by the fuzzer)
    audit_share: Annotated[float, Strict()] = Field(default=0.10, ge=0.0, le=0.5)
    audit_share_later: Annotated[float, Strict()] = Field(default=0.05, ge=0.0, le=0.5)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        return value


# what _check_labels enforces, in the OpenAPI too (uniqueness after stripping is checked only)
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^|]*[^|\s][^|]*$")
]


def _check_labels(labels: list[str]) -> list[str]:
    cleaned = [label.strip() for label in labels]
    if not cleaned:
        raise ValueError("a project needs at least one label")
    if any(not label or len(label) > 100 or "|" in label for label in cleaned):
        raise ValueError("labels must be 1-100 characters and may not contain '|'")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError("labels must be unique")
    return cleaned


class ProjectCreate(ProjectSettings):
    name: str = Field(min_length=1, max_length=200)
    task: Task
    labels: list[Label] = Field(min_length=1, max_length=500)
    backbone: str | None = Field(default=None, max_length=64)

    _labels = field_validator("labels")(_check_labels)


class ProjectUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    labels: list[Label] | None = Field(default=None, min_length=1, max_length=500)
    strategy: str | None = None
    suggestion_precision: float | None = Field(default=None, gt=0.5, lt=1.0)
    annotations_per_item: int | None = Field(default=None, ge=1, le=20)
    overlap_share: Annotated[float, Strict()] | None = Field(default=None, ge=0.0, le=1.0)
    lease_seconds: int | None = Field(default=None, ge=10, le=86_400)
    audit_share: Annotated[float, Strict()] | None = Field(default=None, ge=0.0, le=0.5)
    audit_share_later: Annotated[float, Strict()] | None = Field(default=None, ge=0.0, le=0.5)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_labels(value)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str | None) -> str | None:
        return None if value is None else ProjectSettings._known_strategy(value)


class Project(ProjectSettings, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    task: Task = Field(max_length=32)
    labels: list[str] = Field(sa_column=Column(JSON, nullable=False))
    backbone: str = Field(max_length=64)
    # the fine-tuned version whose backbone made the live embeddings (None: the pretrained one)
    embedding_version: int | None = None
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ProjectPublic(ProjectSettings):
    id: int
    name: str
    task: Task
    labels: list[str]
    backbone: str
    created_at: datetime
    role: Role
    items_total: int = 0
    labeled: int = 0


class ProjectMember(SQLModel, table=True):
    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")
    role: Role = Field(max_length=16)


class MemberUpdate(SQLModel):
    role: Role


class MemberPublic(SQLModel):
    user_id: int
    email: str
    name: str
    role: Role


class InvitationCreate(SQLModel):
    email: EmailStr = Field(max_length=255)
    role: Role = Role.annotator


class Invitation(SQLModel, table=True):
    """An owner's invitation to a project for one email. The link carries a random token; only
    its SHA-256 is stored. Revoking or replacing deletes the row; accepting keeps it, used."""

    __table_args__ = (
        # one pending invitation per project and email: inviting again replaces it
        Index(
            "ix_invitation_pending",
            "project_id",
            "email",
            unique=True,
            sqlite_where=text("accepted_at IS NULL"),
            postgresql_where=text("accepted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=255, index=True)
    role: Role = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    invited_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None
    accepted_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    mail_status: MailStatus = Field(
        default=MailStatus.not_configured, sa_type=AutoString(length=16)
    )
    mail_error: str | None = Field(default=None, max_length=500)


class InvitationPublic(SQLModel):
    id: int
    email: str
    role: Role
    invited_by: str | None  # the inviter's name, or their email when they have none
    created_at: datetime
    expires_at: datetime
    expired: bool
    mail_status: MailStatus
    mail_error: str | None = None


class InvitationCreated(InvitationPublic):
    """Shown once: the token and the link that carries it (only a hash is kept)."""

    token: str
    url: str


class InvitationView(SQLModel):
    """What the link's landing page is told, and nothing more."""

    project: str  # the project's name
    role: Role
    inviter: str | None
    email: str  # the account that may accept


class InvitationAccepted(SQLModel):
    project_id: int
    role: Role


# --- datasets, items, annotations -------------------------------------------------------------


class DatasetCreate(SQLModel):
    name: str = Field(min_length=1, max_length=200)


class Dataset(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class DatasetPublic(SQLModel):
    id: int
    name: str
    items: int = 0


class Item(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash"),
        Index("ix_item_project_id", "project_id", "id"),  # paging in id order
        Index("ix_item_project_status", "project_id", "status", "id"),
        Index("ix_item_project_done", "project_id", "n_annotations", "id"),
        Index("ix_item_project_dataset", "project_id", "dataset_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    dataset_id: int = Field(foreign_key="dataset.id", ondelete="CASCADE")
    name: str = Field(max_length=1000)
    kind: ItemKind = Field(sa_type=AutoString(length=8))
    storage_key: str | None = Field(default=None, max_length=500)
    content_type: str | None = Field(default=None, max_length=64)
    text: str | None = None
    content_hash: str = Field(max_length=64)
    size: int = Field(default=0, sa_type=BigInteger)
    status: ItemStatus = Field(default=ItemStatus.pending, max_length=16)
    n_annotations: int = 0
    # drawn uniformly at random by the queue's audit share: its labels estimate the model's
    # quality without the queue's selection bias (the annotator is not told)
    audit: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Prediction(SQLModel):
    labels: list[str]
    scores: dict[str, float]
    model_version: int


class ItemPublic(SQLModel):
    id: int
    name: str
    kind: str
    text: str | None = None
    dataset: str | None = None
    status: str | None = None
    labels: list[str] | None = Field(
        default=None,
        description="the item's final label (filament.labeling.consensus); null while "
        "unlabeled or tied",
    )
    decided_by: DecidedBy | None = None
    conflict: bool = Field(
        default=False, description="annotations that differ and no resolution (yet)"
    )
    prediction: Prediction | None = None
    uncertainty: float | None = None
    # the quality tools' view (filament.quality.browse); absent where unknown
    confidence: float | None = None
    label_error_score: float | None = Field(
        default=None,
        description="1 - the out-of-fold probability of the given label (multi-label: of the "
        "most disputed label's call); higher is likelier an error (filament.ml.label_errors)",
    )
    likely_error: bool | None = None
    annotators: list[str] | None = None
    source: AnnotationSource | None = Field(default=None, description="the latest annotation's")
    duplicates: int | None = Field(default=None, description="near-duplicates of this item")


class AnnotationCreate(SQLModel):
    labels: list[str] = Field(max_length=500)


class Annotation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        Index("ix_annotation_project_user", "project_id", "user_id"),
        Index("ix_annotation_project_id", "project_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", ondelete="CASCADE")
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    labels: list[str] = Field(sa_column=Column(JSON, nullable=False))
    source: AnnotationSource = Field(default=AnnotationSource.human, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    # when the queue first served the item to this user, and the seconds the user spent on it
    # (from the later of that and their previous label or skip): None when not served by the
    # queue (the item browser, suggestions, imports); see filament.labeling.timing
    served_at: datetime | None = None
    seconds: float | None = None
    # given on the suggestions page in place of the model's suggestion (source `human`)
    corrects_suggestion: bool = False


class AnnotationPublic(SQLModel):
    id: int
    item_id: int
    user_id: int | None
    user_name: str | None = None
    labels: list[str]
    source: AnnotationSource
    created_at: datetime
    # set on the answer to a new annotation: the caller's lease had expired and others took
    # the item's remaining slots meanwhile; the annotation is saved all the same
    beyond_annotations_per_item: bool = False


class ResolutionCreate(SQLModel):
    labels: list[str] = Field(max_length=500)


class Resolution(SQLModel, table=True):
    """A reviewer's decision on an item's label; the annotations stay as the annotators left
    them. At most one per item: resolving again replaces it, reopening deletes it."""

    __table_args__ = (Index("ix_resolution_project_id", "project_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    labels: list[str] = Field(sa_column=Column(JSON, nullable=False))
    source: ResolutionSource = Field(default=ResolutionSource.review, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class ResolutionPublic(SQLModel):
    item_id: int
    labels: list[str]
    source: ResolutionSource
    user_id: int | None
    user_name: str | None = Field(default=None, description="the reviewer's name, or email")
    created_at: datetime


class ItemDetail(ItemPublic):
    annotations: list[AnnotationPublic] = []
    resolution: ResolutionPublic | None = None


# --- jobs and models --------------------------------------------------------------------------


class Job(SQLModel, table=True):
    __table_args__ = (Index("ix_job_project_created", "project_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    type: JobType = Field(sa_type=AutoString(length=32))
    status: JobStatus = Field(default=JobStatus.queued, max_length=16)
    progress: float = 0.0
    message: str = Field(default="", max_length=500)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    errors: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    device: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobPublic(SQLModel):
    id: int
    project_id: int | None
    type: str
    status: JobStatus
    progress: float
    message: str
    errors: list[dict[str, str]]
    result: dict[str, Any]
    device: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rate_per_second: float | None = Field(
        default=None,
        description="while running: items done per second since the job started (jobs that "
        "count items: `result.unit`); null until there is a rate",
    )
    eta_seconds: float | None = Field(
        default=None,
        description="while running: seconds left at the rate measured since the job started; "
        "null until there is a rate",
    )

    @model_validator(mode="after")
    def _measured(self) -> "JobPublic":
        if self.status == JobStatus.running:
            done = self.result.get("done") if self.result.get("unit") else None
            rate = measured_rate(
                self.started_at, self.progress, done if isinstance(done, int) else None
            )
            self.rate_per_second, self.eta_seconds = rate.per_second, rate.eta_seconds
        return self


class ModelVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    version: int
    kind: ModelKind = Field(sa_type=AutoString(length=16))
    backbone: str = Field(max_length=64)
    label_count: int
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    storage_key: str = Field(max_length=500)
    status: VersionStatus = Field(default=VersionStatus.ready, sa_type=AutoString(length=16))
    active: bool = False
    # the fine-tuned version whose backbone made the embeddings this head was trained on
    base_version: int | None = None
    device: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class ModelVersionPublic(SQLModel):
    version: int
    kind: str
    backbone: str
    base_version: int | None
    label_count: int
    metrics: dict[str, Any]
    status: str
    active: bool
    device: str | None
    created_at: datetime


# --- webhooks --------------------------------------------------------------------------------


class WebhookEvent(StrEnum):
    """What a project's webhooks may subscribe to (`filament.webhooks.events`)."""

    annotation_created = "annotation.created"
    model_activated = "model.activated"
    job_finished = "job.finished"
    suggestions_reviewed = "suggestions.reviewed"


PING_EVENT = "ping"  # an owner's test delivery; sent on request, never subscribed to


class DeliveryState(StrEnum):
    pending = "pending"  # waiting for its next attempt
    delivered = "delivered"  # a 2xx answer
    failed = "failed"  # every attempt failed, or the webhook's target was refused


WebhookUrl = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
WebhookSecret = Annotated[
    str, StringConstraints(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")
]


class WebhookCreate(SQLModel):
    url: WebhookUrl = Field(description="http(s) URL of a public host (docs/webhooks.md)")
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent))
    secret: WebhookSecret | None = Field(
        default=None, description="the signing secret; default: a random one, shown once"
    )
    active: Annotated[bool, Strict()] = True


class WebhookUpdate(SQLModel):
    url: WebhookUrl | None = None
    events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, max_length=len(WebhookEvent)
    )
    active: Annotated[bool, Strict()] | None = None


class Webhook(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    url: str = Field(max_length=2000)
    # kept as given: every delivery is signed with it (HMAC needs the secret itself)
    secret: str = Field(max_length=200)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class WebhookPublic(SQLModel):
    id: int
    url: str
    events: list[str]
    active: bool
    secret_hint: str = Field(description="the secret's first and last characters")
    created_by: int | None
    created_at: datetime


class WebhookCreated(WebhookPublic):
    """Shown on creation and on rotation only: the whole signing secret."""

    secret: str


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook, from its creation to delivered or failed. The row is the
    truth: the worker's job only wakes the delivery up (`filament.webhooks.deliveries`)."""

    __table_args__ = (
        Index("ix_webhook_delivery_webhook", "webhook_id", "id"),  # the log, newest first
        # the reconciler's scan of pending deliveries that are due
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", ondelete="CASCADE")
    event: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: DeliveryState = Field(default=DeliveryState.pending, sa_type=AutoString(length=16))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    status_code: int | None = None  # the last attempt's answer
    error: str | None = Field(default=None, max_length=300)  # the last attempt's failure
    # every attempt: {"at", "status_code", "error", "seconds"}
    attempt_log: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class DeliveryAttempt(SQLModel):
    at: datetime
    status_code: int | None = None
    error: str | None = None
    seconds: float


class WebhookDeliveryPublic(SQLModel):
    id: int
    webhook_id: int
    event: str
    event_id: str = Field(description="the payload's id: the same on a redelivery")
    state: DeliveryState
    attempts: int
    status_code: int | None
    error: str | None
    attempt_log: list[DeliveryAttempt]
    payload: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


# --- working as a team: guidelines, skips, the activity log ----------------------------------

GUIDELINES_MAX_CHARS = 20_000  # the instructions' Markdown
LABEL_DESCRIPTION_MAX_CHARS = 2_000
EXAMPLES_PER_LABEL = 10
_MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER, as filament.api.params bounds every id
ExampleId = Annotated[int, Field(ge=1, le=_MAX_ID)]


class LabelGuide(SQLModel):
    label: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=LABEL_DESCRIPTION_MAX_CHARS)
    examples: list[ExampleId] = Field(
        default_factory=list,
        max_length=EXAMPLES_PER_LABEL,
        description="ids of labeled items of this project that show the label",
    )


class GuidelinesUpdate(SQLModel):
    instructions: str = Field(
        default="", max_length=GUIDELINES_MAX_CHARS, description="Markdown (raw HTML stays text)"
    )
    labels: list[LabelGuide] = Field(default_factory=list, max_length=500)


class Guidelines(SQLModel, table=True):
    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    labels: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class GuideExample(SQLModel):
    id: int
    name: str
    kind: str
    text: str | None = None
    labels: list[str] = []


class LabelGuidePublic(SQLModel):
    label: str
    description: str
    examples: list[GuideExample]


class GuidelinesPublic(SQLModel):
    instructions: str
    labels: list[LabelGuidePublic]
    updated_at: datetime | None = Field(description="null: never written")
    updated_by: int | None = None
    updated_by_name: str | None = None


class Skip(SQLModel, table=True):
    """An item an annotator passed over in the queue (S in the labeler)."""

    __table_args__ = (Index("ix_skip_project_user", "project_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    item_id: int = Field(foreign_key="item.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    served_at: datetime | None = None
    seconds: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ActivityAction(StrEnum):
    """What an activity entry records (the column stays a plain string: new kinds need no
    migration)."""

    annotation_created = "annotation_created"
    annotation_changed = "annotation_changed"
    annotation_deleted = "annotation_deleted"  # undo
    dataset_created = "dataset_created"
    dataset_renamed = "dataset_renamed"
    dataset_deleted = "dataset_deleted"
    items_uploaded = "items_uploaded"  # an upload's ingest finished, with its counts
    member_added = "member_added"
    member_role_changed = "member_role_changed"
    member_removed = "member_removed"
    settings_changed = "settings_changed"
    guidelines_changed = "guidelines_changed"
    model_activated = "model_activated"
    finetune_started = "finetune_started"
    finetune_cancelled = "finetune_cancelled"
    finetune_finished = "finetune_finished"  # done (activated or not) or failed
    resolution_made = "resolution_made"  # a reviewer decided a conflict's label
    resolution_reopened = "resolution_reopened"
    invitation_sent = "invitation_sent"
    invitation_revoked = "invitation_revoked"
    webhook_created = "webhook_created"
    webhook_deleted = "webhook_deleted"


class Activity(SQLModel, table=True):
    __table_args__ = (
        Index("ix_activity_project_id", "project_id", "id"),  # paging, newest first
        Index("ix_activity_project_actor", "project_id", "actor_id", "id"),
        Index("ix_activity_project_action", "project_id", "action", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    # None: the worker (a model it activated, an automatic fine-tune) or a deleted account
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    action: str = Field(max_length=32)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ActivityPublic(SQLModel):
    id: int
    action: str
    actor_id: int | None
    actor_name: str | None = None
    target_type: str | None
    target_id: int | None
    details: dict[str, Any]
    created_at: datetime


class ActivityPage(BaseModel):
    data: list[ActivityPublic]
    next_cursor: int | None = Field(
        description="pass as `before` for the next (older) page; null: this is the last"
    )


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int
