"""The downloadable model archive of a version: weights (safetensors), TorchScript and ONNX
exports checked against PyTorch, labels, preprocessing, a model card and a standalone
`predict.py`. Built once per version, then kept in storage beside the version's files."""

import copy
import tempfile
import zipfile
from pathlib import Path

from sqlmodel import Session, col, select

from filament import __version__
from filament.db.models import Item, ItemStatus, ModelVersion, Project
from filament.encoders import finetuned_model, item_inputs
from filament.ml.backbones import load_embedder
from filament.ml.classifier import ClassifierModel
from filament.ml.export import export_files
from filament.serving import load_head
from filament.storage import Storage

ARCHIVE_FILE = "archive.zip"
SAMPLES = 4


def model_card(project: Project, model: ModelVersion, labels: list[str]) -> str:
    metrics = {k: v for k, v in model.metrics.items() if isinstance(v, int | float)}
    validation = "held-out split" if model.kind == "finetuned" else "stratified k-fold CV"
    lines = [
        f"# {project.name} — model v{model.version}",
        "",
        f"- task: {project.task.value}",
        f"- kind: {model.kind} (backbone {model.backbone}"
        + (f", fine-tuned in v{model.base_version}" if model.base_version else "")
        + ")",
        f"- labels ({len(labels)}): {', '.join(labels)}",
        f"- trained on {model.label_count} labeled items",
        f"- created: {model.created_at.isoformat()} by Filament {__version__}",
        "",
        f"## Metrics ({validation})",
        "",
        *[f"- {name}: {value:.4f}" for name, value in metrics.items()],
    ]
    return "\n".join(lines) + "\n"


def classifier_for(
    storage: Storage, project: Project, model: ModelVersion, weights_dir: Path | None
) -> ClassifierModel:
    """The whole network of a version: a fine-tuned model, or the head on its backbone."""
    if model.kind == "finetuned":
        return finetuned_model(storage, project.id or 0, model.version)
    head = load_head(storage, model)
    if model.base_version is None:
        return ClassifierModel.from_head(load_embedder(project.backbone, weights_dir), head)
    composed = copy.deepcopy(finetuned_model(storage, project.id or 0, model.base_version))
    composed.set_head(head)
    return composed.eval()


def ensure_archive(
    session: Session,
    storage: Storage,
    project: Project,
    model: ModelVersion,
    weights_dir: Path | None,
) -> str:
    """The storage key of the version's archive, built first if it is not there yet."""
    key = f"{model.storage_key}/{ARCHIVE_FILE}"
    if storage.exists(key):
        return key
    labels = model.metrics.get("labels") or project.labels
    samples = session.exec(
        select(Item)
        .where(Item.project_id == project.id, Item.status == ItemStatus.ready)
        .order_by(col(Item.id))
        .limit(SAMPLES)
    ).all()
    files = export_files(
        classifier_for(storage, project, model, weights_dir),
        load_embedder(project.backbone, weights_dir),
        list(labels),
        project.task.multilabel,
        item_inputs(storage, list(samples)),
        model_card(project, model, list(labels)),
    )
    with tempfile.TemporaryFile() as spool:  # archives of image models are hundreds of MB
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in sorted(files.items()):
                archive.writestr(name, data)
        spool.seek(0)
        storage.put_stream(key, spool)
    return key
