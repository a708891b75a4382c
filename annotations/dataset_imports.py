"""Dataset import (COCO or VOC zip into a project): read, check, and write in one transaction.

Order of work, so that a refusal changes nothing and memory stays flat:
(1) the archive's entries and declared sizes are checked before anything is read (formats.archive);
(2) a reader lists the classes and images without decoding any mask (each image's declared size
    against the pixel limit); (3) image files inside the archive are checked by `annotations.ingest`
    and their real size compared with the declared one, images without a file are matched by name
    to images already in the project; (4) in one transaction: classes, image rows, then the
    annotations, streamed from the reader and checked and inserted in chunks (compressed RLE is
    validated for many masks at once, without decoding; polygons have their coordinates checked
    before pycocotools sees them), then the void regions, semantic merges and the documents'
    revisions. The first LABELER_IMPORT_MAX_ERRORS problems stop the import; any problem rolls the
    transaction back, and files put into media storage are removed again.
"""
from __future__ import annotations

import gc
import os
import sqlite3
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import PurePosixPath
from typing import BinaryIO, Callable, Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from pycocotools import mask as cocomask

from . import ingest, masks, media, services
from .errors import ValidationFailed
from .formats.archive import Archive, Errors
from .formats.coco_import import CocoReader
from .formats.records import DatasetReader, ImportedAnnotation, ImportedClass
from .formats.voc_import import VocReader
from .models import Annotation, Image, Job, LabelClass, Project

FORMATS = ("coco", "voc")
_CHUNK = 5000  # annotations checked and inserted together
_SMALL_IMAGE = 64 << 20  # image members up to this size are checked in memory
_STAGE_THREADS = min(4, os.cpu_count() or 1)
_STAGE_WINDOW = 4 * _STAGE_THREADS  # small members read ahead of the checks (at most _SMALL_IMAGE bytes of them)


@dataclass
class DatasetImportResult:
    images_created: int = 0
    images_matched: int = 0
    annotations: int = 0
    classes_created: list[str] = field(default_factory=list)
    skipped_empty: int = 0
    void_images: int = 0
    thumbnail_job: Job | None = None

    def as_dict(self) -> dict:
        return {
            "images_created": self.images_created, "images_matched": self.images_matched, "annotations": self.annotations,
            "classes_created": self.classes_created, "skipped_empty": self.skipped_empty, "void_images": self.void_images,
            "thumbnail_job": self.thumbnail_job.pk if self.thumbnail_job else None,
        }


def _reader(archive: Archive, format: str, errors: Errors) -> DatasetReader:
    return CocoReader(archive, errors) if format == "coco" else VocReader(archive, errors)


@dataclass
class _Target:
    """Where one imported image's annotations go: an existing row or a checked file to store."""
    existing: Image | None = None
    staged: ingest.StagedImage | None = None


def _existing_by_name(project: Project) -> tuple[dict[str, list[Image]], dict[str, list[Image]]]:
    by_name: dict[str, list[Image]] = {}
    by_stem: dict[str, list[Image]] = {}
    for image in Image.objects.filter(project=project).only("id", "file_name", "width", "height", "sha256", "status", "void_rle_counts"):
        by_name.setdefault(image.file_name, []).append(image)
        by_stem.setdefault(PurePosixPath(image.file_name).stem, []).append(image)
    return by_name, by_stem


def _stage_large(archive: Archive, member: str, staging: ingest.Staging) -> ingest.StagedImage:
    with archive.open(member) as stream:
        return ingest.stage_one(member, stream, staging.path)


def _checked(work: Callable[[], ingest.StagedImage]) -> ingest.StagedImage | ValidationFailed:
    try:
        return work()
    except ValidationFailed as exc:
        return exc


