"""Scoring new inputs with the active model."""

import base64
import binascii
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, HTTPException, UploadFile, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from filament.api.body_limits import large_body
from filament.api.deps import ProjectMemberDep, SessionDep, SettingsDep, StorageDep
from filament.db.models import Project
from filament.models.pool_scores import active_model
from filament.storage import Storage
from filament.uploads.ingest import UploadRefused, check_text_length

router = APIRouter(prefix="/projects/{project_id}", tags=["score"])
# inputs per request (docs/security.md#limits); the body's bytes are capped by
# FILAMENT_MAX_SCORE_REQUEST_BYTES, each image by FILAMENT_MAX_IMAGE_PIXELS and each text by
# FILAMENT_MAX_TEXT_CHARS, the ingest settings
MAX_TEXTS = 1000
MAX_IMAGES = 256
MAX_URLS = 64


class ScoreRequest(BaseModel):
    type: Literal["text", "images", "urls"]
    texts: list[str] | None = Field(default=None, max_length=MAX_TEXTS)
    data: list[str] | None = Field(default=None, max_length=MAX_IMAGES)
    urls: list[str] | None = Field(default=None, max_length=MAX_URLS)


class ScoreResult(BaseModel):
    labels: list[str]
    scores: list[list[float]]
    model_version: int
    model_kind: str = Field(description="head (on frozen embeddings) or finetuned")


@router.post("/score", openapi_extra=large_body("score"))
def score(
    body: ScoreRequest,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ScoreResult:
    """Probabilities from the active model: one row per input, labels in project order."""
    from filament.models.serving import fetch_allowed_urls

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


@router.post("/score/files", openapi_extra=large_body("score"))
def score_files(
    files: Annotated[list[UploadFile], File(min_length=1, description="images to score")],
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ScoreResult:
    """Like /score, with images sent as multipart files."""
    if member.project.task.modality != "image":
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="This is a text project")
    if len(files) > MAX_IMAGES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"At most {MAX_IMAGES} images per request (got {len(files)})",
        )
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
    from filament.models.serving import check_images, score_inputs

    try:  # the ingest checks, before any model is loaded
        if project.task.modality == "image":
            check_images(inputs, settings.max_image_pixels)
        else:
            for number, text in enumerate(inputs):
                check_text_length(text, f"texts[{number}]", settings.max_text_chars)
    except UploadRefused as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
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
