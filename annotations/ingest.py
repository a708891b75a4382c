"""Image ingest: validate uploaded files or a zip, store them content-addressed, all or nothing.

Every file is staged to disk and checked with Pillow (pixel limit against decompression bombs,
full decode against truncation, EXIF orientation applied) before any row is written; one bad
file refuses the whole request with a message naming each bad file. Duplicates (same sha256 in
the project or twice in one request) are skipped and reported, not errors.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import struct
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from . import media
from .errors import ValidationFailed
from .models import Image, Job, Project

log = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "TIFF": "tif", "WEBP": "webp"}
_CHUNK = 1 << 20

# Bounds on what an upload zip (image ingest or dataset import) may hold, each checked from what
# the archive declares before anything is read or written. A Django setting of the same name
# overrides the default.
LIMIT_DEFAULTS = {
    "LABELER_IMPORT_MAX_ENTRIES": 200_000,  # zip entries (zipfile keeps one ZipInfo per entry in memory)
    "LABELER_IMPORT_MAX_MEMBER_BYTES": 1 << 30,  # uncompressed bytes of one member (COCO 2017 train JSON: 448 MB)
    "LABELER_IMPORT_MAX_TOTAL_BYTES": 8 << 30,  # uncompressed bytes of all members together
    "LABELER_IMPORT_MAX_RATIO": 100,  # uncompressed / compressed for members over 1 MiB (real data: 1-10x)
    "LABELER_IMPORT_MAX_ERRORS": 20,  # problems reported before an import stops looking
}
_RATIO_FLOOR = 1 << 20


def import_limit(name: str) -> int:
    return int(getattr(settings, name, LIMIT_DEFAULTS[name]))


class ProblemList:
    """Problems found in an upload, reported together as one refusal; stops the work at the
    first LABELER_IMPORT_MAX_ERRORS (a zip of 100,000 junk files answers with 20, not 100,000)."""

    def __init__(self, *, what: str = "the archive") -> None:
        self.items: list[str] = []
        self.limit = import_limit("LABELER_IMPORT_MAX_ERRORS")
        self.what = what

    def add(self, message: str) -> None:
        self.items.append(message)
        if len(self.items) >= self.limit:
            self.raise_if_any()

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items)
        stopped = count >= self.limit
        summary = f"stopped at the first {count} problems" if stopped else f"{count} problem{'s' if count > 1 else ''}"
        raise ValidationFailed(
            f"{self.what} was refused, nothing was imported ({summary}): {'; '.join(self.items)}",
            errors=list(self.items), error_count=count, stopped=stopped,
        )


def open_zip(source: str | Path | BinaryIO) -> zipfile.ZipFile:
    """A ZipFile whose declared entries and sizes are within the import limits (ValidationFailed
    otherwise). The entry count is read from the end record before zipfile builds its list."""
    try:
        fp = open(source, "rb") if isinstance(source, (str, Path)) else source
    except OSError:
        raise ValidationFailed("the upload is not a valid zip archive") from None
    try:
        end = zipfile._EndRecData(fp)  # type: ignore[attr-defined]  # stdlib's own end-record reader
        if end is None:
            raise ValidationFailed("the upload is not a valid zip archive")
        entries = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
        cap = import_limit("LABELER_IMPORT_MAX_ENTRIES")
        if entries > cap:
            raise ValidationFailed(f"the archive has {entries} entries, over the limit of {cap}; nothing was imported")
        fp.seek(0)
        archive = zipfile.ZipFile(fp)
    except ValidationFailed:
        if fp is not source:
            fp.close()
        raise
    except (zipfile.BadZipFile, OSError, EOFError, struct.error):
        if fp is not source:
            fp.close()
        raise ValidationFailed("the upload is not a valid zip archive") from None
    if fp is not source:
        archive._labeler_owned = fp  # type: ignore[attr-defined]  # closed with the archive (zipfile_close)
    return archive


def zipfile_close(archive: zipfile.ZipFile) -> None:
    archive.close()
    owned = getattr(archive, "_labeler_owned", None)
    if owned is not None:
        owned.close()


def check_declared(members: list[tuple[str, zipfile.ZipInfo]]) -> None:
    """Refuse members and archives that declare more than the limits, before any byte is read."""
    member_cap = import_limit("LABELER_IMPORT_MAX_MEMBER_BYTES")
    ratio_cap = import_limit("LABELER_IMPORT_MAX_RATIO")
    total = 0
    for name, info in members:
        total += info.file_size
        if info.file_size > member_cap:
            raise ValidationFailed(
                f"{name}: declares {info.file_size} bytes uncompressed, over the limit of {member_cap} for one entry; nothing was imported"
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > ratio_cap * max(info.compress_size, 1):
            raise ValidationFailed(
                f"{name}: {info.compress_size} compressed bytes declare {info.file_size} uncompressed "
                f"(over {ratio_cap}x: a zip bomb?); nothing was imported"
            )
    total_cap = import_limit("LABELER_IMPORT_MAX_TOTAL_BYTES")
    if total > total_cap:
        raise ValidationFailed(f"the archive declares {total} bytes uncompressed, over the limit of {total_cap}; nothing was imported")


@dataclass
class StagedImage:
    name: str
    path: Path
    sha256: str
    ext: str
    width: int
    height: int
    stored: bool = False  # already in media storage under its content-addressed name


@dataclass
class ImportResult:
    created: list[Image] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    thumbnail_job: Job | None = None


def _stage_stream(stream: BinaryIO, staging: Path, limit: int) -> tuple[Path, str]:
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=staging)
    written = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise ValidationFailed(f"file is larger than the {limit} byte limit")
            digest.update(chunk)
            out.write(chunk)
    return Path(tmp), digest.hexdigest()


def _check_image(name: str, path: Path | io.BytesIO) -> tuple[str, int, int]:
    """Open, bound and fully decode; apply EXIF orientation in place (the file, or the buffer's
    contents). Returns (ext, width, height)."""
    limit = settings.LABELER_MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = limit  # Pillow's own guard (89.5 MP) would otherwise fire below ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as img:
                fmt = img.format
                if fmt not in ALLOWED_FORMATS:
                    raise ValidationFailed(f"{name}: {fmt} images are not supported (use {', '.join(ALLOWED_FORMATS)})")
                width, height = img.size
                if width * height > limit:
                    raise ValidationFailed(f"{name}: {width}x{height} pixels is over the limit of {limit} pixels")
                img.load()  # decodes everything: truncated or corrupt data fails here
                orientation = img.getexif().get(0x0112, 1)
                if orientation not in (1, None):
                    upright = ImageOps.exif_transpose(img)
                    save_kwargs = {"quality": 95} if fmt == "JPEG" else {}
                    if isinstance(path, io.BytesIO):
                        path.seek(0)
                        path.truncate()
                    upright.save(path, format=fmt, **save_kwargs)
                    width, height = upright.size
    except ValidationFailed:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise ValidationFailed(f"{name}: image is too large (decompression bomb guard, limit {limit} pixels)") from None
    except UnidentifiedImageError:
        raise ValidationFailed(f"{name}: not an image (Pillow cannot identify it)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationFailed(f"{name}: damaged image ({exc})") from None
    return ALLOWED_FORMATS[fmt], width, height


def safe_member_name(name: str) -> str:
    """The archive path if it stays inside the archive root; otherwise ValidationFailed."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in posix.split("/"):
        raise ValidationFailed(f"{name}: path escapes the archive (absolute or '..'); nothing was imported")
    return posix


