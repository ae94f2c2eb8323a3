"""A zip written front to back in constant memory, for exports of any number of files.

`zipfile` keeps a `ZipInfo` per member until it writes the central directory (about 1 KB
each: ~125 MB of a 100k-image export, measured); this writer spools each member's central
directory record to a temporary file instead and copies it out at the end. Members are stored
(images are compressed already) and their bytes are in hand before the header is written, so
the local header carries the CRC and sizes: no data descriptors. ZIP64 records appear where
the archive needs them (over 65,535 members, offsets past 4 GiB), as `zipfile` reads them."""

import struct
import tempfile
import time
import zlib
from collections.abc import Iterator

# offsets, sizes and counts at or past these go into ZIP64 fields (the tests lower them)
ZIP64_LIMIT = 0xFFFFFFFF
ZIP64_COUNT = 0xFFFF
# what a classic field then holds: "see the ZIP64 record", the value readers look for
IN_ZIP64 = 0xFFFFFFFF
COUNT_IN_ZIP64 = 0xFFFF
UTF8_NAMES = 0x0800  # general purpose flag bit 11: names are UTF-8
VERSION = 20  # 2.0: stored members, no ZIP64
VERSION_ZIP64 = 45
MADE_BY_UNIX = 3 << 8
FILE_MODE = 0o644 << 16  # external attributes: a plain rw-r--r-- file
COPY_CHUNK = 1024 * 1024


def dos_time(seconds: float) -> tuple[int, int]:
    local = time.localtime(seconds)
    day = ((max(local.tm_year, 1980) - 1980) << 9) | (local.tm_mon << 5) | local.tm_mday
    clock = (local.tm_hour << 11) | (local.tm_min << 5) | (local.tm_sec // 2)
    return clock, day


class ZipStream:
    """`add(name, data)` returns the bytes of that member; `finish()` those of the central
    directory and the end records. The caller hands both to its response as they come."""

    def __init__(self, modified: float | None = None) -> None:
        self.clock, self.day = dos_time(time.time() if modified is None else modified)
        self.offset = 0  # bytes handed out so far: where the next local header starts
        self.count = 0
        self.directory = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish)
        self.directory_size = 0

    def add(self, name: str, data: bytes) -> bytes:
        encoded = name.encode()
        crc = zlib.crc32(data)
        size = len(data)
        if size >= ZIP64_LIMIT:
            raise ValueError(f"{name}: a member of 4 GiB or more is not supported here")
        local = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            VERSION,
            UTF8_NAMES,
            0,  # stored
            self.clock,
            self.day,
            crc,
            size,
            size,
            len(encoded),
            0,
        )
        self._central(encoded, crc, size, self.offset)
        self.count += 1
        out = local + encoded + data
        self.offset += len(out)
        return out

    def _central(self, encoded: bytes, crc: int, size: int, offset: int) -> None:
        extra = b""
        needed = VERSION
        if offset >= ZIP64_LIMIT:
            extra = struct.pack("<HHQ", 0x0001, 8, offset)
            offset, needed = IN_ZIP64, VERSION_ZIP64
        record = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            MADE_BY_UNIX | VERSION_ZIP64,
            needed,
            UTF8_NAMES,
            0,
            self.clock,
            self.day,
            crc,
            size,
            size,
            len(encoded),
            len(extra),
            0,  # comment
            0,  # disk number start
            0,  # internal attributes
            FILE_MODE,
            offset,
        )
        self.directory.write(record + encoded + extra)
        self.directory_size += len(record) + len(encoded) + len(extra)

    def finish(self) -> Iterator[bytes]:
        """The central directory, copied from its spool, then the end records."""
        start, size = self.offset, self.directory_size
        with self.directory:
            self.directory.seek(0)
            while chunk := self.directory.read(COPY_CHUNK):
                yield chunk
        end = start + size
        zip64 = self.count >= ZIP64_COUNT or start >= ZIP64_LIMIT or size >= ZIP64_LIMIT
        tail = b""
        if zip64:
            tail += struct.pack(
                "<IQHHIIQQQQ",
                0x06064B50,
                44,  # the record's size after this field
                MADE_BY_UNIX | VERSION_ZIP64,
                VERSION_ZIP64,
                0,
                0,
                self.count,
                self.count,
                size,
                start,
            )
            tail += struct.pack("<IIQI", 0x07064B50, 0, end, 1)
        tail += struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            COUNT_IN_ZIP64 if self.count >= ZIP64_COUNT else self.count,
            COUNT_IN_ZIP64 if self.count >= ZIP64_COUNT else self.count,
            IN_ZIP64 if size >= ZIP64_LIMIT else size,
            IN_ZIP64 if start >= ZIP64_LIMIT else start,
            0,
        )
        yield tail
