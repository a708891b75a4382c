"""Dataset export: options, the Job that runs it, and `export_write`, used by the task and the command.

Rows are read with two ordered streaming queries (images, and annotations by image id) merged in
step, so memory holds one image's annotations at a time. Result zips live in media storage (annotations/media.py) under
`exports/<project id>/`, which the `/media/` view never serves; members download them through
`/api/jobs/<id>/download/`.

Names leave as the user gave them: COCO `file_name` is the stored name byte for byte (only the
copy under `images/` of a second image with the same name gets another name, and its entry says
the real one); VOC stems change only where a line-based list or a file system needs it, and the
VOC export's `labeler.json` maps them back. Without `split`, each image goes to the split an
import stored on it (`train` when none); with one, the split is drawn from the image's hash.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet

from . import masks, media
from .errors import ValidationFailed
from .formats.coco_export import write_coco
from .formats.records import ExportAnnotation, ExportClass, ExportImage
from .formats.split import Split, split_parse
from .formats.voc_export import write_voc
from .formats.zipstream import ZipSink
from .models import Annotation, Image, Job, LabelClass, Project

FORMATS = ("coco", "voc")
MASK_FORMATS = ("rle", "polygon")
_CHUNK = 500
_PAGE = 200  # images a whole export reads at a time, with their annotation rows
STORED = "stored"  # the split option that means "the split stored on each image" (also the default)
# What a VOC stem may not hold: it is a file name and a line of an ImageSets list (torchvision and
# datumaro read whole lines, strip them, and skip lines that start with '#').
_STEM_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_MEMBER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class ExportOptions:
    format: str
    mask_format: str = "rle"
    with_images: bool = False
    only_status: tuple[str, ...] = ()
    include_proposals: bool = False
    split: str = ""
    seed: int = 0
    void_as_ignore: bool = False  # COCO: void regions as iscrowd regions of an "ignore" category
    # The ground-truth sample (quality.py) is held out unless asked for; then its images come with
    # their ground-truth labels (the trusted ones) in place of the annotators' work.
    include_ground_truth: bool = False

    def as_params(self) -> dict:
        params = asdict(self)
        params["only_status"] = list(self.only_status)
        return params

    @classmethod
    def from_params(cls, params: dict) -> "ExportOptions":
        return cls(**{**params, "only_status": tuple(params.get("only_status", ()))})


def export_options(
    *, format: str, mask_format: str = "rle", with_images: bool = False, only_status: str | list[str] | tuple[str, ...] | None = None,
    include_proposals: bool = False, split: str | None = None, seed: int = 0, void_as_ignore: bool = False,
    include_ground_truth: bool = False,
) -> ExportOptions:
    """Validated options; raises ValidationFailed naming the bad one."""
    if format not in FORMATS:
        raise ValidationFailed(f"format: unknown export format {format!r}; use {' or '.join(FORMATS)}")
    if mask_format not in MASK_FORMATS:
        raise ValidationFailed(f"mask_format: unknown mask format {mask_format!r}; use {' or '.join(MASK_FORMATS)}")
    if isinstance(only_status, str):
        only_status = [s.strip() for s in only_status.split(",") if s.strip()]
    statuses = tuple(only_status or ())
    unknown = [s for s in statuses if s not in Image.Status.values]
    if unknown:
        raise ValidationFailed(f"only_status: unknown image status {', '.join(unknown)}; use {', '.join(Image.Status.values)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValidationFailed(f"seed: must be an integer from 0 to {2**32 - 1}, got {seed!r}")
    if split in (None, "", STORED):
        split = ""
    split_parse(split, seed=seed)  # validates
    return ExportOptions(
        format, mask_format, bool(with_images), statuses, bool(include_proposals), split, seed, bool(void_as_ignore),
        bool(include_ground_truth),
    )


def _image_rows(project: Project, options: ExportOptions):
    images = Image.objects.filter(project=project)
    if not options.include_ground_truth:
        images = images.filter(ground_truth=False)
    if options.only_status:
        images = images.filter(status__in=options.only_status)
    return images


def export_image_count(*, project: Project, options: ExportOptions) -> int:
    return _image_rows(project, options).count()


@transaction.atomic
def export_start(*, project: Project, user: AbstractBaseUser | None, options: ExportOptions) -> Job:
    from .jobs import job_start

    if not project.label_classes.exists():
        raise ValidationFailed(f"project {project.name!r} has no label classes to export")
    return job_start(
        project=project, user=user, kind=Job.Kind.EXPORT, params=options.as_params(), total=export_image_count(project=project, options=options),
    )


def export_storage_name(*, job: Job) -> str:
    return f"exports/{job.project_id}/job-{job.pk}-{job.params.get('format', 'dataset')}.zip"


def _unique(candidate: str, pk: int, seen: set[str]) -> str:
    """`candidate`, or with `_<id>` before its extension when an earlier one took it (case-insensitively:
    unzipping on macOS or Windows would otherwise overwrite one with the other)."""
    path = PurePosixPath(candidate)
    base, suffix = (path.stem, path.suffix) if path.suffix and path.stem else (candidate, "")
    name, n = candidate, 0
    while name.lower() in seen:
        n += 1
        name = f"{base}_{pk}{suffix}" if n == 1 else f"{base}_{pk}_{n}{suffix}"
    seen.add(name.lower())
    return name


def voc_stem(file_name: str, pk: int, seen: set[str]) -> str:
    """The image's stem, changed only where VOC needs it: no control characters, slashes, leading '#'
    or surrounding spaces, and unique within the export."""
    stem = _STEM_UNSAFE.sub("_", PurePosixPath(file_name).stem).strip()
    if stem.startswith("#"):
        stem = "_" + stem[1:]
    if stem in ("", ".", ".."):
        stem = "image"
    return _unique(stem, pk, seen)


def coco_member(file_name: str, pk: int, seen: set[str]) -> str:
    """The name of the image's file under COCO's images/: the stored name, unless another image of
    the export has it already (or it cannot be a zip member name)."""
    name = _MEMBER_UNSAFE.sub("_", file_name)
    if name in ("", ".", ".."):
        name = f"image.{pk}"
    return _unique(name, pk, seen)


def export_image_names(*, project: Project, options: ExportOptions) -> Iterator[tuple[int, str, str]]:
    """(id, VOC stem, COCO member name) of every exported image, in export order: what makes a name
    unique depends on every image before it, so a chunked export settles the names up front."""
    stems: set[str] = set()
    members: set[str] = set()
    rows = _image_rows(project, options).order_by("id").values_list("id", "file_name")
    for pk, file_name in rows.iterator(chunk_size=_CHUNK * 10):
        yield pk, voc_stem(file_name, pk, stems), coco_member(file_name, pk, members) if options.with_images else file_name


def export_void_id_base(*, project: Project, options: ExportOptions) -> int | None:
    """COCO with void_as_ignore: void regions get ids after every annotation's."""
    if options.format != "coco" or not options.void_as_ignore:
        return None
    top = Annotation.with_ground_truth.filter(image__project=project).order_by("-id").values_list("id", flat=True).first()
    return (top or 0) + 1