def _staged_in_order(archive: Archive, members: Iterator[str], staging: ingest.Staging) -> Iterator[ingest.StagedImage | ValidationFailed]:
    """Each member checked and stored, in the order given: the checked image, or why it was refused.

    The zip is read in this thread (one file handle, in order); the checks of small members run in
    a few threads, because Pillow's decoders and hashlib let go of the GIL while they work (two
    photos decode at once on two cores). A bounded window of members is in flight, so memory stays
    flat, and closing the iterator (the first N problems stop an import) cancels what is queued.
    """
    window: deque[tuple[Future, int]] = deque()
    in_flight = 0  # bytes read and not yet checked
    with ThreadPoolExecutor(max_workers=_STAGE_THREADS, thread_name_prefix="import-stage") as pool:
        try:
            for member in members:
                size = archive.size(member)
                if size > _SMALL_IMAGE:  # streamed to a file here, after everything queued before it
                    while window:
                        yield window.popleft()[0].result()
                    in_flight = 0
                    yield _checked(lambda: _stage_large(archive, member, staging))
                    continue
                data = _checked(lambda: archive.read(member))
                if isinstance(data, ValidationFailed):
                    window.append((pool.submit(lambda problem=data: problem), 0))
                else:
                    window.append((pool.submit(_checked, lambda m=member, d=data: staging.stage_small(m, d)), size))
                    in_flight += size
                while window and (len(window) > _STAGE_WINDOW or in_flight > _SMALL_IMAGE):
                    future, done = window.popleft()
                    in_flight -= done
                    yield future.result()
            while window:
                yield window.popleft()[0].result()
        finally:
            for future, _ in window:
                future.cancel()


def _resolve_images(
    *, project: Project, archive: Archive, reader: DatasetReader, staging: ingest.Staging, errors: Errors,
    on_step: Callable[[], None],
) -> list[_Target | None]:
    """For each image of the reader: its target, or None when it was refused (the problem recorded)."""
    by_name, by_stem = _existing_by_name(project)
    members = iter(dict.fromkeys(item.member for item in reader.images if item.member is not None))
    checked = _staged_in_order(archive, members, staging)
    staged_by_member: dict[str, ingest.StagedImage | ValidationFailed] = {}
    targets: list[_Target | None] = []
    try:
        for item in reader.images:
            on_step()
            target = _target_of(item, checked, staged_by_member, by_name, by_stem, project=project, errors=errors)
            targets.append(target)
    finally:
        checked.close()
    return targets


def _target_of(
    item, checked: Iterator[ingest.StagedImage | ValidationFailed], staged_by_member: dict[str, ingest.StagedImage | ValidationFailed],
    by_name: dict[str, list[Image]], by_stem: dict[str, list[Image]], *, project: Project, errors: Errors,
) -> _Target | None:
    """One image's target, or None with its problem recorded."""
    if item.member is not None:
        if item.member not in staged_by_member:  # members come out of `checked` in first-use order
            staged_by_member[item.member] = next(checked)
        staged = staged_by_member[item.member]
        if isinstance(staged, ValidationFailed):
            errors.add(staged.message)  # "<member>: <problem>"
            return None
        target = _Target(staged=staged)
        width, height = staged.width, staged.height
        where = item.member
    else:
        candidates = by_name.get(item.file_name) or by_stem.get(PurePosixPath(item.file_name).stem) or []
        if not candidates:
            errors.add(f"{item.source}: image {item.file_name} is neither in the archive nor in project {project.name!r}")
            return None
        if len(candidates) > 1:
            errors.add(f"{item.source}: image {item.file_name} matches {len(candidates)} images of the project; include the file in the archive")
            return None
        target = _Target(existing=candidates[0])
        width, height = target.existing.width, target.existing.height
        where = f"project image {target.existing.file_name}"
    if (width, height) != (item.width, item.height):
        errors.add(
            f"{item.source}: mask size {item.height}x{item.width} (h x w) for {item.file_name} differs from "
            f"{where}, which is {height}x{width}"
        )
        return None
    return target


def _classes(*, project: Project, wanted: list[ImportedClass], create: bool) -> tuple[dict[str, LabelClass], list[str]]:
    existing = {c.name: c for c in project.label_classes.all()}
    missing = [c for c in wanted if c.name not in existing]
    if missing and not create:
        raise ValidationFailed(
            f"the archive uses classes that project {project.name!r} lacks: {', '.join(c.name for c in missing)} "
            "(nothing was imported; create them or allow creating classes)", missing=[c.name for c in missing],
        )
    created = []
    for item in missing:
        color = item.color if item.color and services.COLOR.match(item.color) else "#ff0000"
        existing[item.name] = services.label_class_create(
            project=project, name=item.name, kind=item.kind or LabelClass.Kind.INSTANCE, color=color,
        )
        created.append(item.name)
    return existing, created


