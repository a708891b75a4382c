"""Ground-truth quality control: the project's seeded sample of ground-truth images, who may read
and write their ground-truth documents, and the scores of the annotators' work against them.

The sample is drawn with `random.Random(seed)` over the project's image ids in id order, so the
same images, percent and seed give the same sample (recorded on GroundTruthSample). Trusted people
(owners, reviewers) label each sample image's ground-truth document (Annotation.ground_truth),
saved through the one write path (services.annotation_document_save with ground_truth=True);
annotators keep labelling the image as usual and never see it.

Scoring, per image and class, at an IoU threshold:
- instance classes: one-to-one matching like COCOeval, greedy by IoU (pycocotools.mask.iou): the
  pair with the highest IoU >= threshold is matched first, then the next among the unmatched.
  Matched = true positive, unmatched work = false positive (unless it lies on a crowd region of
  the ground truth, which COCOeval ignores), unmatched ground truth = false negative.
- semantic classes: the class's mask of the work against that of the ground truth: IoU >=
  threshold is a true positive, else a present ground truth is a false negative and a present
  work mask a false positive; intersection and union add up to the class IoU (pixels).
precision = TP / (TP + FP), recall = TP / (TP + FN), accuracy = TP / (TP + FP + FN) (CVAT's),
mean IoU = the mean IoU of the matched pairs. An image counts once its ground truth is saved
and a person saved work on it; the work is its assignee's, else the last person who saved it.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from pycocotools import mask as cocomask

from .errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from .models import Annotation, DocumentRevision, GroundTruthSample, Image, LabelClass, Membership, Project

PERCENT_MIN, PERCENT_MAX = 1.0, 50.0  # a sample outside this is no sample, or most of the work
SEED_MAX = 2**31 - 1
TRUSTED = (Membership.Role.OWNER, Membership.Role.REVIEWER)  # who labels and reads ground truth


def sample_draw(*, image_ids: Sequence[int], percent: float, seed: int) -> list[int]:
    """The ids of the sample: round(percent % of the images) (at least one), seeded, sorted."""
    ids = sorted(image_ids)
    if not ids:
        return []
    size = max(1, round(len(ids) * percent / 100))
    return sorted(random.Random(seed).sample(ids, size))


def _percent_check(percent: Any) -> float:
    if isinstance(percent, bool) or not isinstance(percent, (int, float)):
        raise ValidationFailed(f"percent: must be a number from {PERCENT_MIN:g} to {PERCENT_MAX:g}, got {percent!r}")
    if not PERCENT_MIN <= percent <= PERCENT_MAX:
        raise ValidationFailed(
            f"percent: a ground-truth sample is {PERCENT_MIN:g} to {PERCENT_MAX:g} % of the images "
            f"(5-15 % is usual), got {percent:g} %",
        )
    return float(percent)


@transaction.atomic
def ground_truth_sample_mark(
    *, project: Project, user: AbstractBaseUser, percent: Any, seed: Any = None,
) -> GroundTruthSample:
    """Mark a seeded random `percent` of the project's images as its ground truth (owners only).

    Without a seed one is drawn and recorded. A new sample replaces the old one only while no
    ground truth has been labelled (Conflict otherwise: that work would be orphaned)."""
    if not Membership.objects.filter(project=project, user=user, role=Membership.Role.OWNER).exists():
        raise PermissionDenied(f"only owners of project {project.name!r} mark its ground-truth sample")
    percent = _percent_check(percent)
    if seed is None:
        seed = secrets.randbelow(SEED_MAX)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ValidationFailed(f"seed: must be an integer from 0 to {SEED_MAX}, got {seed!r}")
    labelled = project.images.filter(ground_truth=True, ground_truth_version__gt=0).count()
    if labelled:
        raise Conflict(
            f"ground truth is already labelled on {labelled} image(s) of project {project.name!r}; "
            "a new sample would leave that work out of the report",
            labelled=labelled,
        )
    ids = list(project.images.values_list("pk", flat=True))
    if not ids:
        raise ValidationFailed(f"project {project.name!r} has no images to sample")
    chosen = sample_draw(image_ids=ids, percent=percent, seed=seed)
    project.images.filter(ground_truth=True).update(ground_truth=False)
    project.images.filter(pk__in=chosen).update(ground_truth=True)
    sample, _ = GroundTruthSample.objects.update_or_create(
        project=project, defaults={"percent": percent, "seed": seed, "size": len(chosen), "created_by": user},
    )
    return sample


def ground_truth_read_check(*, image: Image, user: AbstractBaseUser) -> None:
    """Only owners and reviewers see an image's ground truth, and only a sample image has one."""
    if not Membership.objects.filter(project_id=image.project_id, user=user, role__in=TRUSTED).exists():
        raise PermissionDenied("only owners and reviewers see ground truth")
    if not image.ground_truth:
        raise NotFound(f"image {image.pk} is not in the ground-truth sample of its project")


