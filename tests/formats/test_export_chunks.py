"""An export split into chunks (tasks run in-process, one chunk after another): the zip it writes
has the same members and content as a one-worker export of the same project, whatever the options;
done is summed from the chunks; a chunk that fails ends the Job failed naming the image; no part is
left behind on any exit."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from annotations import media
from annotations.export_chunks import export_parts_folder
from annotations.exports import export_options, export_start
from annotations.models import Image, Job, JobChunk

pytestmark = pytest.mark.django_db


def run_export(project, owner, capture, settings, *, chunk: int, **options) -> Job:
    settings.LABELER_EXPORT_CHUNK = chunk
    with capture(execute=True):
        job = export_start(project=project, user=owner, options=export_options(**options))
    job.refresh_from_db()
    return job


def zip_content(name: str) -> tuple[list[str], dict[str, object]]:
    """Member names in order, and each member's content as a reader sees it: JSON parsed (less the
    moment it was written), PNGs as their mode, palette and pixels, anything else its bytes."""
    out: dict[str, object] = {}
    with zipfile.ZipFile(io.BytesIO(media.read_bytes(name))) as z:
        names = z.namelist()
        for member in names:
            data = z.read(member)
            if member.endswith(".json"):
                document = json.loads(data)
                document.get("info", {}).pop("date_created", None)
                out[member] = document
            elif member.endswith(".png"):
                with PILImage.open(io.BytesIO(data)) as png:
                    out[member] = (png.mode, png.getpalette(), np.asarray(png).tolist())
            else:
                out[member] = data
    return names, out


def parts_left(job: Job) -> list[str]:
    folder = Path(media.local_target(export_parts_folder(job)) or "")
    scratch = [str(p) for p in (folder.parent.parent).rglob("*.part")] if folder.parent.parent.is_dir() else []
    return ([str(p) for p in folder.rglob("*")] if folder.is_dir() else []) + scratch


OPTIONS = [
    pytest.param({"format": "coco", "with_images": True, "void_as_ignore": True}, id="coco-images-void"),
    pytest.param({"format": "coco", "mask_format": "polygon", "split": "train=0.5,val=0.5", "seed": 3}, id="coco-polygon-split"),
    pytest.param({"format": "coco", "include_ground_truth": True, "only_status": ["new", "in_progress"]},
                 id="coco-ground-truth-status"),
    pytest.param({"format": "voc", "with_images": True}, id="voc-images-stored-splits"),
    pytest.param({"format": "voc", "split": "train=0.4,val=0.3,test=0.3", "include_ground_truth": True}, id="voc-split-gt"),
]


@pytest.mark.parametrize("options", OPTIONS)
def test_a_chunked_export_writes_the_zip_that_a_one_worker_export_writes(
    lossless_project, owner, settings, django_capture_on_commit_callbacks, options,
):
    Image.objects.filter(pk=lossless_project.images.order_by("id").values_list("pk", flat=True)[2]).update(ground_truth=True)
    whole = run_export(lossless_project, owner, django_capture_on_commit_callbacks, settings, chunk=1000, **options)
    assert whole.status == "succeeded", whole.message
    assert not JobChunk.objects.filter(job=whole).exists()
    chunked = run_export(lossless_project, owner, django_capture_on_commit_callbacks, settings, chunk=2, **options)
    assert chunked.status == "succeeded", chunked.message
    assert whole.total >= 3 and chunked.result["chunks"] == -(-whole.total // 2)  # several chunks, 2 images each
    assert list(JobChunk.objects.filter(job=chunked).values_list("status", flat=True)) == ["succeeded"] * chunked.result["chunks"]
    whole_names, whole_content = zip_content(whole.result_file.name)
    chunked_names, chunked_content = zip_content(chunked.result_file.name)
    assert chunked_names == whole_names
    assert chunked_content == whole_content
    assert (chunked.done, chunked.total) == (whole.done, whole.total) == (whole.total, whole.result["images"])
    assert {k: v for k, v in chunked.result.items() if not k.startswith("chunks")} == whole.result
    assert chunked.result_file.name == f"exports/{lossless_project.pk}/job-{chunked.pk}-{options['format']}.zip"
    assert parts_left(chunked) == []


def test_a_chunk_that_fails_ends_the_export_failed_naming_the_image_and_leaves_no_part_or_zip(
    lossless_project, owner, settings, django_capture_on_commit_callbacks,
):
    images = list(lossless_project.images.order_by("id"))
    broken = images[3]
    media.delete(broken.file.name)  # the stored file is gone: the chunk that copies it cannot
    job = run_export(lossless_project, owner, django_capture_on_commit_callbacks, settings, chunk=2, format="voc",
                     with_images=True)
    assert job.status == "failed"
    assert job.message.startswith(f"image {broken.pk} ({broken.file_name}): FileNotFoundError"), job.message
    assert list(JobChunk.objects.filter(job=job).values_list("status", flat=True)) == ["succeeded", "failed", "running"]
    assert not job.result_file
    assert not media.exists(f"exports/{lossless_project.pk}/job-{job.pk}-voc.zip")
    assert parts_left(job) == []


def test_the_sweep_removes_the_parts_of_ended_exports_and_keeps_those_of_running_ones(lossless_project, owner):
    from workers.temp_files import stale_temp_files_sweep

    ended = Job.objects.create(project=lossless_project, kind=Job.Kind.EXPORT, status=Job.Status.FAILED)
    running = Job.objects.create(project=lossless_project, kind=Job.Kind.EXPORT, status=Job.Status.RUNNING)
    for job in (ended, running):
        media.save(f"{export_parts_folder(job)}/00000.zip", b"part")
    removed = stale_temp_files_sweep()
    assert export_parts_folder(ended) in removed and export_parts_folder(running) not in removed
    assert not media.exists(f"{export_parts_folder(ended)}/00000.zip")
    assert media.exists(f"{export_parts_folder(running)}/00000.zip")
