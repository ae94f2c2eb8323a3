"""A write-only byte sink that a streaming response drains: pyarrow's ParquetWriter and
zipfile write into it, the export's generator yields what has piled up after each batch."""

import io
import logging
from typing import Protocol

log = logging.getLogger("filament.exports")


class BlobReader(Protocol):
    """Where the exports read image bytes: a `filament.storage.Storage` (typed by what is
    used, so the exports need none of the storage backends' libraries)."""

    def get_bytes(self, key: str) -> bytes: ...


class Drain(io.RawIOBase):
    """Bytes written since the last `take()`; never seekable, so zipfile writes data
    descriptors instead of seeking back, and nothing is held beyond one batch."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        # zipfile and pyarrow ask where they are to record offsets; the total written is it
        return self._position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks = []
        return data


def read_blob(storage: BlobReader, key: str | None) -> bytes | None:
    """An item's bytes, or None when they are gone (an item deleted while the export runs):
    the response is under way, so a missing file is left out, not a broken download."""
    if key is None:
        return None
    try:
        return storage.get_bytes(key)
    except FileNotFoundError:
        log.warning("export: %s is missing from storage; left out", key)
        return None