def ground_truth_document_check(*, image: Image, user: AbstractBaseUser, void: Any) -> None:
    """What a ground-truth save must satisfy beyond any document's rules (services calls it)."""
    ground_truth_read_check(image=image, user=user)
    if void is not None:
        raise ValidationFailed("a ground-truth document has no void region; leave `void` out")


# --- scoring -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mask:
    label_class: int
    counts: str
    iscrowd: bool = False


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    iou_sum: float = 0.0  # over the matched pairs
    intersection: int = 0  # pixels, semantic classes only
    union: int = 0

    def add(self, other: "Tally") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.iou_sum += other.iou_sum
        self.intersection += other.intersection
        self.union += other.union

    def figures(self) -> dict[str, float | int | None]:
        def ratio(num: float, den: float) -> float | None:
            return round(num / den, 4) if den else None

        return {
            "tp": self.tp, "fp": self.fp, "fn": self.fn,
            "precision": ratio(self.tp, self.tp + self.fp), "recall": ratio(self.tp, self.tp + self.fn),
            "accuracy": ratio(self.tp, self.tp + self.fp + self.fn), "mean_iou": ratio(self.iou_sum, self.tp),
        }


def _rle(counts: str, height: int, width: int) -> dict:
    return {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def _instances(work: list[dict], truth: list[dict], crowd: list[bool], threshold: float) -> Tally:
    tally = Tally()
    real = [j for j, c in enumerate(crowd) if not c]
    if not work or not truth:
        tally.fp, tally.fn = len(work), len(real)
        return tally
    ious = cocomask.iou(work, truth, [int(c) for c in crowd])  # crowd: IoU over the work's area
    pairs = sorted(((ious[i][j], i, j) for i in range(len(work)) for j in real if ious[i][j] >= threshold), reverse=True)
    used_work: set[int] = set()
    used_truth: set[int] = set()
    for value, i, j in pairs:
        if i in used_work or j in used_truth:
            continue
        used_work.add(i)
        used_truth.add(j)
        tally.tp += 1
        tally.iou_sum += float(value)
    crowd_ids = [j for j, c in enumerate(crowd) if c]
    for i in range(len(work)):
        if i not in used_work and not any(ious[i][j] >= threshold for j in crowd_ids):
            tally.fp += 1
    tally.fn = len(real) - len(used_truth)
    return tally


def _semantic(work: list[dict], truth: list[dict], threshold: float, height: int, width: int) -> Tally:
    tally = Tally()
    if not work and not truth:
        return tally
    empty = cocomask.encode(np.zeros((height, width), dtype=np.uint8, order="F"))
    w = cocomask.merge(work, intersect=0) if work else empty
    g = cocomask.merge(truth, intersect=0) if truth else empty
    tally.intersection = int(cocomask.area(cocomask.merge([w, g], intersect=1)))
    tally.union = int(cocomask.area(cocomask.merge([w, g], intersect=0)))
    value = tally.intersection / tally.union if tally.union else 0.0
    if work and truth and value >= threshold:
        tally.tp, tally.iou_sum = 1, value
    else:
        tally.fn, tally.fp = int(bool(truth)), int(bool(work))
    return tally


def image_score(
    *, work: Iterable[Mask], truth: Iterable[Mask], kinds: dict[int, str], height: int, width: int, threshold: float,
) -> dict[int, Tally]:
    """One image's work against its ground truth: class id -> Tally."""
    by_class: dict[int, tuple[list[Mask], list[Mask]]] = {}
    for m in work:
        by_class.setdefault(m.label_class, ([], []))[0].append(m)
    for m in truth:
        by_class.setdefault(m.label_class, ([], []))[1].append(m)
    out: dict[int, Tally] = {}
    for class_id, (w, t) in by_class.items():
        w_rles = [_rle(m.counts, height, width) for m in w]
        t_rles = [_rle(m.counts, height, width) for m in t]
        if kinds.get(class_id) == LabelClass.Kind.SEMANTIC:
            out[class_id] = _semantic(w_rles, t_rles, threshold, height, width)
        else:
            out[class_id] = _instances(w_rles, t_rles, [m.iscrowd for m in t], threshold)
    return out


def threshold_parse(value: Any) -> float:
    """The IoU threshold a user asked for (default 0.5), strictly between 0 and 1."""
    if value in (None, ""):
        return 0.5
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"iou: must be a number between 0 and 1, got {value!r}") from None
    if not 0 < threshold <= 1:
        raise ValidationFailed(f"iou: must be above 0 and at most 1, got {threshold:g}")
    return threshold


