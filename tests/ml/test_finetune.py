"""Fine-tuning: tiny random backbones (fast), composed heads, save/load, splits, and a slow run
of the real default backbones on shared datasets."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from filament.ml import classifier
from filament.ml.classifier import ClassifierModel, embed, load_model, predict_proba, save_model
from filament.ml.embedder import load_embedder
from filament.ml.finetune import FinetuneCancelled, FinetuneConfig, finetune
from filament.ml.heads import fit_head
from filament.ml.splits import holdout_split
from PIL import Image

from tests.datasets import CIFAR10, UCI, cifar10_slice, uci_slice

TINY = FinetuneConfig(epochs=1, batch_size=4, image_size=32, max_length=32)
TEXTS = [
    "a wonderful, warm film",
    "dreadful and far too long",
    "great value",
    "it broke after one day, avoid",
    "lovely staff and tasty food",
    "never again",
    "works perfectly",
    "the worst service I have had",
    "charming",
    "cold soup, rude waiter",
    "superb acting throughout the whole movie",
    "boring",
]


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 20, (size[1], size[0], 3))
    array = np.clip(np.array(color) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


COLORS = [(220, 30, 30), (30, 200, 40), (40, 40, 210)]
IMAGES = [png(COLORS[i % 3], (36 + i, 30), seed=i) for i in range(12)]
Y_IMAGES = np.array([i % 3 for i in range(12)])
Y_TEXTS = np.array([i % 2 for i in range(12)])


def check_result(result, n_items: int, primary: str, epochs: int = 1) -> None:
    assert [h["epoch"] for h in result.history] == list(range(epochs + 1))
    assert result.label_count == n_items
    assert result.device == "cpu"
    assert not result.model.training
    assert next(result.model.parameters()).device.type == "cpu"
    metrics = result.metrics
    json.dumps(metrics)
    assert metrics["cv_folds"] == 0 and metrics["validation"] == "holdout"
    assert metrics["primary"] == primary
    assert metrics["val_size"] > 0 and metrics["train_size"] + metrics["val_size"] == n_items
    assert metrics[primary] == result.primary_metric == metrics["primary_metric"]
    assert 0 <= result.primary_metric <= 1
    assert metrics["head_baseline"] is not None
    assert metrics["best_epoch"] in range(epochs + 1)
    assert result.primary_metric >= metrics["head_baseline"]  # epoch 0 is a candidate


def test_finetune_images_single_label(resnet) -> None:
    before = {k: v.clone() for k, v in resnet.module.state_dict().items()}
    events: list[dict] = []
    result = finetune(resnet, IMAGES, Y_IMAGES, False, 4, TINY, on_progress=events.append)
    check_result(result, 12, "accuracy")
    assert {"per_class", "confusion_matrix", "macro_f1"} <= set(result.metrics)
    stages = [e["stage"] for e in events]
    assert stages[0] == "linear_probe" and "train" in stages and stages[-1] == "done"
    train = [e for e in events if e["stage"] == "train"]
    assert train[-1]["step"] == train[-1]["steps"] == 2  # 9 rows: 4, then 5 (never a batch of 1)
    assert events[-1]["progress"] == 1.0
    assert set(events[0]) == {"stage", "epoch", "epochs", "step", "steps", "loss"} | {
        "val_metric",
        "progress",
    }
    # the cached, shared backbone is never trained
    after = resnet.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    probs = predict_proba(result.model, resnet, IMAGES)
    assert probs.shape == (12, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-6)
    assert (probs[:, 3] == 0).all()  # label 3 was never seen: pinned to probability 0


def test_finetune_images_multilabel(resnet) -> None:
    Y = np.zeros((12, 3), dtype=np.int64)
    Y[np.arange(12), Y_IMAGES] = 1
    Y[::2, 1] = 1
    Y[:, 2] = 0  # never positive: pinned at 0
    result = finetune(resnet, IMAGES, Y, True, 3, TINY)
    check_result(result, 12, "micro_f1")
    assert {"per_label", "subset_accuracy"} <= set(result.metrics)
    probs = predict_proba(result.model, resnet, IMAGES)
    assert probs.shape == (12, 3) and (probs[:, 2] == 0).all()


def test_finetune_texts(deberta) -> None:
    result = finetune(deberta, TEXTS, Y_TEXTS, False, 2, FinetuneConfig(epochs=2, max_length=32))
    check_result(result, 12, "accuracy", epochs=2)
    assert result.metrics["tokens_per_second"] > 0
    assert result.model.preprocessing == {"max_length": 32}
    Y = np.stack([Y_TEXTS, 1 - Y_TEXTS, np.arange(12) % 3 == 0], axis=1).astype(np.int64)
    result = finetune(deberta, TEXTS, Y, True, 3, TINY)
    check_result(result, 12, "micro_f1")


def test_max_items_and_too_few_to_validate(resnet) -> None:
    config = FinetuneConfig(epochs=1, batch_size=4, image_size=32, max_items=6)
    result = finetune(resnet, IMAGES, Y_IMAGES, False, 3, config)
    assert result.label_count == 12 and result.metrics["items_used"] == 6
    tiny = finetune(resnet, IMAGES[:2], Y_IMAGES[:2], False, 3, TINY)
    assert tiny.metrics["val_size"] == 0 and tiny.metrics["primary_metric"] is None
    assert np.isnan(tiny.primary_metric) and "note" in tiny.metrics


def test_every_label_pinned(deberta) -> None:
    Y = np.zeros((12, 2), dtype=np.int64)
    Y[:, 1] = 1  # label 0 never, label 1 always positive: nothing to learn
    result = finetune(deberta, TEXTS, Y, True, 2, TINY)
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    np.testing.assert_array_equal(predict_proba(result.model, deberta, TEXTS), Y)


def test_should_stop_cancels(resnet, deberta) -> None:
    calls: list[int] = []

    def stop_on_third() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(FinetuneCancelled):
        finetune(resnet, IMAGES, Y_IMAGES, False, 3, TINY, should_stop=stop_on_third)
    with pytest.raises(FinetuneCancelled):
        finetune(deberta, TEXTS, Y_TEXTS, False, 2, TINY, should_stop=lambda: True)


def test_bad_inputs(resnet) -> None:
    with pytest.raises(ValueError, match="inputs"):
        finetune(resnet, IMAGES[:3], Y_IMAGES, False, 3, TINY)
    with pytest.raises(ValueError, match="bytes"):
        finetune(resnet, TEXTS, Y_TEXTS, False, 2, TINY)
    with pytest.raises(ValueError, match="image 1"):
        finetune(resnet, [IMAGES[0], b"junk", IMAGES[2]], Y_IMAGES[:3], False, 3, TINY)


@pytest.mark.parametrize("modality", ["image", "text"])
def test_save_load_round_trip(modality: str, resnet, deberta) -> None:
    embedder, inputs, n = (resnet, IMAGES, 4) if modality == "image" else (deberta, TEXTS, 2)
    torch.manual_seed(1)
    model = ClassifierModel.from_embedder(embedder, n, image_size=32).eval()
    head = fit_head(
        embedder.embed_images(IMAGES) if modality == "image" else embedder.embed_texts(TEXTS),
        Y_IMAGES if modality == "image" else Y_TEXTS,
        False,
        n,
        "mlp",
    )
    model.set_head(head)
    data = save_model(model)
    assert data[8:9] == b"{"  # safetensors header, not a pickle
    assert classifier.read_manifest(data)["backbone"] == embedder.spec.name
    loaded = load_model(data)
    assert loaded.head_sizes == model.head_sizes == [embedder.spec.dim, 64, n]
    np.testing.assert_array_equal(
        predict_proba(loaded, embedder, inputs), predict_proba(model, embedder, inputs)
    )
    with pytest.raises(ValueError, match="not a saved"):
        load_model(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
@pytest.mark.parametrize("multilabel", [False, True])
def test_from_head_equals_head(kind: str, multilabel: bool, resnet, deberta) -> None:
    for embedder, inputs, y in ((resnet, IMAGES, Y_IMAGES), (deberta, TEXTS, Y_TEXTS)):
        X = (embedder.embed_images if embedder is resnet else embedder.embed_texts)(inputs)
        if multilabel:
            Y = np.zeros((12, 4), dtype=np.int64)
            Y[np.arange(12), y] = 1
            Y[:, 3] = 1  # always positive: pinned at 1
            head = fit_head(X, Y, True, 4, kind)
        else:
            head = fit_head(X, y, False, 4, kind)  # label 3 (and 2 for texts) never seen
        model = ClassifierModel.from_head(embedder, head)
        np.testing.assert_allclose(
            predict_proba(model, embedder, inputs), head.predict_proba(X), atol=1e-4
        )
        np.testing.assert_allclose(embed(model, embedder, inputs), X, atol=1e-5)


def test_holdout_split() -> None:
    y = np.array([0] * 10 + [1] * 5 + [2])
    train, val = holdout_split(y, False, 0.2, seed=0)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(16))
    assert np.bincount(y[val], minlength=3).tolist() == [2, 1, 0]  # the singleton stays
    rng = np.random.default_rng(0)
    Y = (rng.random((200, 5)) < [0.5, 0.3, 0.1, 0.05, 0.02]).astype(int)
    train, val = holdout_split(Y, True, 0.2, seed=0)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 200
    assert abs(len(val) - 40) <= 2
    np.testing.assert_allclose(Y[val].sum(0), Y.sum(0) * 0.2, atol=1.01)
    assert holdout_split(np.array([0, 1]), False, 0.2)[1].size == 0


# -- real backbones on shared data -------------------------------------------------------------


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"dataset absent: {path}")


@pytest.mark.slow
def test_finetune_real_backbones_briefly() -> None:
    # its time is bench_finetune.py's (section budgets)
    _need(CIFAR10)
    _need(UCI)
    images, y, _ = cifar10_slice(10)
    embedder = load_embedder("efficientnet_lite0", device="cpu")
    config = FinetuneConfig(epochs=1, image_size=96)
    result = finetune(embedder, images, y, False, 4, config)
    check_result(result, 40, "accuracy")
    assert result.metrics["head_baseline"] > 0.25  # pretrained features beat chance (4 classes)
    texts, y = uci_slice(40)
    embedder = load_embedder("minilm_l6", device="cpu")
    result = finetune(embedder, texts, y, False, 2, FinetuneConfig(epochs=1))
    check_result(result, 40, "accuracy")
