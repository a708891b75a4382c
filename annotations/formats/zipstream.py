"""Streaming output: a zip written member by member, and JSON arrays spooled to disk.

A zip can hold only one member open for writing, but a COCO file has two arrays (images,
annotations) and an export has one file per split. So rows are read once, each JSON item is
appended to a spool file on disk, and every JSON document is assembled into the zip at the end
by copying its spools through a fixed-size buffer. Memory stays flat with the number of images;
what grows is the zip's central directory (one small record per member, as in every zip writer).

A chunked export (annotations/export_chunks.py) writes each chunk's members into a part zip and
its JSON items and list lines as fragments in the same part; `ZipSink.copy_members` and
`ZipFragment` put them together into the final zip, streamed through the same buffer.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterable, Protocol, Sequence

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


class Fragment(Protocol):
    """Items already joined by their separator (a Spool, or a part's member): `count` of them."""

    count: int

    def copy_to(self, out: BinaryIO) -> None: ...


class ZipFragment:
    """A fragment kept as a member of a part zip (a chunk's JSON items or list lines)."""

    def __init__(self, path: str | Path, member: str, count: int) -> None:
        self.path, self.member, self.count = path, member, count

    def copy_to(self, out: BinaryIO) -> None:
        with zipfile.ZipFile(self.path) as source, source.open(self.member) as data:
            shutil.copyfileobj(data, out, _COPY_BUFFER)


def joined(fragments: Sequence[Fragment], separator: bytes) -> list[bytes | Fragment]:
    """The pieces of one array (or list) made of several fragments, `separator` between non-empty ones."""
    out: list[bytes | Fragment] = []
    for fragment in fragments:
        if not fragment.count:
            continue
        if out:
            out.append(separator)
        out.append(fragment)
    return out


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

    def copy_members(self, path: str | Path, *, skip_prefix: str) -> int:
        """Copy every member of the zip at `path` (but those under `skip_prefix`) into this one,
        in order, each stored or deflated as it was there; returns how many."""
        copied = 0
        with zipfile.ZipFile(path) as source:
            for member in source.infolist():
                if member.filename.startswith(skip_prefix) or member.is_dir():
                    continue
                info = zipfile.ZipInfo(member.filename, date_time=member.date_time)
                info.compress_type = member.compress_type
                info.external_attr = member.external_attr
                info.file_size = member.file_size  # zip64 records only where the size needs them
                with source.open(member) as data, self._zip.open(info, "w") as out:
                    shutil.copyfileobj(data, out, _COPY_BUFFER)
                copied += 1
        return copied

    def write_document(self, name: str, parts: Iterable[bytes | Fragment], *, compress: bool = True) -> None:
        """One member (JSON, text) from literal byte pieces and spools, streamed (force_zip64: size unknown up front)."""
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with self._zip.open(info, "w", force_zip64=True) as out:
            for part in parts:
                if isinstance(part, (bytes, bytearray)):
                    out.write(part)
                else:
                    part.copy_to(out)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "ZipSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
