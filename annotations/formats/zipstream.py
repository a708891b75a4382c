"""Streaming output: a zip written member by member, and JSON arrays spooled to disk.

A zip can hold only one member open for writing, but a COCO file has two arrays (images,
annotations) and an export has one file per split. So rows are read once, each JSON item is
appended to a spool file on disk, and every JSON document is assembled into the zip at the end
by copying its spools through a fixed-size buffer. Memory stays flat with the number of images;
what grows is the zip's central directory (one small record per member, as in every zip writer).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterable

_COPY_BUFFER = 1 << 20


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Spool:
    """Items written one after another to a temporary file: JSON array items or text lines."""

    def __init__(self, separator: bytes) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()
        self._separator = separator
        self.count = 0

    def append_raw(self, data: bytes) -> None:
        if self.count:
            self._file.write(self._separator)
        self._file.write(data)
        self.count += 1

    def append_json(self, value: Any) -> None:
        self.append_raw(json_bytes(value))

    def copy_to(self, out: BinaryIO) -> None:
        self._file.flush()
        self._file.seek(0)
        shutil.copyfileobj(self._file, out, _COPY_BUFFER)

    def close(self) -> None:
        self._file.close()


def json_array_spool() -> Spool:
    return Spool(b",")


def lines_spool() -> Spool:
    return Spool(b"\n")


class ZipSink:
    """A zip archive written incrementally. Already-compressed files (PNG, JPEG) are stored, not deflated."""

    def __init__(self, target: str | Path | BinaryIO) -> None:
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=6)

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed time: same rows -> same bytes
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)

    def write_file(self, name: str, path: str | Path, *, compress: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with open(path, "rb") as source, self._zip.open(info, "w", force_zip64=True) as out:
            shutil.copyfileobj(source, out, _COPY_BUFFER)

    def write_document(self, name: str, parts: Iterable[bytes | Spool]) -> None:
        """One member (JSON, text) from literal byte pieces and spools, streamed (force_zip64: size unknown up front)."""
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with self._zip.open(info, "w", force_zip64=True) as out:
            for part in parts:
                if isinstance(part, Spool):
                    part.copy_to(out)
                else:
                    out.write(part)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "ZipSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
