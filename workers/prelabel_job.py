"""The pre-label job: run a model version over a project's images and write its proposals.

Images are decoded ahead of the model by the Predictor's threads, and the model runs ahead of
this loop in its own thread, so encoding and writing one batch's proposals overlaps the next
forward pass. Database writes stay on the job's thread. Each finished image's proposals are
written at once (one short transaction per image) and counted on the chunk's row, so a killed
worker's redelivered task resumes after the last finished image; `proposals_replace` swaps only
this version's untouched proposals, so even the image in flight is not duplicated and no human
annotation is touched.

Many images are split into chunks of settings.LABELER_PRELABEL_CHUNK (workers/chunks.py): any gpu
worker takes any chunk, the Job's done is the sum of its chunks', a cancel or a chunk's failure
stops the others at their next image, and the chunk that succeeds last ends the Job with the sums.
A job of one chunk runs in its first task, as before.
"""
from __future__ import annotations

import functools
import io
import logging
import time
from contextlib import closing
from typing import Any, Callable

from django.utils import timezone

from annotations import masks, media
from annotations.errors import DomainError
from annotations.jobs import TRANSIENT_ERRORS, JobReporter, job_body
from annotations.models import Image, Job, JobChunk, ModelVersion
from annotations.selectors import prelabel_image_ids
from annotations.services import Proposal, proposals_replace
from annotations.training import prelabel_images_check

from .chunks import (
    chunk_delivery_begin, chunk_delivery_end, chunk_progress, chunk_results, chunk_run, chunk_set_done, chunk_succeed,
    chunks_dispatch, chunks_plan, chunks_summary,
)
from .model_versions import load_model_version, version_numerics

log = logging.getLogger(__name__)


def proposals_from(prediction, mapping: list[int | None]) -> list[Proposal]:
    out: list[Proposal] = []
    if hasattr(prediction, "instances"):
        for instance in prediction.instances:
            class_id = mapping[instance.class_index] if instance.class_index < len(mapping) else None
            if class_id is not None:
                out.append(Proposal(label_class_id=class_id, rle=masks.encode(instance.mask), score=round(instance.score, 4)))
    else:
        for class_index, mask in sorted(prediction.masks.items()):
            class_id = mapping[class_index] if class_index < len(mapping) else None
            if class_id is not None:
                out.append(Proposal(label_class_id=class_id, rle=masks.encode(mask), score=None))
    return out


class _Reads:
    """(image id, decode) pairs for the Predictor, each image streamed from media storage by the
    decode-ahead threads. The names are read here (the model's thread must not touch the
    database); a store that fails (unreachable, refusing the keys) is remembered per image, so the
    job fails naming the store and the image instead of counting it as one bad image."""

    def __init__(self, image_ids: list[int]) -> None:
        self.names = dict(Image.objects.filter(pk__in=image_ids).values_list("pk", "file"))
        self.ids = image_ids
        self.store_failures: dict[int, media.StorageUnavailable] = {}

    def _decode(self, pk: int):
        from .ml.datasets import load_image

        try:
            return load_image(io.BytesIO(media.read_bytes(self.names[pk])))  # one GET, decoded here
        except media.StorageUnavailable as exc:
            self.store_failures[pk] = exc
            raise

    def items(self) -> list[tuple[int, Callable]]:
        return [(pk, functools.partial(self._decode, pk)) for pk in self.ids]

    def check(self, pk: int) -> None:
        failure = self.store_failures.get(pk)
        if failure is not None:
            raise media.StorageUnavailable(f"image {pk} ({self.names[pk]}): {failure.message}", image=pk)


def _prelabel_images(
    job: Job, version: ModelVersion, image_ids: list[int], *, on_done: Callable[[int], None],
) -> dict[str, Any]:
    """Pre-label `image_ids` in order, writing each image's proposals as it finishes;
    `on_done(n)` after the n-th (it raises JobCancelled when the Job has ended). An error that is
    not one bad image (the store, the database) stops here naming the image it happened on."""
    from .ml.inference import Predictor

    model, spec = load_model_version(version)
    predictor = Predictor(
        model, spec, score_threshold=float(job.params.get("score_threshold", 0.5)),
        batch_size=job.params.get("batch_size"), numerics=version_numerics(version),
    )
    written, errors, started = 0, [], time.monotonic()
    reads = _Reads(image_ids)
    # closing(): a cancelled or failed job stops the model's thread at once.
    with closing(predictor.predict(reads.items(), run_ahead=True)) as predictions:
        for done, prediction in enumerate(predictions, start=1):
            reads.check(prediction.key)
            if prediction.error:
                errors.append(f"image {prediction.key}: {prediction.error}")
            else:
                try:
                    image = Image.objects.select_related("project").get(pk=prediction.key)
                    proposals = proposals_from(prediction, version.class_mapping)
                    written += proposals_replace(image=image, model_version=version, proposals=proposals)
                    Image.objects.filter(pk=image.pk).update(uncertainty=prediction.uncertainty)
                except TRANSIENT_ERRORS as exc:
                    exc.add_note(f"image {prediction.key}")
                    raise
                except DomainError as exc:
                    raise DomainError(f"image {prediction.key} ({reads.names[prediction.key]}): {exc.message}") from exc
                except Exception as exc:
                    log.exception("job %s: image %s failed", job.pk, prediction.key)
                    raise DomainError(f"image {prediction.key} ({reads.names[prediction.key]}): {type(exc).__name__}: {exc}") from exc
            on_done(done)
    return {"images": len(image_ids), "proposals": written, "errors": errors[:100], "seconds": round(time.monotonic() - started, 3)}


