"""What the server answers, as typed dataclasses.

Each one names the OpenAPI schema it reads (`SCHEMA`): the server may add fields (the REST
contract allows it), which land in `raw` only; the SDK's contract test checks that every field
declared here is still in that schema, so the two cannot drift apart silently."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import UnionType
from typing import Any, ClassVar, Self, TypeVar

M = TypeVar("M", bound="Model")
FINISHED_JOB_STATUSES = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class Model:
    SCHEMA: ClassVar[str] = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        hints = typing.get_type_hints(cls)
        values = {
            f.name: _convert(hints[f.name], data[f.name])
            for f in fields(cls)
            if f.name != "raw" and f.name in data
        }
        return cls(**values, raw=data)


def _convert(hint: Any, value: Any) -> Any:
    """JSON values into the declared types: datetimes, nested models, lists of them."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (inner,) = typing.get_args(hint)
        return [_convert(inner, entry) for entry in value]
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint.from_json(value)
    return value


@dataclass(frozen=True)
class User(Model):
    SCHEMA = "UserPublic"
    id: int
    email: str
    name: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class ApiToken(Model):
    """A personal API token; `token` (the secret) only in the answer that created it."""

    SCHEMA = "ApiTokenCreated"
    id: int
    name: str
    created_at: datetime | None = None
    expires_at: datetime | None = None
    token: str | None = None


@dataclass(frozen=True)
class Prediction(Model):
    SCHEMA = "Prediction"
    labels: list[str]
    scores: dict[str, float]
    model_version: int


@dataclass(frozen=True)
class Item(Model):
    SCHEMA = "ItemPublic"
    id: int
    name: str
    kind: str
    text: str | None = None
    dataset: str | None = None
    status: str | None = None
    labels: list[str] | None = None
    prediction: Prediction | None = None
    uncertainty: float | None = None


@dataclass(frozen=True)
class Job(Model):
    SCHEMA = "JobPublic"
    id: int
    type: str
    status: str
    project_id: int | None = None
    progress: float = 0.0
    message: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # while running, from the rate measured since the job started; None until there is one
    rate_per_second: float | None = None
    eta_seconds: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES


@dataclass(frozen=True)
class TrainingProgress(Model):
    SCHEMA = "TrainingProgress"
    type: str
    progress: float
    message: str
    eta_seconds: float | None = None


@dataclass(frozen=True)
class Status(Model):
    """A project's counts, whether it trains, and its active model (`GET .../status`)."""

    SCHEMA = "ProjectStatus"
    items_total: int
    items_ready: int
    labeled: int
    training: bool
    model_version: int | None
    labels_in_model: int | None
    metrics: dict[str, Any] | None
    unlabeled: int = 0
    suggested: int = 0
    training_progress: TrainingProgress | None = None


@dataclass(frozen=True)
class ModelVersion(Model):
    SCHEMA = "ModelVersionPublic"
    version: int
    kind: str
    backbone: str
    label_count: int
    metrics: dict[str, Any]
    status: str
    active: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class ScoreResult(Model):
    """One row of probabilities per input, `labels` in the project's order."""

    SCHEMA = "ScoreResult"
    labels: list[str]
    scores: list[list[float]]
    model_version: int
    model_kind: str = ""

    def top_labels(self) -> list[str]:
        """The most probable label of each input."""
        return [self.labels[max(range(len(row)), key=row.__getitem__)] for row in self.scores]


@dataclass(frozen=True)
class UploadedFile(Model):
    SCHEMA = "UploadedFile"
    name: str
    size: int


@dataclass(frozen=True)
class Upload(Model):
    """An accepted upload: the ingest job that reads it (`Project.wait_for_job`)."""

    SCHEMA = "UploadAccepted"
    job_id: int
    dataset: str
    files: list[UploadedFile] = field(default_factory=list)


def page_of(model: type[M], body: dict[str, Any]) -> list[M]:
    """The `data` of a `Page` answer as models."""
    return [model.from_json(entry) for entry in body["data"]]
