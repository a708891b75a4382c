"""Image ingest: validate uploaded files or a zip, store them content-addressed, all or nothing.

Every file is staged to disk and checked with Pillow (pixel limit against decompression bombs,
full decode against truncation, EXIF orientation applied) before any row is written; one bad
file refuses the whole request with a message naming each bad file. Duplicates (same sha256 in
the project or twice in one request) are skipped and reported, not errors.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from .errors import ValidationFailed
from .models import Image, Job, Project

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "TIFF": "tif", "WEBP": "webp"}
_CHUNK = 1 << 20


@dataclass
class StagedImage:
    name: str
    path: Path
    sha256: str
    ext: str
    width: int
    height: int


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


def _check_image(name: str, path: Path) -> tuple[str, int, int]:
    """Open, bound and fully decode; apply EXIF orientation in place. Returns (ext, width, height)."""
    limit = settings.LABELER_MAX_IMAGE_PIXELS
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
    path = PurePosixPath(posix)
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in path.parts:
        raise ValidationFailed(f"{name}: path escapes the archive (absolute or '..'); nothing was imported")
    return posix


def _is_skippable(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return name.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in parts)


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


def stage_files(files: Iterable[tuple[str, BinaryIO]], staging: Path) -> list[StagedImage]:
    errors: list[str] = []
    staged: list[StagedImage] = []
    limit = settings.LABELER_MAX_UPLOAD_BYTES
    for name, stream in files:
        try:
            path, sha = _stage_stream(stream, staging, limit)
            ext, width, height = _check_image(name, path)
            staged.append(StagedImage(name=name, path=path, sha256=sha, ext=ext, width=width, height=height))
        except ValidationFailed as exc:
            errors.append(exc.message if exc.message.startswith(name) else f"{name}: {exc.message}")
    if errors:
        raise ValidationFailed(
            f"{len(errors)} file(s) refused, nothing was imported: " + "; ".join(errors[:20]), errors=errors,
        )
    if not staged:
        raise ValidationFailed("no images were given")
    return staged


def stage_zip(zip_path: str | Path | BinaryIO, staging: Path) -> list[StagedImage]:
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise ValidationFailed("the upload is not a valid zip archive") from None
    with archive:
        members = list(iter_zip_members(archive))
        declared = sum(info.file_size for _, info in members)
        if declared > settings.LABELER_MAX_UPLOAD_BYTES * 4:
            raise ValidationFailed(f"archive declares {declared} bytes uncompressed, over the limit")

        def opened() -> Iterator[tuple[str, BinaryIO]]:
            for name, info in members:
                with archive.open(info) as member:
                    yield name, _BoundedReader(member, info.file_size, name)  # type: ignore[misc]

        try:
            return stage_files(opened(), staging)
        except zipfile.BadZipFile as exc:
            raise ValidationFailed(f"the archive is damaged: {exc}") from None


def _storage_name(sha: str, ext: str) -> str:
    return f"images/{sha[:2]}/{sha}.{ext}"


class Staging:
    """A private folder under MEDIA_ROOT/tmp where uploads are checked, and the move of checked
    files into content-addressed storage. Leaving with an exception removes the files this import
    moved (all or nothing); the folder itself always goes."""

    def __enter__(self) -> "Staging":
        root = Path(settings.MEDIA_ROOT) / "tmp"
        root.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(dir=root))
        self.moved: list[Path] = []
        return self

    def store(self, item: StagedImage) -> str:
        """Move a checked file to its content-addressed name (kept if already there); returns that name."""
        relative = _storage_name(item.sha256, item.ext)
        target = Path(settings.MEDIA_ROOT) / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(item.path, target)
            self.moved.append(target)
        return relative

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            for path in self.moved:
                path.unlink(missing_ok=True)
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
