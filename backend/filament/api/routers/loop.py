"""The learning loop over REST: queue, suggestions, status, model versions, scoring."""

import base64
import binascii
from typing import Annotated, Any, Literal

import anyio.from_thread
import numpy as np
from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from filament import jobs
from filament.api.cache import cached
from filament.api.deps import ProjectMemberDep, ProjectWriter, SessionDep, SettingsDep, StorageDep
from filament.api.routers.annotations import labels_changed, save_annotation, validate_labels
from filament.artifacts import Scores, load_embeddings
from filament.db.models import (
    Annotation,
    AnnotationSource,
    Item,
    ItemPublic,
    Job,
    JobPublic,
    JobStatus,
    ModelVersion,
    ModelVersionPublic,
    Page,
    Project,
    User,
)
from filament.ml.strategies import STRATEGIES
from filament.queue import (
    claim,
    finished_items,
    free_slots,
    lease,
    leased_to_others,
    my_leases,
    pick,
)
from filament.scoring import active_model, active_scores, predicted_labels, predictions_for
from filament.storage import Storage
from filament.versions import get_version

router = APIRouter(prefix="/projects/{project_id}", tags=["learning loop"])
CLAIM_ROUNDS = 5


class QueuePage(BaseModel):
    data: list[ItemPublic]
    strategy: str
    cold_start: bool


def _items_public(
    session: Session, project: Project, ids: list[int], scores: Scores | None
) -> list[ItemPublic]:
    rows = {item.id: item for item in session.exec(select(Item).where(col(Item.id).in_(ids)))}
    predictions = predictions_for(scores, project, ids)
    answer = []
    for item_id in ids:
        item = rows.get(item_id)
        if item is None:
            continue  # deleted since it was embedded
        public = ItemPublic(id=item_id, name=item.name, kind=item.kind, text=item.text)
        if item_id in predictions:
            public.prediction, public.uncertainty = predictions[item_id]
        answer.append(public)
    return answer


@router.get("/queue")
def next_items(
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    strategy: Annotated[str | None, Query(description=f"one of {', '.join(STRATEGIES)}")] = None,
    exclude: Annotated[
        str | None, Query(description="comma-separated ids the client holds")
    ] = None,
) -> QueuePage:
    """The next items to label, leased to the caller: first their own unexpired leases (minus
    `exclude`), then new items chosen by the strategy (default: the project's)."""
    project = writer.project
    strategy = strategy or project.strategy
    if strategy not in STRATEGIES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}",
        )
    held = _parse_ids(exclude)
    user_id = writer.user.id or 0
    scores = active_scores(session, storage, project)
    redis = request.app.state.redis
    mine = [i for i in my_leases(session, project, user_id) if i not in held][:limit]
    finished = cached(
        redis,
        writer.id,
        ("finished", user_id, project.annotations_per_item),
        lambda: finished_items(session, project, user_id),
    )
    blocked = np.concatenate(
        [
            finished,
            leased_to_others(session, project, user_id),
            np.array([*held, *mine], dtype=np.int64),
        ]
    )
    embeddings = load_embeddings(storage, writer.id, project.embedding_version)
    rng = np.random.default_rng([user_id, len(blocked), int(project.id or 0)])
    won: list[int] = []
    for round_ in range(CLAIM_ROUNDS):
        # annotators asking at the same moment compute the same picks and race for them: the
        # losers pick again among twice as many, so they spread out instead of racing again
        wanted = limit - len(mine) - len(won)
        if wanted <= 0:
            break
        candidates = pick(embeddings, scores, project, blocked, wanted << round_, strategy, rng)
        if not candidates.item_ids:
            break
        slots = free_slots(session, project, candidates.item_ids)
        won += claim(redis, project, user_id, candidates.item_ids, slots, wanted)
        blocked = np.concatenate([blocked, np.array(candidates.item_ids, dtype=np.int64)])
    ids = mine + won
    lease(session, project, user_id, ids)
    return QueuePage(
        data=_items_public(session, project, ids, scores),
        strategy=strategy,
        cold_start=scores is None,
    )


def _parse_ids(text: str | None) -> set[int]:
    if not text:
        return set()
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="exclude must be comma-separated item ids"
        ) from error


# --- suggestions ------------------------------------------------------------------------------


class Suggestion(BaseModel):
    id: int
    name: str
    kind: str
    text: str | None = None
    label: str | None
    labels: list[str]
    confidence: float


class SuggestionPage(BaseModel):
    data: list[Suggestion]
    target_precision: float
    calibrated_precision: float | None = None
    threshold: float | dict[str, float | None] | None = None
    qualifying: int = 0
    model_version: int | None = None
    detail: str | None = None


