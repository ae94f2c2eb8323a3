"""Project status, model versions, their archives, and fine-tuning on request."""

from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from filament import jobs
from filament.api.deps import (
    MODEL_READERS,
    Membership,
    ModelReader,
    ProjectMemberDep,
    ProjectOwner,
    SessionDep,
    StorageDep,
)
from filament.api.enqueue import enqueue
from filament.api.params import ModelVersionNumber
from filament.api.responses import ErrorDetail
from filament.cache import cached
from filament.core import download_tickets
from filament.core.rates import measured_rate
from filament.db.models import (
    Annotation,
    JobPublic,
    JobStatus,
    ModelVersion,
    ModelVersionPublic,
    Page,
    ProjectMember,
    User,
)
from filament.jobs import rows as job_rows
from filament.labeling.consensus import conflict_counts
from filament.labeling.items import item_counts
from filament.models.archive_variants import ALL, ArchiveFormat, ArchiveVariant, Quantize
from filament.models.pool_scores import active_model, active_scores, confident_rows, unlabeled_ids
from filament.models.versions import get_version
from filament.storage import Storage

router = APIRouter(prefix="/projects/{project_id}", tags=["models"])


class AnnotatorCount(BaseModel):
    user_id: int | None
    name: str
    count: int


class TrainingProgress(BaseModel):
    type: str
    progress: float
    message: str
    eta_seconds: float | None = Field(
        None,
        description="seconds left at the rate measured since the job started; null "
        "until there is a rate",
    )


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
    conflicts: int = Field(
        0, description="items whose annotations differ and that no reviewer resolved yet"
    )
    conflicts_tied: int = Field(
        0,
        description="of those, items without a majority: left out of training until resolved",
    )
    conflicts_resolved: int = Field(0, description="items a reviewer resolved")


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
    conflicts = cached(
        redis, member.id, ("conflict-counts",), lambda: conflict_counts(session, project)
    )
    running = job_rows.latest_unfinished(session, member.id)
    head_busy = jobs.asked_or_running(redis, jobs.TRAIN_HEAD, member.id)
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
            type=running.type,
            progress=running.progress,
            message=running.message,
            eta_seconds=measured_rate(running.started_at, running.progress).eta_seconds
            if running.status == JobStatus.running
            else None,
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
        conflicts=conflicts.open,
        conflicts_tied=conflicts.tied,
        conflicts_resolved=conflicts.resolved,
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


class ArchiveBuilding(BaseModel):
    """The answer while a version's archive is being built: poll again, or follow the job."""

    detail: str
    job: JobPublic


ARCHIVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ArchiveBuilding,
        "description": "The archive is being built (once per version, by a worker): repeat the "
        "request after `Retry-After` seconds, or follow the job at `Location`",
    },
    409: {
        "model": ErrorDetail,
        "description": "Building the archive failed; `detail` says why (retried later). For "
        "`quantize=int8`: the int8 model is not within the tolerance on this version's labeled "
        "items (`detail` has the measured accuracy and agreement; not retried)",
    },
    422: {
        "model": ErrorDetail,
        "description": "An unknown `format`, or `quantize` with a format other than `onnx`",
    },
}

FormatQuery = Annotated[
    ArchiveFormat,
    Query(
        alias="format",
        description="What the archive holds: `onnx` (with `predict.py`, needs onnxruntime; "
        "what the SPA, SDK and CLI ask for by default), `torchscript`, `safetensors` (PyTorch "
        "weights), or `all` three (about 3x the size). Absent: `all`, the archive as it was "
        "before this parameter existed.",
    ),
]
QuantizeQuery = Annotated[
    Quantize | None,
    Query(
        description="`int8`: ONNX with int8 weights (onnxruntime dynamic quantization, about "
        "4x smaller), offered only when its accuracy on the project's held-out (audit) labels, "
        "or else its labeled items, is within 1 point of the float model's and it agrees with "
        "it on at least 99% of them; `format=onnx` only"
    ),
]


def archive_variant(archive_format: ArchiveFormat, quantize: Quantize | None) -> ArchiveVariant:
    try:
        return ArchiveVariant(archive_format, quantize)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error


def _archive_or_building(
    request: Request,
    session: Session,
    storage: Storage,
    member: Membership,
    version: int,
    variant: ArchiveVariant = ALL,
) -> str | JSONResponse:
    """The storage key of the version's archive, or a 202 while a worker builds it."""
    from filament.models.archive import archive_key, build_job_id, claim_archive_build, refusal

    model = get_model(session, member.id, version)
    key = archive_key(model, variant)
    if storage.exists(key):
        return key
    refused = refusal(storage, model, variant)
    if refused is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=refused["reason"])
    job, created = claim_archive_build(
        session, request.app.state.redis, member.id, version, member.user.id, variant
    )
    if job.status == JobStatus.failed:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"Building the archive failed: {job.message}"
        )
    if created:
        job_id = build_job_id(member.id, version, variant)
        enqueue(request, jobs.BUILD_ARCHIVE, job.id or 0, job_id=job_id)
    public = JobPublic.model_validate(job)
    return JSONResponse(
        ArchiveBuilding(
            detail=f"The archive of v{version} is being built ({public.progress:.0%}): "
            "try again in a few seconds",
            job=public,
        ).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Retry-After": "2", "Location": f"/api/v1/jobs/{job.id}"},
    )