def _is_skippable(name: str) -> bool:
    return name.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in name.split("/") if p)


def iter_zip_members(archive: zipfile.ZipFile) -> Iterator[tuple[str, zipfile.ZipInfo]]:
    """Archive members to import, in order; refuses path escapes before anything is read."""
    infos = archive.infolist()
    for info in infos:
        safe_member_name(info.filename)
    for info in infos:
        if not _is_skippable(info.filename):
            yield info.filename, info


class _BoundedReader(io.RawIOBase):
    """Reads a zip member but never more than it declared: a zip bomb that lies about sizes stops here."""

    def __init__(self, stream: BinaryIO, declared: int, name: str) -> None:
        self._stream = stream
        self._left = declared
        self._name = name

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(_CHUNK if size < 0 else size)
        self._left -= len(chunk)
        if self._left < 0:
            raise ValidationFailed(f"{self._name}: holds more data than the archive declares (zip bomb?)")
        return chunk


def stage_one(name: str, stream: BinaryIO, staging: Path) -> StagedImage:
    """Stage and check one file; ValidationFailed's message starts with `name`."""
    try:
        path, sha = _stage_stream(stream, staging, settings.LABELER_MAX_UPLOAD_BYTES)
        ext, width, height = _check_image(name, path)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message if exc.message.startswith(name) else f"{name}: {exc.message}") from None
    return StagedImage(name=name, path=path, sha256=sha, ext=ext, width=width, height=height)


def stage_files(files: Iterable[tuple[str, BinaryIO]], staging: Path) -> list[StagedImage]:
    problems = ProblemList(what="the upload")
    staged: list[StagedImage] = []
    for name, stream in files:
        try:
            staged.append(stage_one(name, stream, staging))
        except ValidationFailed as exc:
            problems.add(exc.message)
    problems.raise_if_any()
    if not staged:
        raise ValidationFailed("no images were given")
    return staged


