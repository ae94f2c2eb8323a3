"""A write-only byte sink that a streaming response drains: pyarrow's ParquetWriter and
zipfile write into it, the export's generator yields what has piled up after each batch."""

import io
from typing import Protocol


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
