"""Inference batching shared by embedding, scoring and fine-tuning.

- Images: ``image_loader`` decodes and preprocesses one image by index; ``prefetch_images``
  runs it in a thread pool a couple of batches ahead of the forward pass, so decoding overlaps
  inference while memory stays bounded.
- Texts: ``text_ids`` tokenises once, ``length_sorted_batches`` groups similar lengths (longest
  first, so a batch that does not fit fails early) and ``collate_ids`` pads each batch to its
  own longest row.
- ``autocast``: bf16 on CUDA, plain fp32 elsewhere.

Batches are lists of row indices, so callers write results back in input order.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from PIL import Image

from filament.ml.images import decode_image

PREFETCH_BATCHES = 2  # batches decoding ahead of the one being run

ImageLoad = Callable[[int], torch.Tensor]


def in_batches(rows: Sequence[int] | np.ndarray, batch_size: int) -> list[list[int]]:
    """``rows`` cut into consecutive batches of ``batch_size`` (the last one may be shorter)."""
    values = np.asarray(rows, dtype=np.int64)
    return [values[i : i + batch_size].tolist() for i in range(0, len(values), batch_size)]


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length (longest first, ties in input order)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return in_batches(order, batch_size)


def text_ids(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text (special tokens added, truncated to ``max_length``, not padded)."""
    if not len(texts):
        return []
    return list(tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"])


def collate_ids(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest row: ``(input_ids, attention_mask)`` int64 tensors."""
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return input_ids, mask


def image_loader(
    images: Sequence[bytes], transform: Callable[[Image.Image], torch.Tensor]
) -> ImageLoad:
    """``load(index) -> tensor``; a corrupt image raises ``ValueError`` naming its index."""

    def load(index: int) -> torch.Tensor:
        try:
            return transform(decode_image(images[index]))
        except ValueError as exc:
            raise ValueError(f"image {index}: {exc}") from exc

    return load


def prefetch_images(
    batches: Sequence[Sequence[int]], load: ImageLoad
) -> Iterator[tuple[Sequence[int], torch.Tensor]]:
    """Yield ``(indices, stacked batch)`` while a thread pool decodes the next batches."""
    workers = max(1, min(4, os.cpu_count() or 1))
    pending: deque[tuple[Sequence[int], list[Future[torch.Tensor]]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        try:
            for rows in batches:
                pending.append((rows, [pool.submit(load, i) for i in rows]))
                if len(pending) > PREFETCH_BATCHES:
                    rows_done, futures = pending.popleft()
                    yield rows_done, torch.stack([f.result() for f in futures])
            while pending:
                rows_done, futures = pending.popleft()
                yield rows_done, torch.stack([f.result() for f in futures])
        finally:
            for _, futures in pending:
                for future in futures:
                    future.cancel()


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA, nothing (fp32) elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
