"""Dataset import (COCO or VOC zip into a project): parse, check everything, then write in one transaction.

Order of work, so that a refusal changes nothing: (1) the archive is read and every annotation
checked (names, sizes, categories); (2) image files inside the archive are staged and validated
by `annotations.ingest`, images without a file are matched by name to images already in the
project; (3) only then, in one transaction, classes, images and annotations are written. Files
moved into media storage are removed again if the transaction fails.
"""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from . import ingest, masks, services
from .errors import ValidationFailed
from .formats.archive import Archive, Errors
from .formats.coco_import import parse_coco
from .formats.records import ImportedDataset, ImportedImage
from .formats.voc_import import parse_voc
from .models import Annotation, Image, Job, LabelClass, Project

FORMATS = ("coco", "voc")
_BULK = 2000


@dataclass
class DatasetImportResult:
    images_created: int = 0
    images_matched: int = 0
    annotations: int = 0
    classes_created: list[str] = field(default_factory=list)
    skipped_empty: int = 0
    thumbnail_job: Job | None = None

    def as_dict(self) -> dict:
        return {
            "images_created": self.images_created, "images_matched": self.images_matched, "annotations": self.annotations,
            "classes_created": self.classes_created, "skipped_empty": self.skipped_empty,
            "thumbnail_job": self.thumbnail_job.pk if self.thumbnail_job else None,
        }


def _parse(archive: Archive, format: str) -> ImportedDataset:
    return parse_coco(archive) if format == "coco" else parse_voc(archive)


@dataclass
class _Target:
    """Where one imported image's annotations go: an existing row or a staged file to store."""
    existing: Image | None = None
    staged: ingest.StagedImage | None = None


def _existing_by_name(project: Project) -> tuple[dict[str, list[Image]], dict[str, list[Image]]]:
    by_name: dict[str, list[Image]] = {}
    by_stem: dict[str, list[Image]] = {}
    for image in Image.objects.filter(project=project).only("id", "file_name", "width", "height", "sha256", "status"):
        by_name.setdefault(image.file_name, []).append(image)
        by_stem.setdefault(PurePosixPath(image.file_name).stem, []).append(image)
    return by_name, by_stem


def _resolve_images(
    *, project: Project, archive: Archive, dataset: ImportedDataset, staging: Path, errors: Errors,
    on_step: Callable[[], None],
) -> list[_Target]:
    by_name, by_stem = _existing_by_name(project)
    staged_by_member: dict[str, ingest.StagedImage] = {}
    targets: list[_Target] = []
    for item in dataset.images:
        on_step()
        target = _Target()
        if item.member is not None:
            staged = staged_by_member.get(item.member)
            if staged is None:
                try:
                    with archive.open(item.member) as stream:
                        staged = ingest.stage_files([(item.member, stream)], staging)[0]
                except ValidationFailed as exc:
                    errors.add(exc.extra.get("errors", [exc.message])[0])  # "<member>: <problem>"
                    targets.append(target)
                    continue
                staged_by_member[item.member] = staged
            target.staged = staged
            width, height = staged.width, staged.height
            where = item.member
        else:
            candidates = by_name.get(item.file_name) or by_stem.get(PurePosixPath(item.file_name).stem) or []
            if not candidates:
                errors.add(f"{item.source}: image {item.file_name} is neither in the archive nor in project {project.name!r}")
                targets.append(target)
                continue
            if len(candidates) > 1:
                errors.add(f"{item.source}: image {item.file_name} matches {len(candidates)} images of the project; include the file in the archive")
                targets.append(target)
                continue
            target.existing = candidates[0]
            width, height = target.existing.width, target.existing.height
            where = f"project image {target.existing.file_name}"
        if (width, height) != (item.width, item.height):
            errors.add(
                f"{item.source}: mask size {item.height}x{item.width} (h x w) for {item.file_name} differs from "
                f"{where}, which is {height}x{width}"
            )
        targets.append(target)
    return targets


def _classes(*, project: Project, dataset: ImportedDataset, create: bool) -> tuple[dict[str, LabelClass], list[str]]:
    existing = {c.name: c for c in project.label_classes.all()}
    missing = [c for c in dataset.classes if c.name not in existing]
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


def _rows_for(image: Image, item: ImportedImage, classes: dict[str, LabelClass], user) -> list[Annotation]:
    """Annotation rows; a semantic class gets one mask per image (several are merged, with any it already has)."""
    semantic: dict[int, list[dict]] = {}
    z_of: dict[int, int] = {}
    rows = []
    for ann in item.annotations:
        label_class = classes[ann.class_name]
        if label_class.kind == LabelClass.Kind.SEMANTIC:
            semantic.setdefault(label_class.pk, []).append(ann.rle)
            z_of[label_class.pk] = max(z_of.get(label_class.pk, ann.z_order), ann.z_order)
            continue
        rows.append(_row(image, label_class, ann.rle, ann.z_order, ann.score, user))
    if semantic:
        already = {a.label_class_id: a for a in image.annotations.filter(label_class_id__in=list(semantic))} if image.pk else {}
        for class_pk, rles in semantic.items():
            if class_pk in already:
                rles = rles + [already[class_pk].rle]
                already[class_pk].delete()
            rle = rles[0] if len(rles) == 1 else masks.union(rles)
            rows.append(_row(image, next(c for c in classes.values() if c.pk == class_pk), rle, z_of[class_pk], None, user))
    return rows


