"""The pre-label job: run a model version over a project's images and write its proposals.

Images are decoded ahead of the model by the Predictor's threads, and the model runs ahead of
this loop in its own thread, so encoding and writing one batch's proposals overlaps the next
forward pass. Database writes stay on the job's thread. Each finished image's proposals are
written at once (one short transaction per image) and counted on the chunk's row, so a killed
worker's redelivered task resumes after the last finished image; `proposals_replace` swaps only
this version's untouched proposals, so even the image in flight is not duplicated and no human
annotation is touched.

Many images are split into chunks of settings.LABELER_PRELABEL_CHUNK, sent as a Celery chord: any
gpu worker takes any chunk, the Job's done is the sum of its chunks' (workers/chunks.py), a cancel
or a chunk's failure stops the others at their next image, and the chord's body ends the Job
with the sums. A job of one chunk runs in its first task, as before.
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
    chunk_delivery_begin, chunk_delivery_end, chunk_fail, chunk_progress, chunk_set_done, chunk_succeed, chunks_summary,
)
from .model_versions import load_model_version

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
        batch_size=job.params.get("batch_size"),
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
    """The Job's first task: list the images, then run them here when they make one chunk, or send
    them as a chord of chunks that any gpu worker takes (its body, prelabel_finish, ends the Job)."""
    version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
    if "chunks" in (job.result or {}):
        return  # a redelivery after the chunks were sent: they carry on (each is idempotent)
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
    from celery import chord, current_task

    from annotations.jobs import deployment_id

    from .tasks import prelabel_chunk, prelabel_finish

    deployment = deployment_id()
    work = chord([prelabel_chunk.si(job.pk, index, ids, deployment=deployment) for index, ids in enumerate(chunks)],
                 prelabel_finish.s(job.pk, deployment=deployment))
    Job.objects.filter(pk=job.pk).update(result={**(Job.objects.get(pk=job.pk).result or {}), "chunks": len(chunks)})
    if not current_task or current_task.request.is_eager:  # a Proxy: falsy outside a task
        work.apply()  # in-process (tests, manage.py prelabel without --queue): the chunks run here, in turn
    else:
        work.apply_async()


def _worker_name() -> str:
    from celery import current_task

    return (current_task.request.hostname if current_task and not current_task.request.is_eager else "") or "here"


def run_prelabel_chunk(job_id: int, index: int, image_ids: list[int]) -> dict[str, Any]:
    """One chunk's images; returns its result for the chord's body. A chunk already done returns
    its stored result; a redelivered one resumes after its last finished image."""
    reporter = JobReporter(job_id)
    job = Job.objects.filter(pk=job_id).first()
    chunk = JobChunk.objects.filter(job_id=job_id, index=index).first()
    if job is None or job.is_finished or chunk is None:
        return {}
    if chunk.status == JobChunk.Status.SUCCEEDED:
        return chunk.result
    version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
    skip = chunk.done  # finished by a delivery that died
    with reporter.outcome():
        result = _prelabel_images(job, version, image_ids[skip:],
                                  on_done=lambda done: chunk_progress(job_id, index, done=skip + done))
        result["images"] += skip
        chunk_succeed(job_id, index, result=result)
        return result
    chunk_fail(job_id, index, message=Job.objects.get(pk=job_id).message)
    return {}


def run_prelabel_finish(results: list[dict[str, Any]], job_id: int) -> None:
    """The chord's body: every chunk has returned; the Job succeeds with their sums unless it ended
    meanwhile (cancelled, or failed by a chunk)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    if JobChunk.objects.filter(job_id=job_id).exclude(status=JobChunk.Status.SUCCEEDED).exists():
        return
    version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
    seconds = (timezone.now() - job.started_at).total_seconds() if job.started_at else 0.0
    summary, message = _summary(job, version, [r for r in results if r], seconds=seconds)
    JobReporter(job_id).succeed(result=summary, message=message)
