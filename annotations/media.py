"""Media storage: the one door to durable files (images, thumbnails, uploads, checkpoints, exports,
superpixels). Everything goes through Django's storage API (`default_storage`, chosen by
settings.STORAGES / MEDIA_STORAGE): a local folder on one machine, an S3-compatible bucket when web
and workers run on several. Nothing else opens `MEDIA_ROOT / name`.

Owns:
- reading (`open_read`, `read_bytes`) and writing under an exact name (`save`; an object appears
  only once it is complete: S3 uploads are single requests or multipart uploads that commit at the
  end, boto3's upload_fileobj);
- a real local file for code that needs one (`local_path`): the file itself on local storage, a copy
  in a small bounded per-machine cache for remote storage (images read every epoch, checkpoints);
- the store's name in messages (`store_name`) and `StorageUnavailable`: a store that does not
  answer or refuses the credentials fails the job with a message that names it; `storage_check`
  is what a worker runs when it starts.
Scratch work (upload staging, training work dirs, export building) stays on local disk.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, TypeVar

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

from .errors import DomainError

log = logging.getLogger(__name__)
T = TypeVar("T")


class StorageUnavailable(DomainError):
    """The media store did not answer, or refused this deployment's credentials."""

    status = 503


def is_local() -> bool:
    return isinstance(default_storage, FileSystemStorage)


def store_name() -> str:
    """The store as people know it: 'the media folder' or 's3://bucket at https://endpoint'."""
    if is_local():
        return "the media folder"
    bucket = getattr(default_storage, "bucket_name", "?")
    endpoint = getattr(default_storage, "endpoint_url", None) or "the provider's default endpoint"
    prefix = getattr(default_storage, "location", "")
    return f"media store s3://{bucket}{'/' + prefix if prefix else ''} at {endpoint}"


