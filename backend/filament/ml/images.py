"""Image decoding and preprocessing shared by ingest, embedding and fine-tuning."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's own decompression-bomb limit stays at its default: what reaches decoding has passed
# `filament.uploads.ingest.validate_image` (FILAMENT_MAX_IMAGE_PIXELS, checked before decoding).

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def decode_image(data: bytes) -> Image.Image:
    """Decode image bytes to an RGB ``PIL.Image`` (first frame of animations, EXIF-rotated).

    Raises ``ValueError`` with a readable message when the bytes are not a decodable image.
    """
    if not data:
        raise ValueError("empty file: no image data")
    try:
        with Image.open(io.BytesIO(data)) as file:
            file.seek(0)  # first frame of GIF/APNG/multi-page TIFF
            file.load()
            img = ImageOps.exif_transpose(file) or file
            if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                # Composite transparent pixels on white rather than on black.
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(background, rgba).convert("RGB")
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a valid image file: {exc}") from exc


class ImageTransform:
    """Resize the shorter side to ``size`` (``resample``), centre-crop a square, normalise.

    Picklable and thread-safe; returns a float32 ``(3, size, size)`` tensor.
    """

    def __init__(
        self,
        size: int,
        mean: Sequence[float] | np.ndarray,
        std: Sequence[float] | np.ndarray,
        resample: Image.Resampling = Image.Resampling.BICUBIC,
    ) -> None:
        self.size = size
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
        self.resample = resample

    def __call__(self, img: Image.Image) -> torch.Tensor:
        img = img.convert("RGB") if img.mode != "RGB" else img
        width, height = img.size
        scale = self.size / min(width, height)
        new_w, new_h = max(self.size, round(width * scale)), max(self.size, round(height * scale))
        img = img.resize((new_w, new_h), self.resample)
        left, top = (new_w - self.size) // 2, (new_h - self.size) // 2
        img = img.crop((left, top, left + self.size, top + self.size))
        array = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return torch.from_numpy((array - self.mean) / self.std)

    def manifest(self) -> dict[str, object]:
        """JSON description, stored with model versions so scoring reuses the same steps."""
        return {
            "resize_shorter_side": self.size,
            "center_crop": self.size,
            "interpolation": self.resample.name.lower(),
            "mean": self.mean.ravel().tolist(),
            "std": self.std.ravel().tolist(),
        }
