"""Local-folder storage (the embedded default)."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from filament.storage.base import Storage, folder

CHUNK = 1024 * 1024


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def put_stream(self, key: str, stream: BinaryIO) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        # write to a temp file and rename, so a reader never sees half a file
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            while chunk := stream.read(CHUNK):
                tmp.write(chunk)
                written += len(chunk)
        os.replace(tmp.name, path)
        return written

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(folder(prefix)) if folder(prefix) else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        if not folder(prefix):
            raise ValueError("refusing to delete the whole store (empty prefix)")
        path = self._path(folder(prefix))
        if path.is_dir() and path != self.root:
            shutil.rmtree(path)

    def local_path(self, key: str) -> Path:
        return self._path(key)