def _is_missing(exc: BaseException) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) if hasattr(exc, "response") else ""
    return isinstance(exc, FileNotFoundError) or code in {"404", "NoSuchKey", "NotFound"}


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn the store's own errors (connection refused, timeouts, access denied, no such bucket)
    into StorageUnavailable naming it; a missing object stays FileNotFoundError."""
    try:
        yield
    except DomainError:
        raise
    except Exception as exc:
        if _is_missing(exc):
            raise FileNotFoundError(f"{what}: not in {store_name()}") from exc
        if is_local() and not isinstance(exc, OSError):
            raise
        module = type(exc).__module__ or ""
        if is_local() or module.startswith(("botocore", "boto3", "s3transfer", "urllib3")) or isinstance(exc, OSError):
            raise StorageUnavailable(f"{store_name()} could not {what}: {type(exc).__name__}: {exc}",
                                     store=store_name()) from exc
        raise


def open_read(name: str) -> IO[bytes]:
    """The stored file, streamed (S3: ranged reads as the caller reads)."""
    with store_errors(f"read {name}"):
        return default_storage.open(name, "rb")


def _stream(name: str) -> IO[bytes]:
    """The stored bytes as a forward-only stream: one GET on S3 (django-storages' file would ask
    for the object's head first), the file itself locally. Call inside store_errors."""
    if is_local():
        return default_storage.open(name, "rb")
    from storages.utils import clean_name

    key = default_storage._normalize_name(clean_name(name))  # its own rule for names under `location`
    return default_storage.bucket.Object(key).get()["Body"]


def read_bytes(name: str) -> bytes:
    with store_errors(f"read {name}"):
        handle = _stream(name)
        try:
            return handle.read()
        finally:
            handle.close()


def exists(name: str) -> bool:
    with store_errors(f"look up {name}"):
        return default_storage.exists(name)


def size(name: str) -> int:
    with store_errors(f"look up {name}"):
        return default_storage.size(name)


def delete(name: str) -> None:
    """Remove a stored file; a missing one is fine (idempotent cleanups)."""
    if not name:
        return
    with store_errors(f"remove {name}"):
        default_storage.delete(name)
    _cache.forget(name)


def save(name: str, content: IO[bytes] | bytes | str | Path) -> str:
    """Store `content` (a file object, bytes or a local file's path) under exactly `name`; the
    object becomes visible only when complete (a local file is written beside and renamed)."""
    with store_errors(f"write {name}"):
        if isinstance(content, (str, Path)):
            with open(content, "rb") as handle:
                return _save(name, handle)
        if isinstance(content, (bytes, bytearray)):
            import io

            return _save(name, io.BytesIO(content))
        return _save(name, content)


def _save(name: str, handle: IO[bytes]) -> str:
    if is_local():
        target = Path(default_storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(handle, out, 1 << 20)
            os.replace(part, target)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
        return name
    stored = default_storage.save(name, File(handle, name=name))
    _cache.forget(name)
    return stored


def local_target(name: str) -> Path | None:
    """Where `name` lives on this machine's disk when the store is a local folder, else None (the
    fast path of writers that produce many small files)."""
    return Path(default_storage.path(name)) if is_local() else None


def url(name: str) -> str:
    """The member-only media view's address for a stored file (annotations/views.py media_file)."""
    return f"{settings.MEDIA_URL}{name}"


class _Cache:
    """Local copies of remote files, at most settings.LABELER_MEDIA_CACHE_BYTES per process,
    least recently used out first. Files are written beside and renamed, so a reader in another
    thread sees a whole file or none."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[Path, int]] = OrderedDict()
        self.bytes = 0

    def folder(self) -> Path:
        path = Path(settings.MEDIA_ROOT) / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def get(self, name: str) -> Path:
        with self.lock:
            entry = self.entries.get(name)
            if entry is not None and entry[0].is_file():
                self.entries.move_to_end(name)
                return entry[0]
        suffix = Path(name).suffix
        target = self.folder() / f"{hashlib.sha256(name.encode()).hexdigest()}{suffix}"
        if not target.is_file():
            fd, part = tempfile.mkstemp(dir=target.parent, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, store_errors(f"read {name}"):
                    source = _stream(name)
                    try:
                        shutil.copyfileobj(source, out, 1 << 20)
                    finally:
                        source.close()
                os.replace(part, target)
            except BaseException:
                Path(part).unlink(missing_ok=True)
                raise
        self._add(name, target)
        return target

    def _add(self, name: str, path: Path) -> None:
        with self.lock:
            if name in self.entries:
                self.bytes -= self.entries.pop(name)[1]
            length = path.stat().st_size
            self.entries[name] = (path, length)
            self.bytes += length
            while self.bytes > settings.LABELER_MEDIA_CACHE_BYTES and len(self.entries) > 1:
                _, (old, old_length) = self.entries.popitem(last=False)
                self.bytes -= old_length
                old.unlink(missing_ok=True)

    def forget(self, name: str) -> None:
        with self.lock:
            entry = self.entries.pop(name, None)
            if entry is not None:
                self.bytes -= entry[1]
                entry[0].unlink(missing_ok=True)


_cache = _Cache()


def local_path(name: str) -> Path:
    """A local file with the stored file's bytes: the file itself on local storage, a cached copy
    otherwise. Meant for files that do not change under their name (content-addressed images,
    checkpoints)."""
    if is_local():
        path = Path(default_storage.path(name))
        if not path.is_file():
            raise FileNotFoundError(f"{name}: not in {store_name()}")
        return path
    return _cache.get(name)


def prefetched(items: Iterable[T], name_of: Callable[[T], str], *, window: int = 16, threads: int = 4) -> Iterator[T]:
    """`items` in order, each one's file already in the local cache when it comes out: remote
    reads run `window` items ahead in `threads` threads (a store's latency, not its bandwidth,
    bounds a read of many small files). On local storage, `items` as they are."""
    if is_local():
        yield from items
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="media-read") as pool:
        pending: deque[tuple[T, Future]] = deque()
        for item in items:
            pending.append((item, pool.submit(local_path, name_of(item))))
            if len(pending) >= window:
                ready, future = pending.popleft()
                future.result()  # the store's error, in order
                yield ready
        while pending:
            ready, future = pending.popleft()
            future.result()
            yield ready


@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """A local file for a one-off read of `name` (an upload a worker consumes): the file itself on
    local storage, a temporary download removed afterwards otherwise."""
    if is_local():
        yield Path(default_storage.path(name))
        return
    fd, part = tempfile.mkstemp(suffix=Path(name).suffix)
    try:
        with os.fdopen(fd, "wb") as out, open_read(name) as source:
            shutil.copyfileobj(source, out, 1 << 20)
        yield Path(part)
    finally:
        Path(part).unlink(missing_ok=True)


def storage_check() -> None:
    """Raise StorageUnavailable unless the store answers and takes this deployment's credentials
    (a worker's start: a wrong key is said at once, not at the first job)."""
    if is_local():
        root = Path(settings.MEDIA_ROOT)
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root, prefix=".check-"):
                pass
        except OSError as exc:
            raise StorageUnavailable(f"the media folder {root} is not writable: {exc}") from exc
        return
    try:
        with store_errors("be reached with this deployment's credentials"):
            default_storage.connection.meta.client.head_bucket(Bucket=default_storage.bucket_name)
    except FileNotFoundError:
        raise StorageUnavailable(f"{store_name()}: the bucket does not exist (or these credentials may not see it)",
                                 store=store_name()) from None