def _export_images(
    project: Project, options: ExportOptions, split: Split | None, kinds: dict[int, str],
    names: dict[int, tuple[str, str]] | None = None,
) -> Iterator[ExportImage]:
    """Images with their annotations, streamed a page at a time (_pages): two ordered queries
    merged by image id. With `names` ({id: (stem, member)}, a chunk's images), only those images,
    with those names, as one page."""
    images = _image_rows(project, options)
    annotations = Annotation.objects.filter(image__project=project)
    if names is not None:
        images = images.filter(id__in=list(names))
        annotations = annotations.filter(image_id__in=list(names))
    images = images.order_by("id").values_list(
        "id", "file_name", "file", "width", "height", "sha256", "split", "void_rle_counts",
    )
    if options.include_ground_truth:  # the work of ordinary images, the ground truth of sample images
        annotations = Annotation.with_ground_truth.filter(image__project=project)
        if names is not None:
            annotations = annotations.filter(image_id__in=list(names))
        annotations = annotations.filter(
            Q(ground_truth=False, image__ground_truth=False) | Q(ground_truth=True, image__ground_truth=True),
        )
    if options.only_status:
        annotations = annotations.filter(image__status__in=options.only_status)
    if not options.include_proposals:
        annotations = annotations.filter(is_proposal=False)
    rows_query = annotations.order_by("image_id", "z_order", "id").values_list(
        "image_id", "id", "label_class_id", "rle_counts", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "area", "z_order", "score",
        "iscrowd",
    )
    if names is None:  # the whole export: page by page
        pages = _pages(images, rows_query)
    else:  # a chunk's images, one page (bounded by the chunk's size)
        pages = iter([(list(images), list(rows_query))])
    stems: set[str] = set()
    members: set[str] = set()
    for image_page, row_page in pages:
        for item in _page_images(image_page, row_page, names=names, split=split, options=options, stems=stems, members=members):
            item.annotations = _one_per_semantic_class(item, kinds)
            yield item


def _pages(images: QuerySet, rows_query: QuerySet) -> Iterator[tuple[list, list]]:
    """The images (ordered by id) and their annotation rows, _PAGE images a page, each page read
    whole by two queries (keyset on the image id; a chunk of a chunked export is read the same way,
    whole, and holds up to LABELER_EXPORT_CHUNK images). No cursor stays open while the export writes:
    on SQLite an open cursor pins its snapshot, and the Job's next progress write after any other
    connection's commit fails at once with "database is locked"."""
    last = 0
    while True:
        page = list(images.filter(id__gt=last)[:_PAGE])
        if not page:
            return
        last = page[-1][0]
        yield page, list(rows_query.filter(image_id__gte=page[0][0], image_id__lte=last))