def archive_response(
    storage: Storage, key: str, project_id: int, version: int, variant: ArchiveVariant = ALL
) -> Response:
    """The archive streamed from storage (a redirect to a presigned URL on S3)."""
    url = storage.presigned_get(key, seconds=600)
    if url:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    filename = f"filament-project-{project_id}-v{version}{variant.suffix}.zip"
    return StreamingResponse(
        storage.iter_chunks(key),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/models/{version}/download", response_class=StreamingResponse, responses=ARCHIVE_RESPONSES
)
def download_model(
    version: ModelVersionNumber,
    request: Request,
    member: ModelReader,
    session: SessionDep,
    storage: StorageDep,
    archive_format: FormatQuery = ArchiveFormat.all,
    quantize: QuantizeQuery = None,
) -> Response:
    """The model archive: the chosen format's model (ONNX, TorchScript or safetensors weights;
    exports checked against PyTorch), labels, preprocessing, a model card, `manifest.json` and a
    standalone `predict.py` for that format; `format=all` (the default) holds all three. The
    first request for a version and variant starts building it on a worker (seconds to a
    minute) and answers 202; repeat the request until it answers 200 (or 307 to storage)."""
    variant = archive_variant(archive_format, quantize)
    key = _archive_or_building(request, session, storage, member, version, variant)
    if isinstance(key, Response):
        return key
    return archive_response(storage, key, member.id, version, variant)


class DownloadLink(BaseModel):
    url: str
    expires_in: int


@router.post(
    "/models/{version}/download-link", response_model=DownloadLink, responses=ARCHIVE_RESPONSES
)
def download_link(
    version: ModelVersionNumber,
    request: Request,
    member: ModelReader,
    session: SessionDep,
    storage: StorageDep,
    archive_format: FormatQuery = ArchiveFormat.all,
    quantize: QuantizeQuery = None,
) -> DownloadLink | JSONResponse:
    """A one-time URL, valid for a minute, that downloads the archive without an Authorization
    header, so a browser can save a large archive straight to disk. It works once, and only
    while the caller may still download the project's models. 202 while the archive is being
    built."""
    variant = archive_variant(archive_format, quantize)
    building = _archive_or_building(request, session, storage, member, version, variant)
    if isinstance(building, Response):
        return building
    assert member.user.id is not None
    ticket = download_tickets.issue(
        request.app.state.redis, member.user.id, member.id, version, variant.name
    )
    return DownloadLink(
        url=f"/api/v1/downloads?ticket={ticket}", expires_in=download_tickets.TICKET_SECONDS
    )


@router.post("/finetune", status_code=status.HTTP_202_ACCEPTED)
def finetune_now(request: Request, owner: ProjectOwner, session: SessionDep) -> JobPublic:
    """Fine-tune the whole backbone on the labels now: on a GPU worker when one is connected,
    else as a short CPU run. The new version becomes active only if it validates better."""
    from filament.models.finetuning import enqueue_finetune, start_finetune_job

    arq = request.app.state.arq
    gpu = anyio.from_thread.run(jobs.gpu_worker_connected, arq)
    job, started = start_finetune_job(
        session, request.app.state.redis, owner.id, owner.user.id, gpu, "requested"
    )
    if not started:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"Fine-tuning is already {job.status.value} for this project (job {job.id})",
        )
    anyio.from_thread.run(enqueue_finetune, arq, job.id or 0, gpu)
    return JobPublic.model_validate(job)


downloads = APIRouter(prefix="/downloads", tags=["models"])


@downloads.get("", response_class=StreamingResponse)
def download_by_ticket(
    request: Request,
    ticket: Annotated[str, Query(max_length=100, description="from `download-link`")],
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    """A model archive by a one-time link from `download-link` (no Authorization header)."""
    from filament.models.archive import archive_key

    claims = download_tickets.redeem(request.app.state.redis, ticket)
    user = session.get(User, claims[0]) if claims else None
    member = session.get(ProjectMember, (claims[1], claims[0])) if claims else None
    model = get_version(session, claims[1], claims[2]) if claims else None
    if (
        claims is None
        or user is None
        or user.disabled
        or member is None
        or member.role not in MODEL_READERS
        or model is None
    ):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="This download link is invalid, used or expired"
        )
    variant = ArchiveVariant.from_name(claims[3])
    response = archive_response(storage, archive_key(model, variant), *claims[1:3], variant)
    response.headers["Cache-Control"] = "no-store"
    return response


@downloads.get("/{ticket}", response_class=StreamingResponse, deprecated=True)
def download_by_link(
    request: Request,
    ticket: Annotated[str, PathParam(max_length=100)],
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    """The earlier form of the link, with the ticket in the path; same rules."""
    return download_by_ticket(request, ticket, session, storage)
