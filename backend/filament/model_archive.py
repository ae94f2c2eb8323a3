"""The downloadable model archive: weights, label map, preprocessing, a model card."""

import io
import json
import zipfile

from filament import __version__
from filament.db.models import ModelVersion, Project
from filament.ml.backbones import get_spec
from filament.storage import Storage


def model_card(project: Project, model: ModelVersion) -> str:
    metrics = {k: v for k, v in model.metrics.items() if isinstance(v, int | float)}
    lines = [
        f"# {project.name} — model v{model.version}",
        "",
        f"- task: {project.task.value}",
        f"- kind: {model.kind} (backbone {model.backbone})",
        f"- labels ({len(project.labels)}): {', '.join(project.labels)}",
        f"- trained on {model.label_count} labeled items",
        f"- created: {model.created_at.isoformat()} by Filament {__version__}",
        "",
        "## Metrics (cross-validated)",
        "",
        *[f"- {name}: {value:.4f}" for name, value in metrics.items()],
        "",
        "## Files",
        "",
        "- `head.npz`: the classifier head on the backbone's L2-normalised pooled features",
        "- `labels.json`: output columns in order",
        "- `preprocessing.json`: the backbone and how inputs are prepared",
    ]
    return "\n".join(lines) + "\n"


def build_archive(storage: Storage, project: Project, model: ModelVersion) -> bytes:
    spec = get_spec(model.backbone)
    preprocessing = {
        "backbone": model.backbone,
        "modality": spec.modality,
        "dim": spec.dim,
        "multilabel": project.task.multilabel,
        "output": "sigmoid per label" if project.task.multilabel else "softmax",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in storage.list(model.storage_key + "/"):
            filename = name.rsplit("/", 1)[-1]
            if filename == "scores.npz":
                continue
            archive.writestr(filename, storage.get_bytes(name))
        archive.writestr("labels.json", json.dumps(project.labels, indent=2))
        archive.writestr("preprocessing.json", json.dumps(preprocessing, indent=2))
        archive.writestr("README.md", model_card(project, model))
    return buffer.getvalue()