def stage_zip(zip_path: str | Path | BinaryIO, staging: Path) -> list[StagedImage]:
    archive = open_zip(zip_path)
    try:
        members = list(iter_zip_members(archive))
        check_declared(members)

        def opened() -> Iterator[tuple[str, BinaryIO]]:
            for name, info in members:
                with archive.open(info) as member:
                    yield name, _BoundedReader(member, info.file_size, name)  # type: ignore[misc]

        try:
            return stage_files(opened(), staging)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ValidationFailed(f"the archive is damaged: {exc}") from None
    finally:
        zipfile_close(archive)


def _storage_name(sha: str, ext: str) -> str:
    return f"images/{sha[:2]}/{sha}.{ext}"


class Staging:
    """A private local folder under MEDIA_ROOT/tmp where uploads are checked, and the move of checked
    files into content-addressed media storage (annotations/media.py). Leaving with an exception
    removes the files this import stored (all or nothing); the folder itself always goes."""

    def __enter__(self) -> "Staging":
        root = Path(settings.MEDIA_ROOT) / "tmp"
        root.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(dir=root))
        self.moved: list[str] = []  # stored names
        self._dirs: set[str] = set()
        local = media.local_target("")
        self._media = str(local) if local is not None else None  # None: remote storage
        return self

    def store(self, item: StagedImage) -> str:
        """Move a checked file to its content-addressed name (kept if already there); returns that name."""
        relative = _storage_name(item.sha256, item.ext)
        if item.stored:  # stage_small stored it already
            return relative
        target = media.local_target(relative)
        if target is not None:  # a local folder: a rename, not a copy
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(item.path, target)
                self.moved.append(relative)
        elif not media.exists(relative):
            media.save(relative, item.path)
            self.moved.append(relative)
        return relative

    def stage_small(self, name: str, data: bytes) -> StagedImage:
        """Check an image held in memory and write it straight to its content-addressed name
        (removed again if the import fails): for the many small files of a dataset import,
        where a temporary file and a move per image were a third of the import's time."""
        sha = hashlib.sha256(data).hexdigest()  # of the upload, as image ingest names files
        buffer = io.BytesIO(data)
        try:
            ext, width, height = _check_image(name, buffer)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message if exc.message.startswith(name) else f"{name}: {exc.message}") from None
        data = buffer.getvalue()
        relative = _storage_name(sha, ext)
        if self._media is None:  # remote storage: one upload per image
            if not media.exists(relative):
                media.save(relative, data)
                self.moved.append(relative)
            return StagedImage(name=name, path=Path(relative), sha256=sha, ext=ext, width=width, height=height, stored=True)
        # os.path strings, not Path objects: this runs for every image of a dataset
        target = os.path.join(self._media, relative)
        if not os.path.exists(target):
            folder = os.path.dirname(target)
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                self._dirs.add(folder)
            with open(target, "wb") as out:
                out.write(data)
            self.moved.append(relative)
        return StagedImage(name=name, path=Path(target), sha256=sha, ext=ext, width=width, height=height, stored=True)

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            for name in self.moved:
                try:
                    media.delete(name)
                except Exception:  # the store went away: the import fails anyway, say why it did
                    log.warning("could not remove %s after a failed import", name, exc_info=True)
        shutil.rmtree(self.path, ignore_errors=True)


def images_import(
    *, project: Project, user: AbstractBaseUser | None,
    files: Iterable[tuple[str, BinaryIO]] | None = None, zip_file: str | Path | BinaryIO | None = None,
    make_thumbnails: bool = True,
) -> ImportResult:
    """Import images from uploaded files and/or one zip; all or nothing."""
    with Staging() as staging:
        staged: list[StagedImage] = []
        if zip_file is not None:
            staged += stage_zip(zip_file, staging.path)
        if files is not None:
            staged += stage_files(files, staging.path)
        if not staged:
            raise ValidationFailed("no images were given")
        result = ImportResult()
        with transaction.atomic():
            known = set(Image.objects.filter(project=project, sha256__in=[s.sha256 for s in staged]).values_list("sha256", flat=True))
            for item in staged:
                if item.sha256 in known:
                    result.duplicates.append(item.name)
                    continue
                known.add(item.sha256)
                result.created.append(Image(
                    project=project, file=staging.store(item), file_name=PurePosixPath(item.name).name,
                    width=item.width, height=item.height, sha256=item.sha256,
                ))
            result.created = Image.objects.bulk_create(result.created)
            if not result.created[0:1] or result.created[0].pk is None:  # databases without RETURNING
                result.created = list(Image.objects.filter(project=project, sha256__in=[i.sha256 for i in result.created]))
            if make_thumbnails:
                from .thumbnails import thumbnail_job_start

                result.thumbnail_job = thumbnail_job_start(images=result.created, user=user)
        return result
