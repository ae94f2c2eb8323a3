"""``Embedder``: batched, order-preserving inference of a frozen backbone, and its loading.

``load_embedder(name)`` builds the backbone named in ``backbones.BACKBONES`` from its local
weights once per process (cached); ``build_random(name)`` builds the same architecture with
random weights for tests. Image bytes are decoded and resized in a thread pool a couple of
batches ahead of the forward pass, so decoding overlaps inference. Texts are sorted by token
length into buckets so each batch pads to its own longest text, then rows are put back in input
order (``batching``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from filament.ml.backbones import BackboneSpec, MeanPooler, get_spec
from filament.ml.batching import (
    autocast,
    image_loader,
    in_batches,
    length_sorted_batches,
    prefetch_images,
    text_ids,
)
from filament.ml.images import ImageTransform

ProgressFn = Callable[[int, int], None]

MAX_TEXT_TOKENS = 256


class Embedder:
    """A frozen backbone ready for inference.

    - ``module``: ``torch.nn.Module`` mapping a preprocessed batch to pooled features
      (global-average-pooled penultimate features for images, mask-mean-pooled last hidden state
      for texts), *before* L2 normalisation. Shared by every caller of ``load_embedder``:
      fine-tuning must work on ``copy.deepcopy(embedder.module)``.
    - ``preprocess(images)`` / ``tokenize(texts)``: the exact inputs ``module`` expects.
    - ``embed_images`` / ``embed_texts``: float32 ``(n, dim)`` L2-normalised embeddings.
    """

    def __init__(
        self,
        spec: BackboneSpec,
        module: torch.nn.Module,
        device: torch.device,
        *,
        transform: ImageTransform | None = None,
        tokenizer: Any = None,
        max_length: int = MAX_TEXT_TOKENS,
    ) -> None:
        self.spec = spec
        self.module = module.eval().to(device)
        self.device = device
        self.transform = transform
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __repr__(self) -> str:
        return f"Embedder({self.spec.name!r}, dim={self.spec.dim}, device={self.device})"

    # -- inputs -------------------------------------------------------------------------------

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Stack PIL images into the float batch ``module`` expects (on CPU)."""
        transform = self._require_transform()
        return torch.stack([transform(img) for img in images])

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, Any]:
        """Tokenise, truncate to ``max_length`` (256) and pad to the longest text (on CPU)."""
        if self.tokenizer is None:
            raise TypeError(f"{self.spec.name} is an image backbone: use preprocess()")
        return dict(
            self.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=max_length or self.max_length,
                return_tensors="pt",
            )
        )

    # -- inference ----------------------------------------------------------------------------

    def embed_images(
        self,
        images: Sequence[bytes],
        batch_size: int = 32,
        on_progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """Embed encoded images (JPEG/PNG/... bytes); raises ``ValueError`` on a corrupt one."""
        load = image_loader(images, self._require_transform())
        total = len(images)
        out = np.zeros((total, self.spec.dim), dtype=np.float32)
        done = 0
        for rows, batch in prefetch_images(in_batches(range(total), batch_size), load):
            out[rows] = self._forward(batch)
            done += len(rows)
            if on_progress is not None:
                on_progress(done, total)
        return out

    def embed_texts(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        on_progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """Embed texts in length-sorted batches; rows come back in input order."""
        if self.tokenizer is None:
            raise TypeError(f"{self.spec.name} is an image backbone: use embed_images()")
        total = len(texts)
        out = np.zeros((total, self.spec.dim), dtype=np.float32)
        if total == 0:
            return out
        lengths = [len(ids) for ids in text_ids(self.tokenizer, texts, self.max_length)]
        done = 0
        for rows in length_sorted_batches(lengths, batch_size):  # longest first: fail early
            out[rows] = self._forward(self.tokenize([texts[i] for i in rows]))
            done += len(rows)
            if on_progress is not None:
                on_progress(done, total)
        return out

    def _forward(self, batch: torch.Tensor | dict[str, torch.Tensor]) -> np.ndarray:
        with torch.inference_mode(), autocast(self.device):
            if isinstance(batch, dict):
                features = self.module(**{k: v.to(self.device) for k, v in batch.items()})
            else:
                features = self.module(batch.to(self.device, non_blocking=True))
            features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy()

    def _require_transform(self) -> ImageTransform:
        if self.transform is None:
            raise TypeError(f"{self.spec.name} is a text backbone: use tokenize()/embed_texts()")
        return self.transform


# -- loading ----------------------------------------------------------------------------------

_CACHE: dict[tuple[str, str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def _resolve_device(device: str | None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def _make(spec: BackboneSpec, path: Path | None, device: torch.device, **config: Any) -> Embedder:
    module, prep = spec.build(path, config)
    if spec.modality == "image":
        return Embedder(spec, module, device, transform=prep)
    if not isinstance(module, MeanPooler):
        raise TypeError(f"{spec.name}: a text backbone builds a MeanPooler")
    return Embedder(replace(spec, dim=module.hidden_size), module, device, tokenizer=prep)


def load_embedder(
    name: str,
    weights_dir: Path | None = None,
    device: str | None = None,
    *,
    random_init: bool = False,
) -> Embedder:
    """The embedder for backbone ``name``, loaded once per (name, device, weights_dir).

    ``device`` defaults to CUDA when available, else CPU. Raises ``KeyError`` for an unknown
    name and ``BackboneUnavailable`` when weights are missing. ``random_init=True`` returns a
    fresh, uncached ``build_random(name)`` (tests only).
    """
    spec = get_spec(name)
    if random_init:
        return build_random(name, device=device)
    resolved = _resolve_device(device)
    key = (name, str(resolved), str(weights_dir or ""))
    with _CACHE_LOCK:  # held while loading so two threads never load the same model twice
        if key not in _CACHE:
            _CACHE[key] = _make(spec, spec.locate(weights_dir), resolved)
        return _CACHE[key]


def build_random(name: str, device: str | None = None, **small_config: Any) -> Embedder:
    """Same architecture and code path as ``load_embedder(name)`` but random weights, no files.

    Image backbones take ``image_size`` (default 224; e.g. 64 keeps tests fast). Text backbones
    build a tiny encoder (hidden 32, 2 layers, 2 heads by default; any transformers config
    field overrides it) with the bundled MiniLM tokenizer; ``spec.dim`` is the hidden size.
    """
    spec = get_spec(name)
    return _make(spec, None, _resolve_device(device), **small_config)