def confident_rows(
    model: ModelVersion, scores: Scores, project: Project, unlabeled: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `scores` (among `unlabeled`) the model is confident about, and their confidence."""
    calibration = model.metrics.get("calibration", {})
    rows = scores.rows_of(unlabeled)
    rows = rows[rows >= 0]
    probs = scores.probs[rows]
    if probs.shape[1] != len(project.labels):
        return rows[:0], np.zeros(0)
    if project.task.multilabel:
        per_label = calibration.get("per_label", {})
        thresholds = np.array(
            [(per_label.get(label) or {}).get("threshold") or np.inf for label in project.labels]
        )
        decision = np.maximum(probs, 1 - probs)
        confident = (decision >= thresholds).all(axis=1)
        confidence = decision.min(axis=1)
    else:
        threshold = calibration.get("threshold")
        confidence = probs.max(axis=1)
        confident = confidence >= (threshold if threshold is not None else np.inf)
    return rows[confident], confidence[confident]


def unlabeled_ids(session: Session, scores: Scores, project_id: int) -> np.ndarray:
    labeled = session.exec(
        select(Item.id).where(Item.project_id == project_id, col(Item.n_annotations) > 0)
    ).all()
    return np.setdiff1d(scores.item_ids, np.array(labeled, dtype=np.int64))


@router.get("/suggestions")
def suggestions(
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    label: str | None = None,
) -> SuggestionPage:
    """Unlabeled items the model labels confidently, for one-click confirmation. The threshold
    is calibrated on cross-validated predictions to the project's target precision."""
    project = member.project
    target = project.suggestion_precision
    model = active_model(session, member.id)
    if model is None:
        return SuggestionPage(data=[], target_precision=target, detail="No model yet")
    if label is not None and label not in project.labels:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"Unknown label {label!r}"
        )
    scores = active_scores(session, storage, project)
    assert scores is not None
    rows, confidence = confident_rows(
        model, scores, project, unlabeled_ids(session, scores, member.id)
    )
    calibration = model.metrics.get("calibration", {})
    predicted = [predicted_labels(scores.probs[row], project) for row in rows]
    if label is not None:
        keep = np.array([label in labels for labels in predicted], dtype=bool)
        rows, confidence = rows[keep], confidence[keep]
        predicted = [p for p, k in zip(predicted, keep, strict=True) if k]
    order = np.argsort(-confidence, kind="stable")[:limit]
    ids = scores.item_ids[rows[order]].tolist()
    items = {item.id: item for item in session.exec(select(Item).where(col(Item.id).in_(ids)))}
    data = []
    for position, item_id in zip(order, ids, strict=True):
        item = items.get(item_id)
        if item is None:
            continue
        labels = predicted[position]
        data.append(
            Suggestion(
                id=item_id,
                name=item.name,
                kind=item.kind,
                text=item.text,
                label=labels[0] if labels else None,
                labels=labels,
                confidence=round(float(confidence[position]), 4),
            )
        )
    if project.task.multilabel:
        per_label = calibration.get("per_label", {})
        threshold: Any = {name: (c or {}).get("threshold") for name, c in per_label.items()}
        precisions = [c.get("precision") for c in per_label.values() if c and c.get("precision")]
        achieved = min(precisions) if precisions else None
    else:
        threshold, achieved = calibration.get("threshold"), calibration.get("precision")
    return SuggestionPage(
        data=data,
        target_precision=target,
        calibrated_precision=achieved,
        threshold=threshold,
        qualifying=len(rows),
        model_version=model.version,
        detail=None if len(rows) else "No item reaches the calibrated confidence yet",
    )


class ReviewItem(BaseModel):
    item_id: int
    accept: bool
    labels: list[str] | None = None


class Review(BaseModel):
    items: list[ReviewItem] = Field(max_length=1000)


class ReviewResult(BaseModel):
    accepted: int
    corrected: int
    rejected: int


