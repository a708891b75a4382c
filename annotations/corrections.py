"""Correction effort: how much of each model version's proposals people changed when they saved.

`corrections_record` runs inside `services.annotation_document_save` before any row changes, so it
sees each proposal as the model wrote it next to what the person sent back: accepted unchanged,
edited (pixels painted on and erased, class changed), deleted, and objects drawn by hand on an
image the model had pre-labeled. Proposals still pending after the save are not counted yet; a
proposal is counted once, in the save that decides it. `correction_effort` sums the records per
version and sets them against `scratch_effort`, the pixels people paint on an image that no model
pre-labeled. No torch here: it runs in the web process.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, Protocol

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, Min, OuterRef, Sum

from . import masks
from .models import Annotation, CorrectionRecord, Image, Project

_FIGURES = ("accepted", "edited", "relabeled", "deleted", "added", "pixels_added", "pixels_removed", "proposal_pixels")


class IncomingItem(Protocol):
    """What the document save parsed from the request (services._Item)."""

    id: int | None
    rle: dict
    is_proposal: bool

    @property
    def label_class(self) -> Any: ...


def _bitmap(image: Image, counts: str) -> np.ndarray:
    return masks.decode({"size": [image.height, image.width], "counts": counts}).astype(bool)


def corrections_record(
    *, image: Image, user: AbstractBaseUser | None, document_version: int,
    existing: Mapping[int, Annotation], items: Iterable[IncomingItem],
) -> list[CorrectionRecord]:
    """Compare the incoming document with the image's current rows and write one record per
    model version whose proposals were decided (or that missed objects) in this save."""
    items = list(items)
    incoming = {item.id: item for item in items if item.id is not None}
    figures: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_FIGURES, 0))
    for row in existing.values():
        if not row.is_proposal or row.model_version_id is None:
            continue
        item = incoming.get(row.id)
        counts = figures[row.model_version_id]
        if item is None:
            counts["deleted"] += 1
            counts["proposal_pixels"] += row.area
            continue
        mask_changed = item.rle["counts"] != row.rle_counts
        class_changed = item.label_class.id != row.label_class_id
        if not (mask_changed or class_changed):
            if not item.is_proposal:
                counts["accepted"] += 1
                counts["proposal_pixels"] += row.area
            continue  # still pending: decided in a later save
        counts["edited"] += 1
        counts["relabeled"] += int(class_changed)
        counts["proposal_pixels"] += row.area
        if mask_changed:
            before, after = _bitmap(image, row.rle_counts), masks.decode(item.rle).astype(bool)
            counts["pixels_added"] += int((after & ~before).sum())
            counts["pixels_removed"] += int((before & ~after).sum())
    hand_drawn = sum(1 for item in items if item.id is None)
    if hand_drawn:
        # An object drawn by hand on a pre-labeled image is one the model missed: it counts
        # against every version whose output is (or was, once accepted) on the image.
        for version_id in {r.model_version_id for r in existing.values() if r.source == Annotation.Source.MODEL and r.model_version_id}:
            figures[version_id]["added"] += hand_drawn
    records = [
        CorrectionRecord(image=image, model_version_id=version_id, document_version=document_version, author=user, **counts)
        for version_id, counts in sorted(figures.items())
        if any(counts.values())
    ]
    return CorrectionRecord.objects.bulk_create(records)


def scratch_effort(*, project: Project) -> dict[str, Any]:
    """What labelling from scratch costs: the pixels of the annotations on approved images that
    never had a proposal from any version (no model row on them, no correction record), per image."""
    images = (
        project.images.filter(status__in=Image.APPROVED)
        .exclude(Exists(Annotation.objects.filter(image=OuterRef("pk"), source=Annotation.Source.MODEL)))
        .exclude(Exists(CorrectionRecord.objects.filter(image=OuterRef("pk"))))
    )
    count = images.count()
    pixels = Annotation.objects.filter(image__in=images).aggregate(total=Sum("area"))["total"] or 0
    return {"scratch_images": count, "scratch_pixels_per_image": round(pixels / count, 2) if count else None}


def _hand_drawn_pixels(*, project: Project) -> dict[int, int]:
    """version id -> area of the objects people drew by hand on the images that version pre-labeled,
    from the first save that decided its proposals on (what they drew before does not count)."""
    first_record = {
        (row["model_version_id"], row["image_id"]): row["first"]
        for row in CorrectionRecord.objects.filter(model_version__project=project)
        .values("model_version_id", "image_id").annotate(first=Min("created_at"))
    }
    drawn: dict[int, list[tuple[int, Any]]] = defaultdict(list)
    human = Annotation.objects.filter(image_id__in={image for _, image in first_record}, source=Annotation.Source.HUMAN)
    for image_id, area, created_at in human.values_list("image_id", "area", "created_at"):
        drawn[image_id].append((area, created_at))
    out: dict[int, int] = defaultdict(int)
    for (version_id, image_id), first in first_record.items():
        out[version_id] += sum(area for area, created_at in drawn.get(image_id, ()) if created_at >= first)
    return out


def correction_effort(*, project: Project, scratch: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """model version id -> summed figures, with the shares a team reads first.

    acceptance_rate: proposals accepted unchanged / proposals decided;
    pixels_changed_per_proposal_pixel: (painted + erased) / area of the decided proposals;
    pixels_changed_per_image: (painted onto and erased from proposals + drawn by hand) / images
    the version pre-labeled that people saved; effort_vs_scratch: that / the pixels painted per
    image on images labelled from scratch (`scratch_effort`): 0.2 = a fifth of the painting.
    """
    scratch = scratch if scratch is not None else scratch_effort(project=project)
    hand_drawn = _hand_drawn_pixels(project=project)
    rows = (
        CorrectionRecord.objects.filter(model_version__project=project)
        .values("model_version_id")
        .annotate(images=Count("image_id", distinct=True), saves=Count("id"), **{f: Sum(f) for f in _FIGURES})
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        decided = row["accepted"] + row["edited"] + row["deleted"]
        figures = {k: row[k] for k in ("images", "saves", *_FIGURES)}
        figures["proposals_decided"] = decided
        figures["acceptance_rate"] = round(row["accepted"] / decided, 4) if decided else None
        figures["pixels_changed_per_proposal_pixel"] = (
            round((row["pixels_added"] + row["pixels_removed"]) / row["proposal_pixels"], 4) if row["proposal_pixels"] else None
        )
        figures["hand_drawn_pixels"] = hand_drawn.get(row["model_version_id"], 0)
        changed = row["pixels_added"] + row["pixels_removed"] + figures["hand_drawn_pixels"]
        per_image = changed / row["images"] if row["images"] else None
        figures["pixels_changed_per_image"] = round(per_image, 2) if per_image is not None else None
        figures.update(scratch)
        from_scratch = scratch["scratch_pixels_per_image"]
        figures["effort_vs_scratch"] = round(per_image / from_scratch, 4) if per_image is not None and from_scratch else None
        out[row["model_version_id"]] = figures
    return out


def empty_effort(*, scratch: dict[str, Any] | None = None) -> dict[str, Any]:
    """The figures of a version nobody has corrected yet."""
    return {"images": 0, "saves": 0, **dict.fromkeys(_FIGURES, 0), "proposals_decided": 0,
            "acceptance_rate": None, "pixels_changed_per_proposal_pixel": None, "hand_drawn_pixels": 0,
            "pixels_changed_per_image": None, **(scratch or {"scratch_images": 0, "scratch_pixels_per_image": None}),
            "effort_vs_scratch": None}