@dataclass(slots=True)
class _Placed:
    """An imported image's row, as the annotation writer needs it."""
    pk: int
    height: int
    width: int
    file_name: str
    existing: bool
    void_counts: str | None = None


@dataclass(slots=True)
class _Pending:
    image: _Placed
    label_class: LabelClass
    counts: bytes
    z_order: int
    score: float | None
    iscrowd: bool
    where: str


_COLUMNS = ("image_id", "label_class_id", "rle_counts", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "area", "z_order", "score", "iscrowd")
# the same for every row of an import: written into the statement once, not bound for each row
# (a quarter of SQLite's insert time at 21 masks per image). An import writes the annotators'
# work, never ground truth (quality.py).
_CONSTANT_COLUMNS = ("source", "model_version_id", "is_proposal", "author_id", "created_at", "updated_at", "ground_truth")


class _AnnotationInsert:
    """INSERT of imported annotation rows, many rows per statement: _COLUMNS bound, _CONSTANT_COLUMNS
    as literals (quoted by the backend's own schema editor, as Django quotes column defaults).
    Binding the constants for every row was a quarter of SQLite's insert time, and one statement
    per row (executemany) another third of it."""

    def __init__(self, *, author_id: int | None, now: object) -> None:
        quote = connection.ops.quote_name
        literal = connection.schema_editor().quote_value
        constants = (Annotation.Source.HUMAN.value, None, False, author_id, now, now, False)
        self._row = f"({', '.join(['%s'] * len(_COLUMNS) + [literal(v).replace('%', '%%') for v in constants])})"
        self._head = (
            f"INSERT INTO {quote(Annotation._meta.db_table)} ({', '.join(quote(c) for c in _COLUMNS + _CONSTANT_COLUMNS)}) VALUES "
        )
        self.per_statement = max(1, min(100, (connection.features.max_query_params or 1000) // len(_COLUMNS)))
        self._full = self._sql(self.per_statement)

    def _sql(self, rows: int) -> str:
        return self._head + ", ".join([self._row] * rows)

    def __call__(self, rows: list[tuple]) -> None:
        per = self.per_statement
        whole = len(rows) - len(rows) % per
        with connection.cursor() as cursor:
            execute, full = cursor.execute, self._full
            driver = cursor.cursor
            if isinstance(driver, sqlite3.Cursor) and hasattr(driver, "convert_query"):
                # Django's SQLite cursor rewrites %s to ? with a regex on every call: a fifth of
                # this insert for a 1,000-placeholder statement. Rewrite once, hand it to the driver
                # (errors still come out as Django's; connection.execute_wrapper hooks and DEBUG
                # query logging do not see these statements).
                full = driver.convert_query(full)
                raw = partial(sqlite3.Cursor.execute, driver)

                def execute(sql: str, params: list) -> None:
                    with connection.wrap_database_errors:
                        raw(sql, params)
            for start in range(0, whole, per):
                execute(full, list(chain.from_iterable(rows[start:start + per])))
        if whole < len(rows):
            with connection.cursor() as cursor:
                cursor.execute(self._sql(len(rows) - whole), list(chain.from_iterable(rows[whole:])))


class _AnnotationWriter:
    """Checks streamed annotations in chunks and inserts them, inside the import's transaction.

    Rows go in with one executemany per chunk: bulk_create builds a model instance per row, which
    made a 200,000-mask import spend most of its time in Django. A semantic class keeps one mask
    per image, so its masks are gathered and merged (with one the image already has) at the end.
    """

    def __init__(self, *, placed: list[_Placed | None], classes: dict[str, LabelClass], user, errors: Errors,
                 result: DatasetImportResult) -> None:
        self._placed = placed
        self._classes = classes
        self._author_id = user.pk if user is not None else None
        self._errors = errors
        self._result = result
        self._pending: list[_Pending] = []
        self._next_z: dict[int, int] = {}
        self._semantic: dict[tuple[int, int], list[tuple[dict, int]]] = {}
        self._voids: dict[int, list[dict]] = {}
        self.touched: dict[int, None] = {}
        self._insert_rows = _AnnotationInsert(author_id=self._author_id, now=connection.ops.adapt_datetimefield_value(timezone.now()))

    def _problem(self, ann: ImportedAnnotation, image: _Placed, message: str) -> None:
        self._errors.add(f"{ann.where} on image {image.file_name}: {message}")

    def _rle(self, ann: ImportedAnnotation, image: _Placed) -> dict | bytes | None:
        """Trusted or checked RLE (dict), compressed counts still to check in bulk (bytes), or None."""
        if ann.rle is not None:
            return ann.rle
        segm = ann.segmentation
        try:
            if isinstance(segm, list):
                return masks.from_polygons(segm, image.height, image.width)
            if isinstance(segm, dict):
                problem = masks.size_problem(segm.get("size"), height=image.height, width=image.width)
                if problem:
                    raise masks.MaskError(problem)
                counts = segm.get("counts")
                if isinstance(counts, list):
                    masks.validate(segm, height=image.height, width=image.width)
                    coco = cocomask.frPyObjects({"size": [image.height, image.width], "counts": counts}, image.height, image.width)
                    return {"size": [image.height, image.width], "counts": coco["counts"].decode("ascii")}
                if isinstance(counts, str):
                    try:
                        return counts.encode("ascii")
                    except UnicodeEncodeError:
                        raise masks.MaskError("compressed RLE counts must be ASCII") from None
                raise masks.MaskError("mask counts must be a string (compressed RLE) or a list of integers")
            raise masks.MaskError("segmentation must be polygons (a list) or RLE (an object with size and counts)")
        except masks.MaskError as exc:
            self._problem(ann, image, str(exc))
            return None

    def add(self, index: int, ann: ImportedAnnotation) -> None:
        image = self._placed[index]
        if image is None:
            return  # its image was refused; that problem is already recorded
        rle = self._rle(ann, image)
        if rle is None:
            return
        if ann.void:
            if isinstance(rle, bytes):
                rle = self._checked(image, ann, rle)
                if rle is None:
                    return
            self._voids.setdefault(image.pk, []).append(rle)
            return
        label_class = self._classes.get(ann.class_name)
        if label_class is None:  # readers list every class they name; kept as a clear refusal all the same
            self._problem(ann, image, f"class {ann.class_name!r} is not among the archive's classes")
            return
        z_order = ann.z_order
        if z_order is None:
            z_order = self._next_z.get(image.pk, 0)
        self._next_z[image.pk] = max(self._next_z.get(image.pk, 0), z_order + 1)
        counts = rle if isinstance(rle, bytes) else rle["counts"].encode("ascii")
        self._pending.append(_Pending(image, label_class, counts, z_order, ann.score, ann.iscrowd, ann.where))
        if len(self._pending) >= _CHUNK:
            self.flush()

    def _checked(self, image: _Placed, ann: ImportedAnnotation, counts: bytes) -> dict | None:
        problem = masks.counts_problems([counts], [image.height * image.width])[0]
        if problem:
            self._problem(ann, image, problem.replace("{size}", f"{image.height}x{image.width}"))
            return None
        return {"size": [image.height, image.width], "counts": counts.decode("ascii")}

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        # one vectorised pass: the check, the area and the box of every mask of the chunk
        problems, areas, boxes = masks.counts_stats(
            [p.counts for p in pending], [p.image.height for p in pending], [p.image.width for p in pending],
        )
        rows = []
        for item, problem, area, box in zip(pending, problems, areas, boxes):
            if problem:
                self._errors.add(f"{item.where} on image {item.image.file_name}: {problem.replace('{size}', f'{item.image.height}x{item.image.width}')}")
                continue
            if area == 0:
                self._result.skipped_empty += 1  # an empty mask is no object
                continue
            counts = item.counts.decode("ascii")
            if item.label_class.kind == LabelClass.Kind.SEMANTIC:
                rle = {"size": [item.image.height, item.image.width], "counts": counts}
                self._semantic.setdefault((item.image.pk, item.label_class.pk), []).append((rle, item.z_order))
                continue
            rows.append((item.image.pk, item.label_class.pk, counts, box[0], box[1], box[2], box[3], area, item.z_order, item.score, bool(item.iscrowd)))
            self.touched[item.image.pk] = None
        self._insert(rows)

    def _insert(self, rows: list[tuple]) -> None:
        if rows:
            self._insert_rows(rows)
            self._result.annotations += len(rows)

    def finish(self) -> None:
        self.flush()
        self._errors.raise_if_any()
        self._finish_semantic()
        self._finish_void()

    def _finish_semantic(self) -> None:
        placed = {p.pk: p for p in self._placed if p is not None}
        keys = list(self._semantic)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            existing_images = [pk for pk, _ in chunk if placed[pk].existing]
            already: dict[tuple[int, int], Annotation] = {}
            if existing_images:
                for row in Annotation.objects.filter(
                    image_id__in=existing_images, label_class_id__in={c for _, c in chunk},
                ).only("id", "image_id", "label_class_id", "rle_counts", "z_order"):
                    already.setdefault((row.image_id, row.label_class_id), row)
            rows = []
            for key in chunk:
                image = placed[key[0]]
                items = self._semantic[key]
                rles = [rle for rle, _ in items]
                z_order = max(z for _, z in items)
                if key in already:
                    rles.append({"size": [image.height, image.width], "counts": already[key].rle_counts})
                    z_order = max(z_order, already[key].z_order)
                    already[key].delete()
                rle = rles[0] if len(rles) == 1 else masks.union(rles)
                x, y, w, h = masks.bbox(rle)
                rows.append((image.pk, key[1], rle["counts"], x, y, w, h, masks.area(rle), z_order, None, False))
                self.touched[image.pk] = None
            self._insert(rows)

    def _finish_void(self) -> None:
        placed = {p.pk: p for p in self._placed if p is not None}
        updates = []
        for pk, rles in self._voids.items():
            image = placed[pk]
            if image.void_counts:
                rles = rles + [{"size": [image.height, image.width], "counts": image.void_counts}]
            rle = rles[0] if len(rles) == 1 else masks.union(rles)
            if masks.area(rle) == 0:
                continue
            updates.append(Image(pk=pk, void_rle_counts=rle["counts"]))
            self.touched[pk] = None
        Image.objects.bulk_update(updates, ["void_rle_counts"], batch_size=500)
        self._result.void_images = len(updates)


def _insert_images(rows: list[dict]) -> None:
    """Insert image rows with one executemany; every other column gets its field's default
    (prepared once). bulk_create prepared each of 15 fields of each row through Django: 0.3 s
    per 1,000 images."""
    if not rows:
        return
    fields = [f for f in Image._meta.concrete_fields if not f.primary_key]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    constant = {}
    for f in fields:
        if f.attname not in rows[0]:
            constant[f.attname] = now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_db_prep_save(f.get_default(), connection)
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Image._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 2000):
            cursor.executemany(sql, [
                tuple(row[f.attname] if f.attname in row else constant[f.attname] for f in fields)
                for row in rows[start:start + 2000]
            ])


def _place_images(
    *, project: Project, reader: DatasetReader, targets: list[_Target | None], staging: ingest.Staging,
    result: DatasetImportResult,
) -> tuple[list[_Placed | None], list[Image]]:
    """Image rows for the checked targets (created in bulk, or the existing ones)."""
    known = {i.sha256: i for i in Image.objects.filter(
        project=project, sha256__in=[t.staged.sha256 for t in targets if t is not None and t.staged]).only(
        "id", "sha256", "width", "height", "file_name", "void_rle_counts")}
    new: dict[str, dict] = {}
    for item, target in zip(reader.images, targets):
        if target is None or target.staged is None or target.staged.sha256 in known or target.staged.sha256 in new:
            continue
        staged = target.staged
        new[staged.sha256] = {
            "project_id": project.pk, "file": staging.store(staged), "file_name": item.file_name, "width": staged.width,
            "height": staged.height, "sha256": staged.sha256, "split": item.split,
        }
    _insert_images(list(new.values()))
    created = []
    shas = list(new)
    for start in range(0, len(shas), 500):
        created += Image.objects.filter(project=project, sha256__in=shas[start:start + 500]).only(
            "id", "project_id", "sha256", "width", "height", "file_name", "void_rle_counts", "split")
    by_sha = {i.sha256: i for i in created}
    placed: list[_Placed | None] = []
    splits: list[Image] = []
    for item, target in zip(reader.images, targets):
        if target is None:
            placed.append(None)
            continue
        if target.existing is not None:
            image, existing = target.existing, True
        elif target.staged.sha256 in by_sha:  # type: ignore[union-attr]
            image, existing = by_sha[target.staged.sha256], False  # type: ignore[union-attr]
        else:
            image, existing = known[target.staged.sha256], True  # type: ignore[union-attr]
        if existing and item.split and image.split != item.split:
            image.split = item.split
            splits.append(image)
        placed.append(_Placed(image.pk, image.height, image.width, item.file_name, existing, image.void_rle_counts))
    result.images_created = len(created)
    result.images_matched = len({p.pk for p in placed if p is not None and p.existing})
    Image.objects.bulk_update(splits, ["split"], batch_size=500)
    return placed, created


@contextmanager
def _rare_collections() -> Iterator[None]:
    """CPython's cyclic collector, far less often, for the import's duration (restored after).

    An import allocates millions of short-lived containers (parsed annotations, pending rows,
    query rows); every few thousand survivors the collector walked all the process's long-lived
    objects again (Django, NumPy, the import's own image lists): a fifth of a 10,000-image
    import's CPU time. Nothing in the import makes reference cycles, so reference counting frees
    all of it; with these thresholds the collector still runs every 100,000 net allocations
    (younger generations), so a cycle made anyway is still collected."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def dataset_import(
    *, project: Project, user: AbstractBaseUser | None, archive: str | Path | BinaryIO, format: str,
    create_classes: bool = True, make_thumbnails: bool = True, on_progress: Callable[[int, int], None] | None = None,
) -> DatasetImportResult:
    """Import a COCO or VOC zip into `project`, all or nothing; ValidationFailed lists what is wrong."""
    if format not in FORMATS:
        raise ValidationFailed(f"unknown dataset format {format!r}; use coco or voc")
    with _rare_collections(), ingest.Staging() as staging, Archive(archive) as zipped:
        errors = Errors()
        reader = _reader(zipped, format, errors)
        n = len(reader.images)
        total = 2 * n
        step = [0]

        def on_step() -> None:
            step[0] += 1
            if on_progress is not None and (step[0] % 50 == 0 or step[0] == n):
                on_progress(step[0], total)

        targets = _resolve_images(project=project, archive=zipped, reader=reader, staging=staging, errors=errors, on_step=on_step)
        errors.raise_if_any()  # also every problem the reader found
        result = DatasetImportResult()
        with transaction.atomic():
            classes, result.classes_created = _classes(project=project, wanted=reader.classes, create=create_classes)
            placed, created = _place_images(project=project, reader=reader, targets=targets, staging=staging, result=result)
            writer = _AnnotationWriter(placed=placed, classes=classes, user=user, errors=errors, result=result)
            for count, (index, ann) in enumerate(reader.annotations(), start=1):
                writer.add(index, ann)
                if on_progress is not None and count % 5000 == 0:
                    on_progress(n + int(reader.progress() * n), total)
            writer.finish()
            # An import saves documents: an editor holding an old version gets a conflict instead
            # of deleting what came in, and each touched document gets its revision.
            services.documents_commit(image_ids=list(writer.touched), author=user)
            if on_progress is not None:
                on_progress(total, total)
            if make_thumbnails:
                from .thumbnails import thumbnail_job_start

                result.thumbnail_job = thumbnail_job_start(images=created, user=user)
        return result


@transaction.atomic
def dataset_import_start(
    *, project: Project, user: AbstractBaseUser | None, archive: BinaryIO, format: str, create_classes: bool = True,
) -> Job:
    """Keep the uploaded zip in media storage under tmp/imports/ (workers on any machine read it
    there, annotations/media.py) and queue the Job."""
    from .jobs import job_start

    if format not in FORMATS:
        raise ValidationFailed(f"unknown dataset format {format!r}; use coco or voc")
    name = getattr(archive, "name", "") or ""
    if name and not name.lower().endswith(".zip"):
        raise ValidationFailed(f"{name}: a dataset import takes one .zip archive")
    relative = media.save(f"tmp/imports/{uuid.uuid4().hex}.zip", archive)
    try:
        return job_start(
            project=project, user=user, kind=Job.Kind.IMPORT_DATASET, params={"upload": relative, "format": format, "create_classes": bool(create_classes)},
        )
    except BaseException:
        media.delete(relative)
        raise
