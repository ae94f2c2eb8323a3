"""The object-storage interface. Keys are produced by `make_key`, never taken from users raw."""

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import BinaryIO

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def make_key(*parts: str | int) -> str:
    """Join parts into a key; each part is reduced to safe characters and may not be `.`/`..`."""
    cleaned = []
    for part in parts:
        text = _UNSAFE.sub("_", str(part)).strip("._") or "_"
        cleaned.append(text[:150])
    return "/".join(cleaned)


def folder(prefix: str) -> str:
    """A prefix as a folder: `projects/1` must never match `projects/10/...`, so every prefix
    ends with `/` (the empty prefix, the whole store, stays empty)."""
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


class Storage(ABC):
    @abstractmethod
    def put_stream(self, key: str, stream: BinaryIO) -> int:
        """Store a stream (read in chunks, never whole); returns the bytes written."""

    def put_bytes(self, key: str, data: bytes) -> None:
        import io

        self.put_stream(key, io.BytesIO(data))

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream; raises FileNotFoundError for a missing key."""

    def iter_chunks(self, key: str, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The object in chunks of `size` bytes, for streaming responses (a file object would
        be iterated line by line: tiny chunks for binary data)."""
        with self.open(key) as stream:
            while chunk := stream.read(size):
                yield chunk

    def get_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """The keys inside the folder `prefix` (see `folder`), never keys that merely start
        with the same characters."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every key inside the folder `prefix`; the whole store is never a target."""
        if not folder(prefix):
            raise ValueError("refusing to delete the whole store (empty prefix)")
        for key in list(self.list(prefix)):
            self.delete(key)

    def presigned_get(self, key: str, seconds: int = 3600) -> str | None:
        """A URL the browser can GET directly; None when the backend cannot sign."""
        return None

    def presigned_put(self, key: str, seconds: int = 3600, size: int | None = None) -> str | None:
        """A URL the browser can PUT `size` bytes to (signed for that length); None when the
        backend cannot sign."""
        return None

    def etag(self, key: str) -> str | None:
        """The object's entity tag where the backend keeps one (S3), to notice a rewrite."""
        return None
