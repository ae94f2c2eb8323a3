"""GPU workers embed under bf16 autocast (`filament.ml.batching.autocast`). The stored
embeddings must stay interchangeable with the CPU path's fp32 ones, so a project can be
embedded partly on each: the same bf16 arithmetic, emulated here with CPU autocast on the
default backbones and real inputs, keeps every row within cosine 0.99 of fp32 (CI has no GPU;
on one, `bench_embed.py` measures the same)."""

import io
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest
import torch
from filament.ml import embedder as embedder_module
from filament.ml.embedder import load_embedder
from PIL import Image

from tests import datasets

TOLERANCE = 0.99  # the lowest cosine between a row's fp32 and bf16 embeddings


def _bf16(device: torch.device) -> AbstractContextManager[Any]:
    return torch.autocast("cpu", dtype=torch.bfloat16)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_text_embeddings_under_bf16_match_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        "The food was wonderful and the staff were kind.",
        "Stocks fell sharply after the central bank raised rates again.",
        "A late goal gave the visitors a narrow win in the final.",
        "Terrible battery life, I returned it after a week.",
    ] * 4
    model = load_embedder("minilm_l6", device="cpu")
    full = model.embed_texts(texts)
    monkeypatch.setattr(embedder_module, "autocast", _bf16)
    reduced = model.embed_texts(texts)
    assert _cosines(full, reduced).min() >= TOLERANCE


def test_image_embeddings_under_bf16_match_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = datasets.DATASETS_DIR / "images_cifar10_subset"
    files = sorted(folder.rglob("*.png"))[:12] + sorted(folder.rglob("*.jpg"))[:12]
    if files:
        images = [path.read_bytes() for path in files]
    else:  # the shared datasets are absent: stand-in images with some structure
        rng = np.random.default_rng(0)
        images = []
        for _ in range(12):
            pixels = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).resize((96, 96)).save(buffer, format="PNG")
            images.append(buffer.getvalue())
    model = load_embedder("efficientnet_lite0", device="cpu")
    full = model.embed_images(images)
    monkeypatch.setattr(embedder_module, "autocast", _bf16)
    reduced = model.embed_images(images)
    assert _cosines(full, reduced).min() >= TOLERANCE
