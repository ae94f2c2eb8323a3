"""``Embedder``: batched, order-preserving inference of a frozen backbone.

Image bytes are decoded and resized in a thread pool a couple of batches ahead of the forward
pass, so decoding overlaps inference. Texts are sorted by token length into buckets so each batch
pads to its own longest text, then rows are put back in input order (``batching``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from filament.ml.batching import (
    autocast,
    image_loader,
    in_batches,
    length_sorted_batches,
    prefetch_images,
    text_ids,
)
from filament.ml.images import ImageTransform

if TYPE_CHECKING:
    from filament.ml.backbones import BackboneSpec

ProgressFn = Callable[[int, int], None]

MAX_TEXT_TOKENS = 256


class MeanPooler(torch.nn.Module):
    """Wraps a transformers encoder: mean of the last hidden state over the attention mask."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


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
