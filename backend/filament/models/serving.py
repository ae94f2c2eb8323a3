"""Scoring new inputs with a stored model version (used by /score and the CLI)."""

from typing import Any

import numpy as np

from filament.cache import ProcessCache
from filament.core.errors import BadInput
from filament.db.models import ModelKind, ModelVersion, Project
from filament.ml import classifier
from filament.ml.embedder import load_embedder
from filament.ml.heads import HeadModel
from filament.models.encoders import encode, finetuned_model
from filament.storage import Storage
from filament.uploads import url_fetch
from filament.uploads.ingest import validate_image

_heads: ProcessCache[str, HeadModel] = ProcessCache("heads", 64)


def load_head(storage: Storage, model: ModelVersion) -> HeadModel:
    key = f"{model.storage_key}/head.npz"
    return _heads.get_or_load(key, lambda: HeadModel.from_bytes(storage.get_bytes(key)))


def check_images(images: list[bytes], max_pixels: int) -> None:
    """The ingest check (`validate_image`: formats, pixels before decoding) on images to score;
    UploadRefused names the bad input."""
    for number, data in enumerate(images):
        validate_image(data, f"input {number}", max_pixels)


def score_inputs(
    storage: Storage, project: Project, model: ModelVersion, inputs: list[Any], weights_dir: Any
) -> np.ndarray:
    """Probabilities for texts or encoded images (which passed `check_images`), by a head on
    its embedding generation or by a fine-tuned model end to end."""
    if model.kind == ModelKind.finetuned:
        finetuned = finetuned_model(storage, project.id or 0, model.version)
        embedder = load_embedder(model.backbone, weights_dir)
        return classifier.predict_proba(finetuned, embedder, inputs)
    vectors = encode(storage, project, inputs, weights_dir, model.base_version)
    return load_head(storage, model).predict_proba(vectors)


def fetch_allowed_urls(urls: list[str], allowed_hosts: list[str]) -> list[bytes]:
    """Download images only from configured public hosts (see filament.uploads.url_fetch)."""
    try:
        return [url_fetch.fetch(url, allowed_hosts) for url in urls]
    except url_fetch.UrlRefused as refused:
        raise BadInput(str(refused)) from None