@router.post("/suggestions/review")
def review_suggestions(
    body: Review,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ReviewResult:
    """Accept suggestions (labels from the active model, source `suggestion`), or correct them
    (the given labels, source `human`), or reject them (nothing is recorded)."""
    project = writer.project
    scores = active_scores(session, storage, project)
    ids = [entry.item_id for entry in body.items]
    items = {
        item.id: item
        for item in session.exec(
            select(Item).where(col(Item.id).in_(ids), Item.project_id == writer.id)
        )
    }
    missing = [i for i in ids if i not in items]
    if missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Items not found: {missing[:10]}")
    predictions = predictions_for(scores, project, ids)
    result = ReviewResult(accepted=0, corrected=0, rejected=0)
    user_id = writer.user.id or 0
    for entry in body.items:
        if entry.labels is not None:
            labels = validate_labels(project, entry.labels)
            save_annotation(session, items[entry.item_id], user_id, labels, AnnotationSource.human)
            result.corrected += 1
        elif entry.accept:
            if entry.item_id not in predictions:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    detail=f"Item {entry.item_id} has no prediction to accept",
                )
            labels = predictions[entry.item_id][0].labels
            save_annotation(
                session, items[entry.item_id], user_id, labels, AnnotationSource.suggestion
            )
            result.accepted += 1
        else:
            result.rejected += 1
    session.commit()
    if result.accepted or result.corrected:
        labels_changed(request, writer.id, settings)
    return result


# --- status and models ------------------------------------------------------------------------


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
    total, ready, labeled = cached(
        redis,
        member.id,
        ("counts",),
        lambda: tuple(
            session.exec(
                select(
                    func.count(),
                    func.count().filter(Item.status == "ready"),
                    func.count().filter(col(Item.n_annotations) > 0),
                ).where(Item.project_id == member.id)
            ).one()
        ),
    )
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


@router.get("/models/{version}/download", response_class=StreamingResponse)
def download_model(
    version: int,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """The model archive: safetensors weights, TorchScript and ONNX exports (checked against
    PyTorch), labels, preprocessing, a model card and a standalone `predict.py`. The first
    download of a version builds it (seconds to a minute), later ones are read from storage."""
    from filament.ml.export import ExportError
    from filament.model_archive import build_archive

    model = get_model(session, member.id, version)
    try:
        archive = build_archive(session, storage, member.project, model, settings.weights_dir)
    except ExportError as error:
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR, detail=f"Exporting the model failed: {error}"
        ) from error
    filename = f"filament-project-{member.id}-v{version}.zip"
    return StreamingResponse(
        iter([archive]),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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


# --- scoring ----------------------------------------------------------------------------------


class ScoreRequest(BaseModel):
    type: Literal["text", "images", "urls"]
    texts: list[str] | None = Field(default=None, max_length=1000)
    data: list[str] | None = Field(default=None, max_length=256)
    urls: list[str] | None = Field(default=None, max_length=64)


class ScoreResult(BaseModel):
    labels: list[str]
    scores: list[list[float]]
    model_version: int
    model_kind: str = Field(description="head (on frozen embeddings) or finetuned")


@router.post("/score")
def score(
    body: ScoreRequest,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ScoreResult:
    """Probabilities from the active model: one row per input, labels in project order."""
    from filament.serving import fetch_allowed_urls

    project = member.project
    if body.type == "text":
        if project.task.modality != "text" or not body.texts:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                detail="Send {type: 'text', texts: [...]} to a text project",
            )
        inputs: list[str] | list[bytes] = body.texts
    else:
        if project.task.modality != "image":
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                detail="This is a text project: send {type: 'text', texts: [...]}",
            )
        if body.type == "images":
            inputs = [_b64(value, n) for n, value in enumerate(body.data or [])]
        else:
            inputs = fetch_allowed_urls(body.urls or [], settings.score_url_hosts)
        if not inputs:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="No images to score")
    return _score(session, storage, project, inputs, settings)


@router.post("/score/files")
def score_files(
    files: Annotated[list[UploadFile], File(description="images to score")],
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ScoreResult:
    """Like /score, with images sent as multipart files."""
    if member.project.task.modality != "image":
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="This is a text project")
    return _score(session, storage, member.project, [f.file.read() for f in files], settings)


def _b64(value: str, number: int) -> bytes:
    try:
        return base64.b64decode(
            value.split(",", 1)[-1] if value.startswith("data:") else value, validate=True
        )
    except (binascii.Error, ValueError) as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"data[{number}] is not valid base64"
        ) from error


def _score(
    session: Session, storage: Storage, project: Project, inputs: list[Any], settings: SettingsDep
) -> ScoreResult:
    from filament.serving import score_inputs

    model = active_model(session, project.id or 0)
    if model is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="This project has no model yet: label a few items first",
        )
    try:
        probs = score_inputs(storage, project, model, inputs, settings.weights_dir)
    except ValueError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(error)) from error
    return ScoreResult(
        labels=project.labels[: probs.shape[1]],
        scores=np.round(probs, 6).tolist(),
        model_version=model.version,
        model_kind=model.kind,
    )
