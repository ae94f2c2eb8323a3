"""The variants of a model archive (which formats, quantized or not): torch-free, so the API
validates a request's `format` / `quantize` without importing the exporters."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ArchiveFormat(StrEnum):
    """What an archive holds. `all`: every format (the archive before formats existed)."""

    onnx = "onnx"
    torchscript = "torchscript"
    safetensors = "safetensors"
    all = "all"


class Quantize(StrEnum):
    int8 = "int8"


@dataclass(frozen=True)
class ArchiveVariant:
    format: ArchiveFormat = ArchiveFormat.all
    quantize: Quantize | None = None

    def __post_init__(self) -> None:
        if self.quantize is not None and self.format != ArchiveFormat.onnx:
            raise ValueError("quantize=int8 is for format=onnx only")

    @property
    def name(self) -> str:
        """`all`, `onnx`, `onnx-int8`, ...: in file names, job ids and Redis keys."""
        return self.format.value + (f"-{self.quantize.value}" if self.quantize else "")

    @property
    def suffix(self) -> str:
        # `all` keeps the names from before variants, so its stored archives and running
        # builds stay valid
        return "" if self.format == ArchiveFormat.all else f"-{self.name}"

    def params(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "quantize": self.quantize.value if self.quantize else None,
        }

    @classmethod
    def from_name(cls, name: str) -> "ArchiveVariant":
        """Inverse of `name`."""
        archive_format, _, quantize = name.partition("-")
        return cls(ArchiveFormat(archive_format), Quantize(quantize) if quantize else None)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "ArchiveVariant":
        """The variant of a build job's params (jobs from before variants: every format)."""
        quantize = params.get("quantize")
        return cls(
            ArchiveFormat(params.get("format") or ArchiveFormat.all),
            Quantize(quantize) if quantize else None,
        )


ALL = ArchiveVariant()
