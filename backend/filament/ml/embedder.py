"""``Embedder``: batched, order-preserving inference of a frozen backbone.

Image bytes are decoded and resized in a thread pool a couple of batches ahead of the forward
pass, so decoding overlaps inference. Texts are sorted by token length into buckets so each batch
pads to its own longest text, then rows are put back in input order.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from filament.ml.images import ImageTransform, decode_image

if TYPE_CHECKING:
    from filament.ml.backbones import BackboneSpec

ProgressFn = Callable[[int, int], None]

MAX_TEXT_TOKENS = 256
_PREFETCH_BATCHES = 2


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
        transform = self._require_transform()
        total = len(images)
        out = np.zeros((total, self.spec.dim), dtype=np.float32)

        def load(index: int) -> torch.Tensor:
            try:
                return transform(decode_image(images[index]))
            except ValueError as exc:
                raise ValueError(f"image {index}: {exc}") from exc

        workers = max(1, min(4, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
            done = 0
            for start, futures in _prefetch(total, batch_size, load, pool):
                batch = torch.stack([f.result() for f in futures])
                out[start : start + len(futures)] = self._forward(batch)
                done += len(futures)
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
        lengths = [
            len(ids)
            for ids in self.tokenizer(list(texts), truncation=True, max_length=self.max_length)[
                "input_ids"
            ]
        ]
        order = np.argsort(-np.asarray(lengths), kind="stable")  # longest first: fail early
        done = 0
        for start in range(0, total, batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._forward(self.tokenize([texts[i] for i in rows]))
            done += len(rows)
            if on_progress is not None:
                on_progress(done, total)
        return out

    def _forward(self, batch: torch.Tensor | dict[str, torch.Tensor]) -> np.ndarray:
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if self.device.type == "cuda"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
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


def _prefetch(
    total: int,
    batch_size: int,
    load: Callable[[int], torch.Tensor],
    pool: ThreadPoolExecutor,
) -> Iterator[tuple[int, list[Future[torch.Tensor]]]]:
    """Yield ``(start, futures)`` per batch, keeping a few batches decoding ahead (bounded RAM)."""
    pending: deque[tuple[int, list[Future[torch.Tensor]]]] = deque()
    try:
        for start in range(0, total, batch_size):
            stop = min(start + batch_size, total)
            pending.append((start, [pool.submit(load, i) for i in range(start, stop)]))
            if len(pending) > _PREFETCH_BATCHES:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
    finally:
        for _, futures in pending:
            for future in futures:
                future.cancel()