def _page_images(
    image_page: list, row_page: list, *, names: dict[int, tuple[str, str]] | None, split: Split | None,
    options: ExportOptions, stems: set[str], members: set[str],
) -> Iterator[ExportImage]:
    """ExportImages of one page: its image rows merged with its annotation rows by image id."""
    rows = iter(row_page)
    pending = next(rows, None)
    for pk, file_name, storage_name, width, height, sha, stored_split, void in image_page:
        ext = storage_name.rsplit(".", 1)[-1].lower()
        if names is not None:
            stem, member = names[pk]
        else:
            stem = voc_stem(file_name, pk, stems)
            member = coco_member(file_name, pk, members) if options.with_images else file_name
        item = ExportImage(
            id=pk, file_name=file_name, stem=stem, ext=ext, width=width, height=height,
            storage_name=storage_name, split=split.of(sha) if split is not None else (stored_split or "train"),
            void_counts=void or None, member_name=member,
        )
        while pending is not None and pending[0] < pk:  # rows of images that the filter left out
            pending = next(rows, None)
        while pending is not None and pending[0] == pk:
            _, ann_id, class_id, counts, x, y, w, h, area, z, score, iscrowd = pending
            item.annotations.append(ExportAnnotation(ann_id, class_id, counts, [x, y, w, h], area, z, score, iscrowd))
            pending = next(rows, None)
        yield item


def _one_per_semantic_class(image: ExportImage, kinds: dict[int, str]) -> list[ExportAnnotation]:
    """A semantic class has one mask per image; proposals can add more, so merge them (the only re-encode)."""
    by_class: dict[int, list[ExportAnnotation]] = {}
    out: list[ExportAnnotation] = []
    for ann in image.annotations:
        if kinds.get(ann.class_id) == LabelClass.Kind.SEMANTIC:
            by_class.setdefault(ann.class_id, []).append(ann)
        else:
            out.append(ann)
    for group in by_class.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        merged = masks.union(image.rle(a) for a in group)
        out.append(ExportAnnotation(
            id=min(a.id for a in group), class_id=group[0].class_id, counts=merged["counts"], bbox=masks.bbox(merged),
            area=masks.area(merged), z_order=max(a.z_order for a in group), score=None, iscrowd=any(a.iscrowd for a in group),
        ))
    return sorted(out, key=lambda a: (a.z_order, a.id))


def export_write(
    *, project: Project, options: ExportOptions, target: str | Path | BinaryIO,
    on_progress: Callable[[int, int], None] | None = None, progress_every: int = 50,
) -> dict:
    """Write the whole dataset zip to `target`; returns counts. Used by the Job and by manage.py.
    `on_progress(done, total)` every `progress_every` images and at the end."""
    classes = [ExportClass(c.pk, c.name, c.kind, c.color) for c in project.label_classes.order_by("order", "id")]
    if not classes:
        raise ValidationFailed(f"project {project.name!r} has no label classes to export")
    split = split_parse(options.split, seed=options.seed) if options.split else None
    total = export_image_count(project=project, options=options)
    kinds = {c.id: c.kind for c in classes}
    def image_path(image: ExportImage) -> str:
        return str(media.local_path(image.storage_name))  # remote storage: a bounded local cache

    def on_image(done: int) -> None:
        if on_progress is not None and (done % progress_every == 0 or done == total):
            on_progress(done, total)

    images = _export_images(project, options, split, kinds)
    if options.with_images:  # remote storage: the next images download while this one is written
        images = media.prefetched(images, lambda image: image.storage_name)
    with ZipSink(target) as sink:
        if options.format == "coco":
            void_ids = export_void_id_base(project=project, options=options)
            counts = write_coco(
                sink, project_name=project.name, classes=classes, images=images,
                split_names=split.names if split is not None else ("train",),
                mask_format=options.mask_format, with_images=options.with_images, image_path=image_path, on_image=on_image,
                void_id_base=void_ids,
            )
        else:
            counts = write_voc(
                sink, classes=classes, images=images, split_names=split.names if split is not None else (),
                with_images=options.with_images, image_path=image_path, on_image=on_image,
            )
    return {"format": options.format, **counts}


def export_to_storage(*, job: Job, on_progress: Callable[[int, int], None] | None = None) -> tuple[str, dict]:
    """Run a Job's export into media storage (exports/...): the zip is built in a local temporary
    file (MEDIA_ROOT/exports/*.part, swept if its task dies) and then stored under its name (S3: a
    multipart upload that appears only when complete), so a retried task never leaves half a zip
    where a download could find it."""
    options = ExportOptions.from_params(job.params)  # checked by export_options when the Job started
    name = export_storage_name(job=job)
    scratch = Path(settings.MEDIA_ROOT) / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=scratch, suffix=".part")
    os.close(fd)
    try:
        summary = export_write(project=job.project, options=options, target=tmp, on_progress=on_progress)
        media.save(name, tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return name, summary
