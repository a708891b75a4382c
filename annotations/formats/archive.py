"""Reading a dataset zip safely: every member name checked before anything is read, sizes bounded.

Path escapes (`..`, absolute paths) refuse the whole archive up front. A member is read through
ingest's bounded reader and zipfile's CRC check, so an entry that holds more (or other) data than
its header declares - the zip bomb that lies about sizes - is refused with its name.
"""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

from .. import ingest
from ..errors import ValidationFailed


class Errors:
    """Problems found while reading an archive, reported together (up to a limit) as one refusal."""

    LIMIT = 20

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            shown = "; ".join(self.items[: self.LIMIT])
            more = f" (and {len(self.items) - self.LIMIT} more)" if len(self.items) > self.LIMIT else ""
            raise ValidationFailed(
                f"the archive was refused, nothing was imported: {shown}{more}", errors=self.items[:200],
            )


class Archive:
    def __init__(self, source: str | Path | BinaryIO) -> None:
        try:
            self._zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError):
            raise ValidationFailed("the upload is not a valid zip archive") from None
        try:
            members = list(ingest.iter_zip_members(self._zip))  # refuses path escapes before any read
        except ValidationFailed:
            self._zip.close()
            raise
        self._infos = {name: info for name, info in members}
        declared = sum(info.file_size for info in self._infos.values())
        limit = settings.LABELER_MAX_UPLOAD_BYTES * 4
        if declared > limit:
            self._zip.close()
            raise ValidationFailed(f"the archive declares {declared} bytes uncompressed, over the limit of {limit}")

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def size(self, name: str) -> int:
        return self._infos[name].file_size

    def open(self, name: str) -> BinaryIO:
        """A bounded stream of one member (for staging images without holding them in memory)."""
        info = self._infos[name]
        return _Guarded(self._zip.open(info), info.file_size, name)  # type: ignore[return-value]

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            chunks = []
            while chunk := stream.read(1 << 20):
                chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()

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

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self._bounded.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # bad CRC: data differs from what was declared
            raise ValidationFailed(
                f"{self._name}: the archive entry is damaged or holds other data than it declares (zip bomb?): {exc}"
            ) from None

    def close(self) -> None:
        self._member.close()
        super().close()


def stem(name: str) -> str:
    return PurePosixPath(name).stem


def basename(name: str) -> str:
    return PurePosixPath(name).name
