"""Temporary files that a dead task leaves behind, and their removal.

A task cleans its own temporary files on every exit it lives through (ingest.Staging, the export's
`.part` file, the import's and the register job's uploads). A worker SIGKILLed mid-task lives
through none, so:
- `job_temp_files_remove(job_id)` removes what a Job owns by name (its upload) when the Job
  gives up, and then sweeps;
- `stale_temp_files_sweep()` runs when a worker starts and removes staging folders and unfinished
  export files that nothing has touched for settings.LABELER_STALE_TEMP_S (a live task writes into
  its own all the time), uploads that no unfinished Job refers to, and the parts of chunked
  exports whose Job has ended (annotations.export_chunks.export_parts_stale).
"""
from __future__ import annotations

import datetime
import logging
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from annotations import media as stored
from annotations.jobs import TRANSIENT_ERRORS
from annotations.models import Job

log = logging.getLogger(__name__)

UPLOAD_FOLDERS = ("tmp/imports", "uploads/models")  # a queued Job's upload waits here for its worker


def _newest_change(path: Path) -> float:
    """The latest modification time in a file or folder tree (0 when it vanished meanwhile)."""
    try:
        newest = path.lstat().st_mtime
        if path.is_dir() and not path.is_symlink():
            for child in path.rglob("*"):
                try:
                    newest = max(newest, child.lstat().st_mtime)
                except FileNotFoundError:
                    continue
        return newest
    except FileNotFoundError:
        return 0.0


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def stale_temp_files_sweep(*, older_than_s: float | None = None) -> list[str]:
    """Remove what dead tasks left; returns the removed paths, relative to MEDIA_ROOT."""
    media = Path(settings.MEDIA_ROOT)
    horizon = time.time() - (settings.LABELER_STALE_TEMP_S if older_than_s is None else older_than_s)
    candidates: list[Path] = []
    tmp = media / "tmp"
    if tmp.is_dir():
        candidates += [p for p in tmp.iterdir() if p.name != "imports"]  # staging folders
    exports = media / "exports"
    if exports.is_dir():
        candidates += list(exports.rglob("*.part"))
    removed = []
    for path in candidates:
        if _newest_change(path) < horizon:
            _remove(path)
            removed.append(str(path.relative_to(media)))
    wanted = {
        params.get("upload") for params in
        Job.objects.exclude(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED]).values_list("params", flat=True)
        if isinstance(params, dict)
    }
    recent = timezone.now() - datetime.timedelta(seconds=600)
    for folder in UPLOAD_FOLDERS:  # in media storage (annotations/media.py), seen by every machine
        try:
            names = [f"{folder}/{name}" for name in default_storage.listdir(folder)[1]]
        except FileNotFoundError:
            continue
        for relative in names:
            # A fresh upload may belong to a Job whose row is not committed yet: keep it a while.
            if relative not in wanted and default_storage.get_modified_time(relative) < recent:
                stored.delete(relative)
                removed.append(relative)
    from annotations.export_chunks import export_parts_stale

    removed += export_parts_stale()
    if removed:
        log.warning("removed %s temporary files left by dead tasks: %s", len(removed), ", ".join(removed[:20]))
    return removed


def job_temp_files_remove(job_id: int) -> None:
    """A Job that gave up: remove its upload, then whatever dead tasks left."""
    job = Job.objects.filter(pk=job_id).first()
    upload = (job.params or {}).get("upload") if job is not None else None
    if isinstance(upload, str) and ".." not in upload and any(upload.startswith(f + "/") for f in UPLOAD_FOLDERS):
        stored.delete(upload)
    stale_temp_files_sweep()


@contextmanager
def upload_used(job: Job) -> Iterator[Path]:
    """The Job's upload (params["upload"] in media storage) as a local file, removed from storage
    once the body that uses it has run, whatever its outcome, except after a transient error: the
    task runs again and needs it."""
    name = job.params["upload"]
    try:
        with stored.local_copy(name) as upload:
            yield upload
    except TRANSIENT_ERRORS:
        raise
    except BaseException:
        stored.delete(name)
        raise
    stored.delete(name)
