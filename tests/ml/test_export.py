"""Model archives: members, TorchScript / ONNX parity, the standalone predict.py, real backbones."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from filament.ml import export
from filament.ml.classifier import ClassifierModel, load_model, predict_proba
from filament.ml.embedder import load_embedder
from filament.ml.export import ExportError, export_files
from filament.ml.heads import fit_head
from PIL import Image

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")

TEXTS = ["a wonderful, warm film", "dreadful", "great value for the money, would buy again", "ok"]
COMMON = {
    "model.safetensors",
    "model.torchscript.pt",
    "model.onnx",
    "labels.json",
    "preprocessing.json",
    "README.md",
    "predict.py",
    "requirements.txt",
    "parity.json",
}


def image(color: tuple[int, int, int], size: tuple[int, int], fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(sum(color))
    array = np.clip(np.array(color) + rng.integers(-30, 30, (size[1], size[0], 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


IMAGES = [
    image((200, 30, 30), (40, 30)),
    image((30, 200, 30), (25, 60), "JPEG"),
    image((30, 30, 200), (33, 33)),
]


def write(files: dict[str, bytes], folder: Path) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def run_predict(folder: Path, args: list[str]) -> np.ndarray:
    """Run the archive's predict.py in a fresh interpreter; probabilities in label order."""
    done = subprocess.run(
        [sys.executable, str(folder / "predict.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder.parent,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    return np.array([[r["probabilities"][lab] for lab in out["labels"]] for r in out["results"]])


def check_archive(files: dict[str, bytes], model: ClassifierModel, labels: list[str]) -> None:
    parity = json.loads(files["parity.json"])
    assert parity["onnx_max_abs_diff"] <= 1e-4 and parity["torchscript_max_abs_diff"] <= 1e-4
    assert json.loads(files["labels.json"]) == {"labels": labels, "multilabel": model.multilabel}
    assert files["README.md"].decode().startswith("# Card\n") and b"## Usage" in files["README.md"]
    graph = onnx.load_from_string(files["model.onnx"]).graph
    assert [o.name for o in graph.output] == ["logits", "probabilities"]
    batch_dim = graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param == "batch"  # dynamic batch axis
    scripted = torch.jit.load(io.BytesIO(files["model.torchscript.pt"]))
    assert isinstance(scripted, torch.jit.ScriptModule)
    reloaded = load_model(files["model.safetensors"])
    assert reloaded.n_labels == len(labels) and reloaded.multilabel == model.multilabel


def test_export_image_multilabel(resnet, tmp_path: Path) -> None:
    X = resnet.embed_images(IMAGES)
    Y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    model = ClassifierModel.from_head(resnet, fit_head(X, Y, True, 3))
    labels = ["cat", "dog", "outdoor"]
    files = export_files(model, resnet, labels, True, IMAGES, "# Card\n")
    assert set(files) == COMMON
    check_archive(files, model, labels)
    prep = json.loads(files["preprocessing.json"])
    assert prep["image_size"] == 32 and prep["interpolation"] == "bicubic"
    assert prep["color"] == "RGB" and prep["input"] == "pixel_values" and len(prep["mean"]) == 3
    folder = tmp_path / "archive"
    write(files, folder)
    paths = []
    for i, data in enumerate(IMAGES):
        paths.append(tmp_path / f"input{i}.img")
        paths[-1].write_bytes(data)
    got = run_predict(folder, [str(p) for p in paths])
    np.testing.assert_allclose(got, predict_proba(model, resnet, IMAGES), atol=1e-4)


def test_export_text_single_label(deberta, tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = ClassifierModel.from_embedder(deberta, 3, max_length=16).eval()
    labels = ["negative", "neutral", "positive"]
    files = export_files(model, deberta, labels, False, TEXTS, "# Card\n")
    assert set(files) >= COMMON | {"tokenizer/tokenizer.json"}
    check_archive(files, model, labels)
    prep = json.loads(files["preprocessing.json"])
    assert prep["max_length"] == 16 and prep["tokenizer"] == "tokenizer/tokenizer.json"
    graph = onnx.load_from_string(files["model.onnx"]).graph
    assert graph.input[0].type.tensor_type.shape.dim[1].dim_param == "sequence"
    folder = tmp_path / "archive"
    write(files, folder)
    texts = [*TEXTS, "a much longer text than any of the samples, " * 5]  # truncated to 16
    args = [arg for text in texts for arg in ("--text", text)]
    np.testing.assert_allclose(
        run_predict(folder, args), predict_proba(model, deberta, texts), atol=1e-4
    )


def test_export_refuses(resnet, monkeypatch: pytest.MonkeyPatch) -> None:
    model = ClassifierModel.from_embedder(resnet, 2).eval()
    with pytest.raises(ExportError, match="3 labels"):
        export_files(model, resnet, ["a", "b", "c"], False, IMAGES, "")
    with pytest.raises(ExportError, match="sample"):
        export_files(model, resnet, ["a", "b"], False, [], "")
    monkeypatch.setattr(export, "PARITY_ATOL", -1.0)  # any difference, even 0, now fails
    with pytest.raises(ExportError, match=r"differ from PyTorch by"):
        export_files(model, resnet, ["a", "b"], False, IMAGES[:1], "")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["efficientnet_lite0", "minilm_l6"])
def test_export_real_backbones(name: str, tmp_path: Path) -> None:
    embedder = load_embedder(name, device="cpu")
    if embedder.spec.modality == "image":
        inputs = [image((200, 30, 30), (120, 90), "JPEG"), image((30, 30, 200), (64, 64))]
        X = embedder.embed_images(inputs)
    else:
        inputs = TEXTS
        X = embedder.embed_texts(inputs)
    y = np.arange(len(inputs)) % 2
    model = ClassifierModel.from_head(embedder, fit_head(X, y, False, 2))
    files = export_files(model, embedder, ["no", "yes"], False, inputs, "# Card\n")
    check_archive(files, model, ["no", "yes"])
