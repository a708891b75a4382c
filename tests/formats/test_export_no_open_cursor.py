"""A whole (one-worker) export reads the database in bounded pages, never holding a cursor open
while it writes the zip: on SQLite an open read cursor pins a snapshot, and the Job's progress
write after another connection's commit (an annotator saving) then fails at once with "database
is locked" (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out)."""
from __future__ import annotations

import io
import sqlite3

import pytest
from django.db import connection

from annotations import exports
from annotations.exports import export_options, export_write
from annotations.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the snapshot a cursor pins is SQLite's")
@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_a_progress_write_after_another_connections_commit_succeeds_mid_export(lossless_project, owner, fmt, monkeypatch):
    monkeypatch.setattr(exports, "_PAGE", 1)  # pages of one image: the export is many pages long, as a real one is
    job = Job.objects.create(project=lossless_project, kind=Job.Kind.EXPORT, created_by=owner)
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=5)
    calls = []

    def on_progress(done: int, total: int) -> None:
        # an annotator's save lands on another connection, then the worker reports progress
        other.execute("UPDATE annotations_project SET description = ? WHERE id = ?", (f"saved {done}", lossless_project.pk))
        other.commit()
        Job.objects.filter(pk=job.pk).update(done=done, total=total)
        calls.append(done)

    export_write(project=lossless_project, options=export_options(format=fmt, with_images=True), target=io.BytesIO(),
                 on_progress=on_progress, progress_every=1)
    other.close()
    job.refresh_from_db()
    assert calls == list(range(1, 6)) and job.done == 5
