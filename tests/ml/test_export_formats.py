"""One-format archives: only that format's model, a manifest, and a predict.py that runs it; int8
ONNX kept only within the tolerance, with what was measured."""

import io
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from filament.ml import quantize
from filament.ml.classifier import ClassifierModel, load_model, predict_proba
from filament.ml.export import Evaluation, ExportError, QuantizationRefused, export_files
from filament.ml.heads import fit_head

from tests.ml.test_export import IMAGES, TEXTS, run_predict, write

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")

MODEL_FILES = {
    "onnx": "model.onnx",
    "torchscript": "model.torchscript.pt",
    "safetensors": "model.safetensors",
}


@pytest.fixture(scope="module")
def image_model(resnet) -> ClassifierModel:
    X = resnet.embed_images(IMAGES)
    return ClassifierModel.from_head(resnet, fit_head(X, np.array([0, 1, 2]), False, 3))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "safetensors"])
def test_one_format_image_archive_runs_its_predict_py(
    fmt: str, image_model: ClassifierModel, resnet, tmp_path: Path
) -> None:
    labels = ["red", "green", "blue"]
    files = export_files(image_model, resnet, labels, False, IMAGES, "# Card\n", (fmt,))
    others = set(MODEL_FILES.values()) - {MODEL_FILES[fmt]}
    assert MODEL_FILES[fmt] in files and not others & set(files)
    meta = json.loads(files["manifest.json"])
    assert (
        meta["format"] == fmt
        and meta["quantize"] is None
        and meta["model_file"] == MODEL_FILES[fmt]
    )
    assert set(meta["files"]) == set(files)
    assert f"Format **{fmt}**" in files["README.md"].decode()
    requirements = files["requirements.txt"].decode().split()
    assert ("onnxruntime" in requirements) == (fmt == "onnx")
    assert ("torchvision" in requirements) == (fmt == "safetensors")  # rebuilds a ResNet
    folder = tmp_path / "archive"
    write(files, folder)
    paths = []
    for i, data in enumerate(IMAGES):
        paths.append(tmp_path / f"input{i}.img")
        paths[-1].write_bytes(data)
    expected = predict_proba(image_model, resnet, IMAGES)
    np.testing.assert_allclose(run_predict(folder, [str(p) for p in paths]), expected, atol=1e-4)


def test_one_format_text_archives_load_in_their_runtimes(deberta, tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = ClassifierModel.from_embedder(deberta, 2, max_length=16).eval()
    expected = predict_proba(model, deberta, TEXTS[:1])
    ids = deberta.tokenizer(TEXTS[:1], truncation=True, max_length=16, return_tensors="pt")
    feed = (ids["input_ids"], ids["attention_mask"])
    onnx = export_files(model, deberta, ["a", "b"], False, TEXTS, "# C\n", ("onnx",))
    session = ort.InferenceSession(onnx["model.onnx"], providers=["CPUExecutionProvider"])
    got = session.run(
        ["probabilities"], {"input_ids": feed[0].numpy(), "attention_mask": feed[1].numpy()}
    )
    np.testing.assert_allclose(got[0], expected, atol=1e-4)
    script = export_files(model, deberta, ["a", "b"], False, TEXTS, "# C\n", ("torchscript",))
    loaded = torch.jit.load(io.BytesIO(script["model.torchscript.pt"]))
    np.testing.assert_allclose(loaded(*feed)[1].detach().numpy(), expected, atol=1e-4)
    weights = export_files(model, deberta, ["a", "b"], False, TEXTS, "# C\n", ("safetensors",))
    np.testing.assert_allclose(
        predict_proba(load_model(weights["model.safetensors"]), deberta, TEXTS[:1]),
        expected,
        atol=1e-5,
    )
    architecture = json.loads(weights["manifest.json"])["architecture"]
    assert architecture["library"] == "transformers" and architecture["model_type"] == "deberta-v2"
    folder = tmp_path / "weights"
    write(weights, folder)
    np.testing.assert_allclose(run_predict(folder, ["--text", TEXTS[0]]), expected, atol=1e-4)


def _evaluation(model: ClassifierModel, resnet, n: int) -> Evaluation:
    inputs = (IMAGES * n)[:n]
    chosen = predict_proba(model, resnet, inputs).argmax(axis=1)
    truth = np.zeros((n, model.n_labels), dtype=bool)
    truth[np.arange(n), chosen] = True  # labels the float model gets right
    return Evaluation(inputs, truth, "audit")


def test_int8_is_kept_with_its_measurements(image_model: ClassifierModel, resnet) -> None:
    labels = ["red", "green", "blue"]
    full = export_files(image_model, resnet, labels, False, IMAGES, "# C\n", ("onnx",))
    files = export_files(
        image_model,
        resnet,
        labels,
        False,
        IMAGES,
        "# C\n",
        ("onnx",),
        _evaluation(image_model, resnet, 12),
    )
    meta = json.loads(files["manifest.json"])
    q = meta["quantization"]
    assert (
        meta["quantize"] == "int8"
        and q["accepted"]
        and q["n"] == 12
        and q["labels_from"] == "audit"
    )
    assert q["accuracy_float"] == 1.0 and q["accuracy_int8"] >= 0.99 and q["agreement"] >= 0.99
    assert q["tolerance"] == {"max_accuracy_drop": 0.01, "min_agreement": 0.99, "min_items": 10}
    assert len(files["model.onnx"]) < len(full["model.onnx"]) / 2
    assert "### int8" in files["README.md"].decode()
    with pytest.raises(ExportError, match="ONNX archives only"):
        export_files(
            image_model,
            resnet,
            labels,
            False,
            IMAGES,
            "",
            ("torchscript",),
            _evaluation(image_model, resnet, 12),
        )


def test_int8_is_refused_outside_the_tolerance(
    image_model: ClassifierModel, resnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = ["red", "green", "blue"]
    with pytest.raises(QuantizationRefused, match="only 4 labeled items") as few:
        export_files(
            image_model,
            resnet,
            labels,
            False,
            IMAGES,
            "",
            ("onnx",),
            _evaluation(image_model, resnet, 4),
        )
    assert few.value.report.n == 4 and not few.value.report.accepted
    monkeypatch.setattr(quantize, "MAX_ACCURACY_DROP", -1.0)  # any int8 model now drops too much
    with pytest.raises(QuantizationRefused, match=r"accuracy drops from 100\.0%"):
        export_files(
            image_model,
            resnet,
            labels,
            False,
            IMAGES,
            "",
            ("onnx",),
            _evaluation(image_model, resnet, 12),
        )


def test_int8_report_tolerance() -> None:
    ok = quantize.Int8Report(200, "audit", 0.90, 0.895, 0.995, 0.02)
    assert ok.accepted and ok.reason() == ""
    drop = quantize.Int8Report(200, "audit", 0.90, 0.88, 0.995, 0.02)
    assert not drop.accepted and "accuracy drops from 90.0% to 88.0%" in drop.reason()
    disagree = quantize.Int8Report(200, "labeled", 0.90, 0.90, 0.98, 0.2)
    assert not disagree.accepted and "agrees with the float model on 98.0%" in disagree.reason()


def test_formats_are_checked(image_model: ClassifierModel, resnet) -> None:
    with pytest.raises(ExportError, match="formats"):
        export_files(
            image_model, resnet, ["a", "b", "c"], False, IMAGES, "", ("onnx", "torchscript")
        )
    with pytest.raises(ExportError, match="formats"):
        export_files(image_model, resnet, ["a", "b", "c"], False, IMAGES, "", ("pdf",))
