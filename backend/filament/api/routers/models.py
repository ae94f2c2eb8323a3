"""Project status, model versions, their archives, and fine-tuning on request."""

from pathlib import Path
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from filament import jobs
from filament.api.deps import (
    Membership,
    ProjectMemberDep,
    ProjectWriter,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from filament.api.routers.projects import item_counts
from filament.cache import cached
from filament.core.security import create_download_token, decode_download_token
from filament.db.models import (
    Annotation,
    Job,
    JobPublic,
    JobStatus,
    ModelVersion,
    ModelVersionPublic,
    Page,
    User,
)
from filament.scoring import active_model, active_scores, confident_rows, unlabeled_ids
from filament.storage import Storage
from filament.versions import get_version

router = APIRouter(prefix="/projects/{project_id}", tags=["models"])
DOWNLOAD_LINK_SECONDS = 300


class AnnotatorCount(BaseModel):
    user_id: int | None
    name: str
    count: int


class TrainingProgress(BaseModel):
    type: str
    progress: float
    message: str


class ProjectStatus(BaseModel):
    items_total: int
    items_ready: int
    labeled: int
    unlabeled: int
    suggested: int
    training: bool
    training_progress: TrainingProgress | None = None
    model_version: int | None
    labels_in_model: int | None
    metrics: dict[str, Any] | None
    annotators: list[AnnotatorCount]


@router.get("/status")
def project_status(
    request: Request, member: ProjectMemberDep, session: SessionDep, storage: StorageDep
) -> ProjectStatus:
    project = member.project
    redis = request.app.state.redis
    # counts scan the project's items: cached until its items or annotations change
    total, ready, labeled = item_counts(redis, session, member.id)
    model = active_model(session, member.id)
    suggested = 0
    if model is not None:
        scores = active_scores(session, storage, project)
        assert scores is not None
        suggested = cached(
            redis,
            member.id,
            ("suggested", model.version),
            lambda: len(
                confident_rows(model, scores, project, unlabeled_ids(session, scores, member.id))[0]
            ),
        )
    running = session.exec(
        select(Job)
        .where(
            Job.project_id == member.id, col(Job.status).in_([JobStatus.queued, JobStatus.running])
        )
        .order_by(col(Job.id).desc())
    ).first()
    head_busy = any(
        redis.exists(key)
        for key in (
            jobs.pending_key(jobs.TRAIN_HEAD, member.id),
            jobs.running_key(jobs.TRAIN_HEAD, member.id),
        )
    )
    annotators = cached(
        redis,
        member.id,
        ("annotators",),
        lambda: session.exec(
            select(Annotation.user_id, User.name, User.email, func.count())
            .outerjoin(User, col(User.id) == Annotation.user_id)
            .where(Annotation.project_id == member.id)
            .group_by(col(Annotation.user_id), col(User.name), col(User.email))
        ).all(),
    )
    return ProjectStatus(
        items_total=total,
        items_ready=ready,
        labeled=labeled,
        unlabeled=total - labeled,
        suggested=suggested,
        training=head_busy or running is not None,
        training_progress=TrainingProgress(
            type=running.type, progress=running.progress, message=running.message
        )
        if running
        else None,
        model_version=model.version if model else None,
        labels_in_model=model.label_count if model else None,
        metrics=model.metrics if model else None,
        annotators=[
            AnnotatorCount(user_id=uid, name=name or email or "import", count=n)
            for uid, name, email, n in annotators
        ],
    )


@router.get("/models")
def list_models(member: ProjectMemberDep, session: SessionDep) -> Page[ModelVersionPublic]:
    rows = session.exec(
        select(ModelVersion)
        .where(ModelVersion.project_id == member.id)
        .order_by(col(ModelVersion.version))
    ).all()
    return Page(data=[ModelVersionPublic.model_validate(row) for row in rows], count=len(rows))


def get_model(session: Session, project_id: int, version: int) -> ModelVersion:
    model = get_version(session, project_id, version)
    if model is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Model version {version} not found")
    return model


def _archive_key(
    session: Session, storage: Storage, member: Membership, version: int, weights_dir: Path | None
) -> str:
    from filament.ml.export import ExportError
    from filament.model_archive import ensure_archive

    model = get_model(session, member.id, version)
    try:
        return ensure_archive(session, storage, member.project, model, weights_dir)
    except ExportError as error:
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR, detail=f"Exporting the model failed: {error}"
        ) from error


def archive_response(storage: Storage, key: str, project_id: int, version: int) -> Response:
    """The archive streamed from storage (a redirect to a presigned URL on S3)."""
    url = storage.presigned_get(key, seconds=600)
    if url:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    filename = f"filament-project-{project_id}-v{version}.zip"
    return StreamingResponse(
        storage.iter_chunks(key),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/models/{version}/download", response_class=StreamingResponse)
def download_model(
    version: int,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> Response:
    """The model archive: safetensors weights, TorchScript and ONNX exports (checked against
    PyTorch), labels, preprocessing, a model card and a standalone `predict.py`. The first
    download of a version builds it (seconds to a minute), later ones are read from storage."""
    key = _archive_key(session, storage, member, version, settings.weights_dir)
    return archive_response(storage, key, member.id, version)


class DownloadLink(BaseModel):
    url: str
    expires_in: int


@router.post("/models/{version}/download-link")
def download_link(
    version: int,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DownloadLink:
    """A short-lived URL that downloads the archive without an Authorization header, so a
    browser can save a large archive straight to disk. Builds the archive first if needed."""
    _archive_key(session, storage, member, version, settings.weights_dir)
    token = create_download_token(
        member.id, version, settings.resolved_secret_key(), DOWNLOAD_LINK_SECONDS
    )
    return DownloadLink(url=f"/api/v1/downloads/{token}", expires_in=DOWNLOAD_LINK_SECONDS)


@router.post("/finetune", status_code=status.HTTP_202_ACCEPTED)
def finetune_now(request: Request, writer: ProjectWriter, session: SessionDep) -> JobPublic:
    """Fine-tune the whole backbone on the labels now: on a GPU worker when one is connected,
    else as a short CPU run. The new version becomes active only if it validates better."""
    from filament.finetuning import create_finetune_job, enqueue_finetune, running_finetune

    if (busy := running_finetune(session, writer.id)) is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"Fine-tuning is already {busy.status.value} for this project (job {busy.id})",
        )
    arq = request.app.state.arq
    gpu = anyio.from_thread.run(jobs.gpu_worker_connected, arq)
    job = create_finetune_job(session, writer.id, writer.user.id, gpu, "requested")
    anyio.from_thread.run(enqueue_finetune, arq, job.id or 0, gpu)
    return JobPublic.model_validate(job)


downloads = APIRouter(prefix="/downloads", tags=["models"])


@downloads.get("/{token}", response_class=StreamingResponse)
def download_by_link(
    token: str, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> Response:
    """A model archive by a link from `download-link` (no Authorization header needed)."""
    from filament.model_archive import ARCHIVE_FILE

    ticket = decode_download_token(token, settings.resolved_secret_key())
    model = get_version(session, *ticket) if ticket else None
    if ticket is None or model is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="This download link is invalid or expired"
        )
    return archive_response(storage, f"{model.storage_key}/{ARCHIVE_FILE}", *ticket)
