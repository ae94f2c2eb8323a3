"""Backbones: registry errors, missing weights, random-config code paths, the real defaults."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from filament.ml.backbones import BACKBONES, DEFAULT_BACKBONE, BackboneUnavailable
from filament.ml.embedder import build_random, load_embedder
from filament.ml.images import decode_image
from PIL import Image

from tests.datasets import CIFAR10


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else (*color, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def test_registry() -> None:
    assert DEFAULT_BACKBONE == {"image": "efficientnet_lite0", "text": "minilm_l6"}
    assert BACKBONES["efficientnet_lite0"].dim == 1280
    assert BACKBONES["minilm_l6"].dim == 384
    for name, spec in BACKBONES.items():
        assert spec.name == name and spec.modality in ("image", "text")


def test_unknown_name() -> None:
    with pytest.raises(KeyError, match=r"unknown backbone 'vgg'.*efficientnet_lite0"):
        load_embedder("vgg")


@pytest.mark.parametrize(
    ("name", "expected"), [("resnet18", "resnet18.pth"), ("deberta_v3_small", "deberta-v3-small")]
)
def test_missing_weights_name_the_path(
    name: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no hub cache either
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneUnavailable, match=re.escape(str(tmp_path / expected))):
        load_embedder(name, weights_dir=tmp_path)
    with pytest.raises(BackboneUnavailable):
        BACKBONES[name].check_available(tmp_path)


def test_resnet_weights_from_weights_dir(tmp_path: Path) -> None:
    import torch
    import torchvision

    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "resnet18.pth")
    embedder = load_embedder("resnet18", weights_dir=tmp_path, device="cpu")
    assert embedder.spec.dim == 512
    assert embedder is load_embedder("resnet18", weights_dir=tmp_path, device="cpu")  # cached


def test_resnet18_random_config() -> None:
    embedder = build_random("resnet18", device="cpu", image_size=64)
    progress: list[tuple[int, int]] = []
    vectors = embedder.embed_images(
        [png((255, 0, 0)), png((0, 0, 255), (20, 50)), png((0, 255, 0), mode="RGBA")],
        batch_size=2,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert progress == [(2, 3), (3, 3)]
    assert embedder.preprocess([Image.new("RGB", (64, 64))]).shape == (1, 3, 64, 64)


def test_deberta_random_config() -> None:
    embedder = load_embedder("deberta_v3_small", random_init=True, device="cpu")
    texts = ["short", "a rather longer sentence to make buckets differ in length", "mid one"]
    vectors = embedder.embed_texts(texts, batch_size=2)
    assert vectors.shape == (3, embedder.spec.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # order is restored after length bucketing
    np.testing.assert_allclose(embedder.embed_texts([texts[2]])[0], vectors[2], atol=1e-5)
    assert set(embedder.tokenize(texts)) >= {"input_ids", "attention_mask"}
    assert embedder.embed_texts([]).shape == (0, embedder.spec.dim)


def test_decode_image() -> None:
    frames = [Image.new("P", (8, 8), i) for i in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    img = decode_image(buffer.getvalue())
    assert img.mode == "RGB" and img.size == (8, 8)
    for bad in (b"", b"\x89PNG\r\n\x1a\n broken", b"hello"):
        with pytest.raises(ValueError, match="image"):
            decode_image(bad)


def test_corrupt_image_names_its_index() -> None:
    embedder = build_random("resnet18", device="cpu", image_size=32)
    with pytest.raises(ValueError, match="image 1"):
        embedder.embed_images([png((1, 2, 3)), b"junk"])


@pytest.mark.slow
def test_minilm_real() -> None:
    embedder = load_embedder("minilm_l6", device="cpu")
    vectors = embedder.embed_texts(
        ["The cat sat on the mat.", "A cat was sitting on a rug.", "Quarterly revenue rose 5%."]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


@pytest.mark.slow
def test_efficientnet_real_on_cifar() -> None:
    if not CIFAR10.is_dir():
        pytest.skip(f"dataset folder absent: {CIFAR10}")
    paths = [CIFAR10 / "train" / c / f"000{i}.jpg" for c in ("airplane", "frog") for i in (0, 1)]
    embedder = load_embedder("efficientnet_lite0", device="cpu")
    vectors = embedder.embed_images([p.read_bytes() for p in paths])
    assert vectors.shape == (4, 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] and sims[2, 3] > sims[1, 3]  # same class closer