def _summary(job: Job, version: ModelVersion, results: list[dict[str, Any]], *, seconds: float) -> tuple[dict, str]:
    images = sum(r.get("images", 0) for r in results)
    written = sum(r.get("proposals", 0) for r in results)
    errors = [e for r in results for e in r.get("errors", [])]
    result = {"images": images, "proposals": written, "errors": errors[:100], "seconds": round(seconds, 3),
              "images_per_second": round(images / seconds, 3) if seconds > 0 else None, **chunks_summary(job.pk)}
    message = f"{written} proposal(s) on {images} image(s)" + (f", {len(errors)} image(s) failed" if errors else "")
    return result, message


def _chunks(image_ids: list[int]) -> list[list[int]]:
    from django.conf import settings

    size = max(1, int(settings.LABELER_PRELABEL_CHUNK))
    return [image_ids[i:i + size] for i in range(0, len(image_ids), size)] or [[]]


@job_body(Job.Kind.PRELABEL)
def run_prelabel(job: Job, reporter: JobReporter) -> None:
    """The Job's first task: list the images, then run them here when they make one chunk, or plan
    them as chunks (rows with their images) and send one task per chunk, which any gpu worker takes
    (the last to succeed ends the Job, prelabel_finish)."""
    version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
    if "chunks" in (job.result or {}):  # a redelivery after the chunks were planned: send the lost ones
        chunks_dispatch(job.pk, Job.Kind.PRELABEL, replanned=True)
        return
    which = prelabel_images_check(project=job.project, images=job.params.get("images", "unlabeled"))
    image_ids = prelabel_image_ids(project=job.project, which=which)
    chunks = _chunks(image_ids)
    reporter.progress(done=0, total=len(image_ids),
                      message=f"pre-labeling {len(image_ids)} image(s) with {version.name}"
                              + (f" in {len(chunks)} chunks" if len(chunks) > 1 else ""))
    started = time.monotonic()
    if len(chunks) == 1:
        _, row = chunk_delivery_begin(job.pk, 0, total=len(image_ids), worker=_worker_name())
        skip = row.done if row is not None else 0  # finished by a delivery that died
        def on_done(done: int) -> None:  # one chunk: the Job's done is the chunk's
            chunk_set_done(job.pk, 0, done=skip + done)
            reporter.progress(done=skip + done)

        result = _prelabel_images(job, version, image_ids[skip:], on_done=on_done)
        result["images"] += skip
        chunk_succeed(job.pk, 0, result=result)
        chunk_delivery_end(job.pk, 0)
        summary, message = _summary(job, version, [result], seconds=time.monotonic() - started)
        reporter.succeed(result=summary, message=message)
        return
    replanned = not chunks_plan(job.pk, chunks)
    chunks_dispatch(job.pk, Job.Kind.PRELABEL, replanned=replanned)


def _worker_name() -> str:
    from celery import current_task

    return (current_task.request.hostname if current_task and not current_task.request.is_eager else "") or "here"


def run_prelabel_chunk(job_id: int, index: int) -> None:
    """One chunk's images (from its row). A chunk already done does nothing but, when every chunk
    is, end the Job; a redelivered one resumes after its last finished image."""

    def work(job: Job, chunk: JobChunk) -> dict[str, Any]:
        version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
        skip = chunk.done  # finished by a delivery that died
        result = _prelabel_images(job, version, [int(i) for i in chunk.images[skip:]],
                                  on_done=lambda done: chunk_progress(job_id, index, done=skip + done))
        result["images"] += skip
        return result

    chunk_run(job_id, index, work=work, finish=prelabel_finish)


def prelabel_finish(job: Job) -> None:
    """Every chunk has succeeded: the Job succeeds with their sums."""
    version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
    seconds = (timezone.now() - job.started_at).total_seconds() if job.started_at else 0.0
    summary, message = _summary(job, version, [r for r in chunk_results(job.pk) if r], seconds=seconds)
    JobReporter(job.pk).succeed(result=summary, message=message)
