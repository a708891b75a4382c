"""The pre-label job: run a model version over a project's images and write its proposals.

Images are decoded ahead of the model by the Predictor's threads, and the model runs ahead of
this loop in its own thread, so encoding and writing one batch's proposals overlaps the next
forward pass. Database writes stay on the job's thread. Each finished image's proposals are
written at once (one short transaction per image), so a killed worker that is
retried simply redoes images: `proposals_replace` swaps only this version's untouched proposals,
so nothing is duplicated and no human annotation is touched.
"""
from __future__ import annotations

import functools
import logging
import time
from contextlib import closing
from typing import Callable

from annotations import masks, media
from annotations.jobs import JobReporter, job_body
from annotations.models import Image, Job, ModelVersion
from annotations.selectors import prelabel_image_ids
from annotations.services import Proposal, proposals_replace
from annotations.training import prelabel_images_check

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
            with media.open_read(self.names[pk]) as handle:
                return load_image(handle)
        except media.StorageUnavailable as exc:
            self.store_failures[pk] = exc
            raise

    def items(self) -> list[tuple[int, Callable]]:
        return [(pk, functools.partial(self._decode, pk)) for pk in self.ids]

    def check(self, pk: int) -> None:
        failure = self.store_failures.get(pk)
        if failure is not None:
            raise media.StorageUnavailable(f"image {pk} ({self.names[pk]}): {failure.message}", image=pk)


@job_body(Job.Kind.PRELABEL)
def run_prelabel(job: Job, reporter: JobReporter) -> None:
    from .ml.inference import Predictor

    version = ModelVersion.objects.get(pk=job.params["model_version"], project_id=job.project_id)
    which = prelabel_images_check(project=job.project, images=job.params.get("images", "unlabeled"))
    image_ids = prelabel_image_ids(project=job.project, which=which)
    reporter.progress(done=0, total=len(image_ids), message=f"pre-labeling {len(image_ids)} image(s) with {version.name}")
    model, spec = load_model_version(version)
    predictor = Predictor(
        model, spec, score_threshold=float(job.params.get("score_threshold", 0.5)),
        batch_size=job.params.get("batch_size"),
    )
    written, errors, started = 0, [], time.monotonic()
    # closing(): a cancelled or failed job stops the model's thread at once.
    reads = _Reads(image_ids)
    with closing(predictor.predict(reads.items(), run_ahead=True)) as predictions:
        for done, prediction in enumerate(predictions, start=1):
            reads.check(prediction.key)
            if prediction.error:
                errors.append(f"image {prediction.key}: {prediction.error}")
            else:
                image = Image.objects.select_related("project").get(pk=prediction.key)
                proposals = proposals_from(prediction, version.class_mapping)
                written += proposals_replace(image=image, model_version=version, proposals=proposals)
                Image.objects.filter(pk=image.pk).update(uncertainty=prediction.uncertainty)
            reporter.progress(done=done)
    elapsed = time.monotonic() - started
    reporter.succeed(
        result={"images": len(image_ids), "proposals": written, "errors": errors[:100], "seconds": round(elapsed, 3),
                "images_per_second": round(len(image_ids) / elapsed, 3) if elapsed > 0 else None},
        message=f"{written} proposal(s) on {len(image_ids)} image(s)" + (f", {len(errors)} image(s) failed" if errors else ""),
    )
