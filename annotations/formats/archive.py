"""Reading a dataset zip safely: every member name and declared size checked before anything is read.

Path escapes (`..`, absolute paths), too many entries, members or archives that declare more than
the import limits, and members that declare far more than they compress to (zip bombs) refuse
the whole archive up front (`annotations.ingest.open_zip` / `check_declared`). A member is then
read through ingest's bounded reader and zipfile's CRC check, so an entry that holds more (or
other) data than its header declares is refused with its name.
"""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .. import ingest
from ..errors import ValidationFailed


class Errors(ingest.ProblemList):
    """Problems found while reading an archive: reported together, stopping at the first N."""

    def __init__(self) -> None:
        super().__init__(what="the archive")


class Archive:
    def __init__(self, source: str | Path | BinaryIO) -> None:
        self._zip = ingest.open_zip(source)
        try:
            members = list(ingest.iter_zip_members(self._zip))  # refuses path escapes before any read
            ingest.check_declared(members)
        except ValidationFailed:
            ingest.zipfile_close(self._zip)
            raise
        self._infos = {name: info for name, info in members}

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    def size(self, name: str) -> int:
        return self._infos[name].file_size

    def open(self, name: str) -> BinaryIO:
        """A bounded stream of one member (for parsing or staging without holding it in memory)."""
        info = self._infos[name]
        return _Guarded(self._zip.open(info), info.file_size, name)  # type: ignore[return-value]

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            chunks = []
            while chunk := stream.read(1 << 20):
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        ingest.zipfile_close(self._zip)

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Guarded(io.RawIOBase):
    """ingest's bounded reader plus zipfile's own checks, with every failure named after the member."""

    def __init__(self, member: BinaryIO, declared: int, name: str) -> None:
        self._member = member
        self._bounded = ingest._BoundedReader(member, declared, name)  # the same guard as image ingest
        self._name = name
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self._bounded.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # bad CRC: data differs from what was declared
            raise ValidationFailed(
                f"{self._name}: the archive entry is damaged or holds other data than it declares (zip bomb?): {exc}"
            ) from None
        self.consumed += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:  # io.RawIOBase's buffered readers call this
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._member.close()
        super().close()


def stem(name: str) -> str:
    return PurePosixPath(name).stem


def basename(name: str) -> str:
    return PurePosixPath(name).name