def _row(image: Image, label_class: LabelClass, rle: dict, z_order: int, score: float | None, user) -> Annotation:
    x, y, w, h = masks.bbox(rle)
    return Annotation(
        image=image, label_class=label_class, rle_counts=rle["counts"], bbox_x=x, bbox_y=y, bbox_w=w, bbox_h=h,
        area=masks.area(rle), z_order=z_order, score=score, source=Annotation.Source.HUMAN, is_proposal=False, author=user,
    )


def dataset_import(
    *, project: Project, user: AbstractBaseUser | None, archive: str | Path | BinaryIO, format: str,
    create_classes: bool = True, make_thumbnails: bool = True, on_progress: Callable[[int, int], None] | None = None,
) -> DatasetImportResult:
    """Import a COCO or VOC zip into `project`, all or nothing; ValidationFailed lists what is wrong."""
    if format not in FORMATS:
        raise ValidationFailed(f"unknown dataset format {format!r}; use coco or voc")
    with ingest.Staging() as staging:
        with Archive(archive) as zipped:
            dataset = _parse(zipped, format)
            total = 2 * len(dataset.images)
            step = [0]

            def on_step() -> None:
                step[0] += 1
                if on_progress is not None and (step[0] % 50 == 0 or step[0] == total):
                    on_progress(step[0], total)

            errors = Errors()
            targets = _resolve_images(project=project, archive=zipped, dataset=dataset, staging=staging.path, errors=errors, on_step=on_step)
            errors.raise_if_any()
        result = DatasetImportResult(skipped_empty=dataset.skipped_empty)
        with transaction.atomic():
            classes, result.classes_created = _classes(project=project, dataset=dataset, create=create_classes)
            known = {i.sha256: i for i in Image.objects.filter(
                project=project, sha256__in=[t.staged.sha256 for t in targets if t.staged])}
            created: list[Image] = []
            pending: list[Annotation] = []
            touched: dict[int, None] = {}
            for item, target in zip(dataset.images, targets):
                on_step()
                if target.existing is not None:
                    image = target.existing
                    result.images_matched += 1
                elif target.staged.sha256 in known:  # type: ignore[union-attr]
                    image = known[target.staged.sha256]  # type: ignore[union-attr]
                    result.images_matched += 1
                else:
                    staged = target.staged
                    assert staged is not None
                    image = Image.objects.create(
                        project=project, file=staging.store(staged), file_name=PurePosixPath(item.file_name).name,
                        width=staged.width, height=staged.height, sha256=staged.sha256,
                    )
                    known[staged.sha256] = image
                    created.append(image)
                rows = _rows_for(image, item, classes, user)
                if rows:
                    touched[image.pk] = None
                pending.extend(rows)
                if len(pending) >= _BULK:
                    Annotation.objects.bulk_create(pending)
                    result.annotations += len(pending)
                    pending = []
            Annotation.objects.bulk_create(pending)
            result.annotations += len(pending)
            # An import saves documents: an editor holding an old version gets a conflict instead
            # of deleting what came in, and each touched document gets its revision.
            services.documents_commit(image_ids=list(touched), author=user)
            result.images_created = len(created)
            if make_thumbnails:
                from .thumbnails import thumbnail_job_start

                result.thumbnail_job = thumbnail_job_start(images=created, user=user)
        return result


@transaction.atomic
def dataset_import_start(
    *, project: Project, user: AbstractBaseUser | None, archive: BinaryIO, format: str, create_classes: bool = True,
) -> Job:
    """Keep the uploaded zip under MEDIA_ROOT/tmp/imports/ (workers share media storage) and queue the Job."""
    from .jobs import job_start

    if format not in FORMATS:
        raise ValidationFailed(f"unknown dataset format {format!r}; use coco or voc")
    name = getattr(archive, "name", "") or ""
    if name and not name.lower().endswith(".zip"):
        raise ValidationFailed(f"{name}: a dataset import takes one .zip archive")
    relative = f"tmp/imports/{uuid.uuid4().hex}.zip"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        shutil.copyfileobj(archive, out, 1 << 20)
    try:
        return job_start(
            project=project, user=user, kind=Job.Kind.IMPORT_DATASET, params={"upload": relative, "format": format, "create_classes": bool(create_classes)},
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