@dataclass
class Report:
    threshold: float
    sample: GroundTruthSample | None
    images_in_sample: int
    images_with_truth: int
    images_scored: int
    per_annotator: list[dict] = field(default_factory=list)
    per_class: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)


def _annotators(images: list[Image]) -> dict[int, str | None]:
    """image id -> the user name whose work it is: the assignee, else the last person who saved
    the work; None when no person saved work on it (such an image is not scored)."""
    last_author: dict[int, str] = {}
    for image_id, username in (
        DocumentRevision.objects.filter(image__in=images, ground_truth=False, author__isnull=False)
        .order_by("image_id", "version").values_list("image_id", "author__username")
    ):
        last_author[image_id] = username  # ascending versions: the last one stays
    return {
        image.pk: (image.assignee.get_username() if image.assignee_id and image.pk in last_author else last_author.get(image.pk))
        for image in images
    }


def quality_report(*, project: Project, user: AbstractBaseUser, threshold: float = 0.5) -> Report:
    """The scores of the annotators' work on the sample images, per annotator and per class."""
    if not Membership.objects.filter(project=project, user=user, role__in=TRUSTED).exists():
        raise PermissionDenied("only owners and reviewers see the quality report")
    classes = list(project.label_classes.all())
    kinds = {c.pk: c.kind for c in classes}
    sample_images = list(project.images.filter(ground_truth=True).select_related("assignee").order_by("pk"))
    with_truth = [i for i in sample_images if i.ground_truth_version > 0]
    owner_of = _annotators(with_truth)
    scored = [i for i in with_truth if owner_of[i.pk] is not None]
    rows: dict[int, tuple[list[Mask], list[Mask]]] = {i.pk: ([], []) for i in scored}
    for image_id, class_id, counts, crowd, is_truth in Annotation.with_ground_truth.filter(
        image__in=scored, is_proposal=False,
    ).values_list("image_id", "label_class_id", "rle_counts", "iscrowd", "ground_truth"):
        rows[image_id][1 if is_truth else 0].append(Mask(class_id, counts, crowd))
    per_class = {c.pk: Tally() for c in classes}
    per_annotator: dict[str, Tally] = {}
    images_of: dict[str, int] = {}
    total = Tally()
    for image in scored:
        work, truth = rows[image.pk]
        scores = image_score(work=work, truth=truth, kinds=kinds, height=image.height, width=image.width, threshold=threshold)
        who = owner_of[image.pk]
        person = per_annotator.setdefault(who, Tally())
        images_of[who] = images_of.get(who, 0) + 1
        for class_id, tally in scores.items():
            per_class[class_id].add(tally)
            person.add(tally)
            total.add(tally)
    class_rows = []
    for c in classes:
        tally = per_class[c.pk]
        row = {"label_class": c.pk, "name": c.name, "kind": c.kind, "color": c.color, **tally.figures()}
        row["class_iou"] = round(tally.intersection / tally.union, 4) if c.kind == LabelClass.Kind.SEMANTIC and tally.union else None
        class_rows.append(row)
    return Report(
        threshold=threshold, sample=GroundTruthSample.objects.filter(project=project).first(),
        images_in_sample=len(sample_images), images_with_truth=len(with_truth), images_scored=len(scored),
        per_annotator=[{"username": who, "images": images_of[who], **tally.figures()} for who, tally in sorted(per_annotator.items())],
        per_class=class_rows, total=total.figures(),
    )
