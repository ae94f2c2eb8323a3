"""The network a project's inputs go through: its pretrained backbone, or the backbone of a
fine-tuned version once one is active (the embedding "generation")."""

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from filament.cache import ProcessCache
from filament.db.models import Item, ItemKind, Project
from filament.ml import classifier
from filament.ml.embedder import ProgressFn, load_embedder
from filament.models.artifacts import model_prefix
from filament.storage import Storage

FINETUNED_FILE = "finetuned.safetensors"

_load_lock = threading.Lock()  # one load at a time: a model is large and slow to read
_models: ProcessCache[str, classifier.ClassifierModel] = ProcessCache("fine-tuned models", 4)


def finetuned_model(storage: Storage, project_id: int, version: int) -> classifier.ClassifierModel:
    """A stored fine-tuned model, loaded once per process."""
    key = f"{model_prefix(project_id, version)}/{FINETUNED_FILE}"
    if (found := _models.get(key)) is not None:
        return found
    with _load_lock:
        return _models.get_or_load(key, lambda: classifier.load_model(storage.get_bytes(key)))


def encode(
    storage: Storage,
    project: Project,
    inputs: Sequence[str] | Sequence[bytes],
    weights_dir: Path | None,
    generation: int | None,
    on_progress: ProgressFn | None = None,
) -> np.ndarray:
    """L2-normalised embeddings of texts or encoded images, by the given generation;
    `on_progress(done, total)` after each forward batch (a job's progress bar moves per batch,
    not per chunk of hundreds of items)."""
    embedder = load_embedder(project.backbone, weights_dir)
    if generation is not None:
        model = finetuned_model(storage, project.id or 0, generation)
        return classifier.embed(model, embedder, inputs, on_progress=on_progress)
    if project.task.modality == "text":
        return embedder.embed_texts(inputs, on_progress=on_progress)  # type: ignore[arg-type]
    return embedder.embed_images(inputs, on_progress=on_progress)  # type: ignore[arg-type]


def item_inputs(storage: Storage, items: Sequence[Item]) -> list[str] | list[bytes]:
    """What a model reads for each item: its text, or its image bytes."""
    if items and items[0].kind == ItemKind.text:
        return [item.text or "" for item in items]
    return [storage.get_bytes(item.storage_key or "") for item in items]
