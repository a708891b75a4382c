"""An image's history: the revisions of its documents (who saved which version when), one
revision's annotations to look at, and restoring one.

Every save records a DocumentRevision (services.documents_commit), so the history is complete:
a keyframe (the whole document) or, for an editor's save, a delta on the revision before it,
replayed here (revision_annotations) when a revision is looked at or restored.
Restoring writes the revision's rows back, masks byte for byte with their provenance, as a new
save through `services.documents_commit`: a new version on top (nothing is lost, the restore
itself can be undone by restoring the version before it), refused with 409 when the version the
user read is stale. The ground-truth document has its own history, for owners and reviewers.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet

from . import services
from .errors import NotFound, ValidationFailed
from .models import Annotation, DocumentRevision, Image, ModelVersion
from .quality import ground_truth_document_check, ground_truth_read_check


def revision_list(*, image: Image, user: AbstractBaseUser, ground_truth: bool = False) -> QuerySet[DocumentRevision]:
    """The revisions of the image's work (or ground-truth) document, newest first."""
    if ground_truth:
        ground_truth_read_check(image=image, user=user)
    return (image.revisions.filter(ground_truth=ground_truth).select_related("author").order_by("-version")
            .defer("annotations", "changes", "void_rle_counts"))


def revision_annotations(revision: DocumentRevision) -> list[dict[str, Any]]:
    """The document as it stood at `revision`, as revision rows in (z_order, id) order: a
    keyframe's own rows, or a delta's chain replayed on its keyframe (one query; at most
    services.REVISION_KEYFRAME_EVERY rows)."""
    if revision.annotations is not None:
        return revision.annotations
    chain = list(
        DocumentRevision.objects.filter(image_id=revision.image_id, ground_truth=revision.ground_truth,
                                        version__gte=revision.keyframe_version, version__lte=revision.version)
        .order_by("version").values_list("version", "annotations", "changes")
    )
    if [version for version, _, _ in chain] != list(range(revision.keyframe_version, revision.version + 1)) or chain[0][1] is None:
        raise RuntimeError(f"revision {revision.version} of image {revision.image_id}: its chain from keyframe "
                           f"{revision.keyframe_version} is incomplete")
    rows = {row["id"]: row for row in chain[0][1]}
    for _, _, changes in chain[1:]:
        for pk in changes["delete"]:
            rows.pop(pk, None)
        rows.update((row["id"], row) for row in changes["upsert"])
    return sorted(rows.values(), key=lambda r: (r["z_order"], r["id"]))


def revision_get(*, image: Image, user: AbstractBaseUser, revision_id: int) -> DocumentRevision:
    """One revision of this image (NotFound for another image's, whoever asks)."""
    revision = image.revisions.filter(pk=revision_id).select_related("author").first()
    if revision is None:
        raise NotFound(f"revision {revision_id} is not a revision of image {image.pk}")
    if revision.ground_truth:
        ground_truth_read_check(image=image, user=user)
    return revision


@transaction.atomic
def document_restore(*, image: Image, user: AbstractBaseUser, revision_id: int, version: int) -> int:
    """Make revision `revision_id` the image's document again, as a new version on top of
    `version` (the version the user read; StaleVersion when it is no longer current).
    Returns the new version."""
    revision = revision_get(image=image, user=user, revision_id=revision_id)
    truth = revision.ground_truth
    if truth:
        ground_truth_document_check(image=image, user=user, void=None)
    else:
        services.reviewed_document_check(image=image, user=user)
    classes = set(image.project.label_classes.values_list("pk", flat=True))
    items = revision_annotations(revision)
    gone = sorted({item["label_class"] for item in items} - classes)
    if gone:
        raise ValidationFailed(
            f"revision {revision.version} uses label class(es) {', '.join(map(str, gone))} that were deleted; it cannot be restored",
            label_classes=gone,
        )
    versions = set(ModelVersion.objects.filter(pk__in={i["model_version"] for i in items if i.get("model_version")})
                   .values_list("pk", flat=True))
    users = set(get_user_model().objects.filter(pk__in={i["author"] for i in items if i.get("author")}).values_list("pk", flat=True))
    Annotation.with_ground_truth.filter(image=image, ground_truth=truth).delete()
    rows = []
    for item in items:
        model_version = item.get("model_version") if item.get("model_version") in versions else None
        source = item.get("source") or Annotation.Source.HUMAN
        rle = {"size": [image.height, image.width], "counts": item["counts"]}
        rows.append(Annotation(
            # the row's own id again: it is free (deleted just above), and the editor and the
            # correction records know the annotation by it
            id=item["id"], image=image, label_class_id=item["label_class"], rle_counts=item["counts"],
            z_order=item.get("z_order") or 0, source=source, model_version_id=model_version, score=item.get("score"),
            # a proposal whose model version was deleted since cannot stay one (a proposal comes from a model)
            is_proposal=bool(item.get("is_proposal")) and model_version is not None,
            iscrowd=bool(item.get("iscrowd")), ground_truth=truth,
            author_id=item.get("author") if item.get("author") in users else None, **services._geometry(rle),
        ))
    Annotation.objects.bulk_create(rows)
    if not truth:
        Image.objects.filter(pk=image.pk).update(void_rle_counts=revision.void_rle_counts or None)
    return services.documents_commit(image_ids=[image.pk], author=user, expected_version=version, ground_truth=truth)[image.pk]
