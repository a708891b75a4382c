"""An export split into chunks: the plan, one chunk's part, and the zip assembled from the parts.

An export over more than settings.LABELER_EXPORT_CHUNK images is planned once (`export_plan`: the
images in export order with their final names, since a name's uniqueness depends on every image
before it, the classes and the void ids, so every chunk renders against the same snapshot), then
each chunk renders its images (`export_chunk_write`) into a part zip stored in media storage
(annotations/media.py; S3 works too) under `exports/<project>/job-<id>-parts/`: the members as
they will be in the final zip (COCO's files under images/, VOC's PNGs, XML and JPEGs), and its
JSON items and list lines as fragments under `~part/` (stored, not deflated: they are deflated
once, into the final zip). `export_assemble` copies the parts' members
in chunk order into the final zip and writes each document from the fragments of every part,
streamed through a fixed buffer (memory stays flat), stores it under the name a one-worker export
uses (S3: a multipart upload that appears only when complete) and removes the parts. The zip has
the same members and content as `export_write`'s for the same rows.

Parts are removed on every exit: by the assembly, by a chunk that fails or sees the Job ended,
and, for a chunk killed with its worker, by the sweep when a worker starts (workers/temp_files.py
calls `export_parts_stale`).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from django.conf import settings
from django.core.files.storage import default_storage

from . import media
from .errors import DomainError
from .jobs import TRANSIENT_ERRORS, JobCancelled
from .exports import (
    ExportOptions, _export_images, export_image_names, export_storage_name, export_void_id_base,
)
from .formats.coco_export import CocoMembers, coco_documents
from .formats.records import ExportClass, ExportImage
from .formats.split import split_parse
from .formats.voc_export import VocMembers, class_indices, voc_documents
from .formats.zipstream import ZipFragment, ZipSink
from .models import Job

PART = "~part/"  # a part's fragments and counts; never copied into the final zip
_PARTS_FOLDER = re.compile(r"^job-(\d+)-parts$")


def export_chunk_size() -> int:
    return max(1, int(settings.LABELER_EXPORT_CHUNK))


def export_plan(*, job: Job) -> tuple[dict[str, Any], list[list[list[Any]]]]:
    """(what every chunk renders against, the chunks' images as [id, stem, member]). Refuses what
    the whole export would refuse (no classes, too many classes for VOC) before any chunk runs."""
    options = ExportOptions.from_params(job.params)
    project = job.project
    classes = [ExportClass(c.pk, c.name, c.kind, c.color) for c in project.label_classes.order_by("order", "id")]
    if not classes:
        raise DomainError(f"project {project.name!r} has no label classes to export")
    if options.format == "voc":
        class_indices(classes)
    entries = [[pk, stem, member] for pk, stem, member in export_image_names(project=project, options=options)]
    size = export_chunk_size()
    chunks = [entries[i:i + size] for i in range(0, len(entries), size)] or [[]]
    plan = {"classes": [[c.id, c.name, c.kind, c.color] for c in classes],
            "void_id_base": export_void_id_base(project=project, options=options), "images": len(entries)}
    return plan, chunks


def _classes(plan: dict[str, Any]) -> list[ExportClass]:
    return [ExportClass(*c) for c in plan["classes"]]


def export_parts_folder(job: Job) -> str:
    return f"exports/{job.project_id}/job-{job.pk}-parts"


def export_part_name(job: Job, index: int) -> str:
    return f"{export_parts_folder(job)}/{index:05d}.zip"


def _scratch() -> Path:
    """Local scratch for parts and the final zip while they are written (swept when stale)."""
    scratch = Path(settings.MEDIA_ROOT) / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=scratch, suffix=".part")
    os.close(fd)
    return Path(tmp)


def export_chunk_write(
    *, job: Job, index: int, entries: list[list[Any]], plan: dict[str, Any], on_image: Callable[[int], None],
) -> dict[str, Any]:
    """Render one chunk's images into its part and store it; returns the chunk's counts. An image
    that cannot be written fails the chunk with a message naming it."""
    options = ExportOptions.from_params(job.params)
    project = job.project
    classes = _classes(plan)
    split = split_parse(options.split, seed=options.seed) if options.split else None
    split_names = split.names if split is not None else (("train",) if options.format == "coco" else ())
    names = {int(pk): (stem, member) for pk, stem, member in entries}
    kinds = {c.id: c.kind for c in classes}

    def image_path(image: ExportImage) -> str:
        return str(media.local_path(image.storage_name))  # remote storage: a bounded local cache

    images = _export_images(project, options, split, kinds, names=names)
    if options.with_images:
        images = media.prefetched(images, lambda image: image.storage_name)
    tmp = _scratch()
    try:
        with ZipSink(tmp) as sink:
            if options.format == "coco":
                members: CocoMembers | VocMembers = CocoMembers(
                    sink, classes=classes, split_names=split_names, mask_format=options.mask_format,
                    with_images=options.with_images, image_path=image_path, void_id_base=plan["void_id_base"],
                )
            else:
                members = VocMembers(sink, classes=classes, split_names=split_names, with_images=options.with_images,
                                     image_path=image_path)
            try:
                current: ExportImage | None = None
                try:
                    for current in images:
                        members.add(current)
                        on_image(members.images)
                except Exception as exc:
                    if isinstance(exc, (*TRANSIENT_ERRORS, JobCancelled)):
                        raise  # the database: the chunk's task retries; a cancel: the chunk stops
                    where = f"image {current.id} ({current.file_name})" if current is not None else f"chunk {index + 1}"
                    message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
                    raise DomainError(message if message.startswith("image ") else f"{where}: {message}") from exc
                manifest: dict[str, Any] = {"counts": members.counts()}
                if isinstance(members, CocoMembers):
                    manifest["splits"] = {}
                    for name, (image_spool, ann_spool) in members.spools.items():
                        sink.write_document(f"{PART}coco/{name}/images", [image_spool], compress=False)
                        sink.write_document(f"{PART}coco/{name}/annotations", [ann_spool], compress=False)
                        manifest["splits"][name] = [image_spool.count, ann_spool.count]
                else:
                    manifest["lists"] = {}
                    for name, spool in members.lists.items():
                        sink.write_document(f"{PART}voc/lists/{name}", [spool], compress=False)
                        manifest["lists"][name] = spool.count
                    sink.write_document(f"{PART}voc/manifest", [members.manifest], compress=False)
                    manifest["manifest"] = members.manifest.count
                    manifest["any_void"] = members.any_void
                sink.write_bytes(f"{PART}part.json", json.dumps(manifest).encode())
            finally:
                members.close()
        media.save(export_part_name(job, index), tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest["counts"]


def export_assemble(*, job: Job, chunks: int, plan: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The final zip from the chunks' parts, stored under the Job's export name; the parts are
    removed once it is stored. Returns (name, counts)."""
    options = ExportOptions.from_params(job.params)
    classes = _classes(plan)
    name = export_storage_name(job=job)
    tmp = _scratch()
    try:
        with ExitStack() as stack:
            paths = [stack.enter_context(media.local_copy(export_part_name(job, i))) for i in range(chunks)]
            manifests = []
            for path in paths:
                with zipfile.ZipFile(path) as part:
                    manifests.append(json.loads(part.read(f"{PART}part.json")))
            with ZipSink(tmp) as sink:
                for path in paths:
                    sink.copy_members(path, skip_prefix=PART)
                if options.format == "coco":
                    splits = sorted({s for m in manifests for s in m["splits"]})
                    coco_documents(sink, project_name=job.project.name, classes=classes,
                                   void_id_base=plan["void_id_base"], splits={
                                       s: ([ZipFragment(p, f"{PART}coco/{s}/images", m["splits"][s][0])
                                            for p, m in zip(paths, manifests) if s in m["splits"]],
                                           [ZipFragment(p, f"{PART}coco/{s}/annotations", m["splits"][s][1])
                                            for p, m in zip(paths, manifests) if s in m["splits"]])
                                       for s in splits})
                else:
                    lists = sorted({s for m in manifests for s in m["lists"]})
                    voc_documents(sink, classes=classes, any_void=any(m["any_void"] for m in manifests),
                                  lists={s: [ZipFragment(p, f"{PART}voc/lists/{s}", m["lists"][s])
                                             for p, m in zip(paths, manifests) if s in m["lists"]] for s in lists},
                                  manifest=[ZipFragment(p, f"{PART}voc/manifest", m["manifest"])
                                            for p, m in zip(paths, manifests)])
        media.save(name, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    export_parts_remove(job)
    counts: dict[str, int] = {}
    for m in manifests:
        for key, value in m["counts"].items():
            counts[key] = counts.get(key, 0) + value
    return name, {"format": options.format, **counts}


def export_parts_remove(job: Job) -> None:
    """Remove every part a Job's chunks stored (idempotent)."""
    _folder_remove(export_parts_folder(job))


def _folder_remove(folder: str) -> None:
    try:
        files = default_storage.listdir(folder)[1]
    except FileNotFoundError:
        return
    for file in files:
        media.delete(f"{folder}/{file}")
    if media.is_local():  # a bucket has no folders; a local one is left empty
        try:
            Path(default_storage.path(folder)).rmdir()
        except OSError:
            pass


def export_parts_stale() -> list[str]:
    """Remove the parts of Jobs that ended (or are gone): what a chunk killed with its worker left.
    Returns the folders emptied."""
    removed: list[str] = []
    try:
        projects = default_storage.listdir("exports")[0]
    except FileNotFoundError:
        return removed
    for project in projects:
        try:
            folders = default_storage.listdir(f"exports/{project}")[0]
        except FileNotFoundError:
            continue
        for folder in folders:
            found = _PARTS_FOLDER.match(folder)
            if found is None:
                continue
            job = Job.objects.filter(pk=int(found.group(1))).first()
            if job is not None and not job.is_finished:
                continue
            _folder_remove(f"exports/{project}/{folder}")
            removed.append(f"exports/{project}/{folder}")
    return removed
