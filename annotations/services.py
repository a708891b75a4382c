"""Writes: every change to projects, classes and annotation documents goes through here.

Each service is keyword-only, validates, runs in one transaction and returns what it made.
Image ingest lives in ingest.py and job bookkeeping in jobs.py; they follow the same rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import masks
from .corrections import corrections_record
from .errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from .models import Annotation, DocumentRevision, Image, LabelClass, Membership, ModelVersion, Project

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
REVIEWERS = (Membership.Role.REVIEWER, Membership.Role.OWNER)  # who may mark, unmark and edit reviewed images
# Control characters (newlines, tabs, NUL) break every line-based dataset file (VOC labelmap.txt,
# ImageSets lists) and are never meant; ':' and the rest are kept and escaped where a format needs it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def label_class_name_check(name: str) -> str:
    """The name, stripped, if a class may have it; ValidationFailed says why not."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a label class needs a name")
    if _CONTROL.search(name):
        raise ValidationFailed(f"class name {name!r} contains a control character (newline, tab, ...); use printable characters")
    if len(name) > 100:
        raise ValidationFailed(f"class name {name[:40]!r}... is longer than 100 characters")
    return name


@transaction.atomic
def project_create(*, name: str, owner: AbstractBaseUser, description: str = "") -> Project:
    name = name.strip()
    if not name:
        raise ValidationFailed("a project needs a name")
    project = Project.objects.create(name=name, description=description, created_by=owner)
    Membership.objects.create(project=project, user=owner, role=Membership.Role.OWNER)
    return project


@transaction.atomic
def membership_set(*, project: Project, user: AbstractBaseUser, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationFailed(f"unknown role {role!r}; use one of {', '.join(Membership.Role.values)}")
    current = Membership.objects.filter(project=project, user=user).first()
    if (current is not None and current.role == Membership.Role.OWNER and role != Membership.Role.OWNER
            and project.memberships.filter(role=Membership.Role.OWNER).count() == 1):
        raise ValidationFailed(f"{user.get_username()!r} is the last owner of project {project.name!r}; make someone else owner first")
    membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    return membership


INVITATION_SALT = "labeler.membership-invitation"
INVITATION_MAX_AGE_S = 3 * 24 * 3600


@dataclass(frozen=True)
class Invitation:
    username: str
    role: str
    token: str
    expires_at: datetime


def membership_invite(*, project: Project, username: str, role: str, inviter: AbstractBaseUser) -> Invitation:
    """An invitation for `username` to join `project` with `role`: a signed token the owner hands
    to the person, who accepts it while logged in (membership_accept). Nobody joins a project
    without consenting, and the answer is the same whether or not such a user exists."""
    if role not in Membership.Role.values:
        raise ValidationFailed(f"unknown role {role!r}; use one of {', '.join(Membership.Role.values)}")
    token = signing.dumps({"p": project.pk, "u": username, "r": role, "by": inviter.pk}, salt=INVITATION_SALT, compress=True)
    return Invitation(username=username, role=role, token=token,
                      expires_at=timezone.now() + timedelta(seconds=INVITATION_MAX_AGE_S))


@transaction.atomic
def membership_accept(*, token: str, user: AbstractBaseUser) -> Membership:
    """Join the project an invitation names, as the user it names, with its role. The inviter
    must still be an owner there (an owner who was removed can no longer bring people in)."""
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE_S)
    except signing.SignatureExpired:
        raise ValidationFailed("this invitation has expired; ask for a new one") from None
    except signing.BadSignature:
        raise ValidationFailed("this is not a valid invitation") from None
    if data.get("u") != user.get_username():
        raise NotFound("this invitation is for someone else")
    project = Project.objects.filter(pk=data.get("p")).first()
    if project is None or not Membership.objects.filter(project=project, user_id=data.get("by"), role=Membership.Role.OWNER).exists():
        raise NotFound("the project of this invitation is gone, or whoever sent it is no longer its owner")
    return membership_set(project=project, user=user, role=data["r"])


@transaction.atomic
def membership_remove(*, project: Project, username: str) -> None:
    """Remove a member; the last owner stays, so a project is never left without one."""
    membership = Membership.objects.select_for_update().filter(project=project, user__username=username).first()
    if membership is None:
        raise NotFound(f"{username!r} is not a member of project {project.name!r}")
    if membership.role == Membership.Role.OWNER and project.memberships.filter(role=Membership.Role.OWNER).count() == 1:
        raise ValidationFailed(f"{username!r} is the last owner of project {project.name!r}; make someone else owner first")
    membership.delete()


def require_role(*, project: Project, user: AbstractBaseUser, roles: Iterable[str]) -> None:
    if not Membership.objects.filter(project=project, user=user, role__in=list(roles)).exists():
        raise PermissionDenied(f"this needs the role {' or '.join(roles)} in project {project.name!r}")


@transaction.atomic
def label_class_create(
    *, project: Project, name: str, kind: str = LabelClass.Kind.INSTANCE, color: str = "#ff0000",
    hotkey: str = "", order: int | None = None,
) -> LabelClass:
    name = label_class_name_check(name)
    if kind not in LabelClass.Kind.values:
        raise ValidationFailed(f"unknown class kind {kind!r}; use semantic or instance")
    if not COLOR.match(color):
        raise ValidationFailed(f"colour must look like #rrggbb, got {color!r}")
    if project.label_classes.filter(name=name).exists():
        raise ValidationFailed(f"project {project.name!r} already has a class named {name!r}")
    if order is None:
        order = project.label_classes.count()
    return LabelClass.objects.create(project=project, name=name, kind=kind, color=color.lower(), hotkey=hotkey, order=order)


@transaction.atomic
def image_status_set(*, image: Image, status: str, user: AbstractBaseUser | None = None) -> Image:
    """Set an image's workflow status. Marking it reviewed (or taking that mark back) is for
    reviewers and owners: reviewed images are the ones a team trusts as ground truth."""
    if status not in Image.Status.values:
        raise ValidationFailed(f"unknown status {status!r}; use one of {', '.join(Image.Status.values)}")
    if user is not None and Image.Status.REVIEWED in (status, image.status) and status != image.status:
        require_role(project=image.project, user=user, roles=REVIEWERS)
    image.status = status
    image.save(update_fields=["status", "updated_at"])
    return image


def reviewed_document_check(*, image: Image, user: AbstractBaseUser) -> None:
    """A reviewed image is ground truth: only reviewers and owners change its annotations (an
    annotator who must fix one asks a reviewer to move it back to in_progress). Reads the status
    under the row lock, so a save cannot slip past a review that commits first."""
    status = Image.objects.select_for_update().filter(pk=image.pk).values_list("status", flat=True).first()
    if status == Image.Status.REVIEWED and not Membership.objects.filter(
        project_id=image.project_id, user=user, role__in=REVIEWERS,
    ).exists():
        raise PermissionDenied(
            f"image {image.pk} is reviewed; only reviewers and owners can change its annotations "
            "(ask one to move it back to in progress)",
            status=status,
        )


@dataclass(frozen=True)
class _Item:
    id: int | None
    label_class: LabelClass
    rle: dict
    z_order: int
    is_proposal: bool
    iscrowd: bool | None  # None: not sent (an existing annotation keeps its flag; a new one is not crowd)


def _document_rows(*, image: Image, ground_truth: bool = False):
    """The rows of one of the image's documents: the annotators' work, or its ground truth."""
    return Annotation.with_ground_truth.filter(image=image, ground_truth=ground_truth)


def _parse_items(*, image: Image, items: Sequence[dict[str, Any]], ground_truth: bool = False) -> list[_Item]:
    classes = {c.id: c for c in image.project.label_classes.all()}
    existing_ids = set(_document_rows(image=image, ground_truth=ground_truth).values_list("id", flat=True))
    parsed: list[_Item] = []
    seen_ids: set[int] = set()
    semantic_seen: set[int] = set()
    for index, item in enumerate(items):
        where = f"annotation {index}"
        if not isinstance(item, dict):
            raise ValidationFailed(f"{where}: must be an object", index=index)
        class_id = item.get("label_class")
        if class_id not in classes:
            raise ValidationFailed(f"{where}: label class {class_id!r} is not a class of project {image.project.name!r}", index=index)
        label_class = classes[class_id]
        try:
            masks.validate(item.get("mask"), height=image.height, width=image.width)
        except masks.MaskError as exc:
            raise ValidationFailed(f"{where}: {exc}", index=index) from exc
        ann_id = item.get("id")
        if ann_id is not None:
            if ann_id not in existing_ids:
                raise ValidationFailed(f"{where}: annotation id {ann_id!r} does not belong to image {image.pk}", index=index)
            if ann_id in seen_ids:
                raise ValidationFailed(f"{where}: annotation id {ann_id} appears twice", index=index)
            seen_ids.add(ann_id)
        if label_class.kind == LabelClass.Kind.SEMANTIC:
            if label_class.id in semantic_seen:
                raise ValidationFailed(f"{where}: semantic class {label_class.name!r} may have one mask per image; merge them", index=index)
            semantic_seen.add(label_class.id)
        z_order = item.get("z_order", index)
        if not isinstance(z_order, int) or isinstance(z_order, bool):
            raise ValidationFailed(f"{where}: z_order must be an integer", index=index)
        rle = dict(item["mask"])
        if isinstance(rle["counts"], list):  # uncompressed RLE in: store compressed
            rle = masks.encode(masks.decode(rle))
        iscrowd = item.get("iscrowd")
        if iscrowd is not None and not isinstance(iscrowd, bool):
            raise ValidationFailed(f"{where}: iscrowd must be true or false", index=index)
        parsed.append(_Item(ann_id, label_class, rle, z_order, bool(item.get("is_proposal", False)), iscrowd))
    return parsed


_UNSET: Any = object()


def _void_counts(*, image: Image, void: Any) -> str | None:
    """The void region sent with a document -> stored counts (None when empty or null)."""
    if void is None:
        return None
    try:
        masks.validate(void, height=image.height, width=image.width)
    except masks.MaskError as exc:
        raise ValidationFailed(f"void: {exc}") from exc
    rle = masks.encode(masks.decode(void)) if isinstance(void["counts"], list) else void
    if masks.area(rle) == 0:
        return None
    counts = rle["counts"]
    return counts.decode("ascii") if isinstance(counts, bytes) else counts


def _geometry(rle: dict) -> dict[str, int]:
    x, y, w, h = masks.bbox(rle)
    return {"bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h, "area": masks.area(rle)}


_REVISION_FIELDS = ("id", "label_class", "counts", "z_order", "source", "model_version", "score", "is_proposal", "author", "iscrowd")
_REVISION_COLUMNS = ("id", "label_class_id", "rle_counts", "z_order", "source", "model_version_id", "score", "is_proposal", "author_id", "iscrowd")


_COMMIT_CHUNK = 500


def documents_commit(
    *, image_ids: Sequence[int], author: AbstractBaseUser | None, expected_version: int | None = None,
    starts_work: bool = True, ground_truth: bool = False,
) -> dict[int, int]:
    """The last step of every write to annotation documents, inside the writer's transaction.

    Bumps each image's document version (with `expected_version`, for one image, a save against
    a stale version raises StaleVersion, and the writer's transaction rolls back whatever it
    wrote), moves NEW images to IN_PROGRESS when a person's work `starts_work` (model proposals
    do not), and records a revision of each document as it now stands. Returns {image id: version}.
    With `ground_truth`, the same for the images' ground-truth documents (their own version, no
    status change).
    """
    version_field = "ground_truth_version" if ground_truth else "annotation_version"
    starts_work = starts_work and not ground_truth
    if expected_version is not None and len(image_ids) != 1:
        raise ValueError("expected_version checks one document at a time")
    versions: dict[int, int] = {}
    for start in range(0, len(image_ids), _COMMIT_CHUNK):
        chunk = list(image_ids[start:start + _COMMIT_CHUNK])
        images = Image.objects.filter(pk__in=chunk)
        if expected_version is not None:
            images = images.filter(**{version_field: expected_version})
        if images.update(**{version_field: F(version_field) + 1}) == 0 and expected_version is not None:
            current = Image.objects.filter(pk=chunk[0]).values_list(version_field, flat=True).first()
            raise StaleVersion(
                f"image {chunk[0]} was saved by someone else (you read version {expected_version}, it is now {current})",
                current_version=current,
            )
        if starts_work:
            Image.objects.filter(pk__in=chunk, status=Image.Status.NEW).update(status=Image.Status.IN_PROGRESS)
        versions.update(Image.objects.filter(pk__in=chunk).values_list("id", version_field))
        rows: dict[int, list[dict[str, Any]]] = {pk: [] for pk in chunk}
        # plain tuples, not model instances: an import commits thousands of documents at once
        for image_id, *values in Annotation.with_ground_truth.filter(image_id__in=chunk, ground_truth=ground_truth).order_by("image_id", "z_order", "id").values_list(
            "image_id", *_REVISION_COLUMNS,
        ):
            rows[image_id].append(dict(zip(_REVISION_FIELDS, values)))
        voids = dict(Image.objects.filter(pk__in=chunk).values_list("id", "void_rle_counts"))
        if ground_truth:
            voids = dict.fromkeys(chunk)  # a ground-truth document has no void region of its own
        # one executemany: bulk_create prepared every field of every row through Django, which
        # was a fifth of a 10,000-image import
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        author_id = author.pk if author is not None else None
        with connection.cursor() as cursor:
            cursor.executemany(_revision_insert_sql(), [
                (pk, versions[pk], author_id, connection.ops.adapt_json_value(rows[pk], None), voids[pk], ground_truth, now)
                for pk in chunk
            ])
    return versions


def _revision_insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ("image_id", "version", "author_id", "annotations", "void_rle_counts", "ground_truth", "created_at")
    return (
        f"INSERT INTO {quote(DocumentRevision._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


@dataclass(frozen=True)
class DocumentSaved:
    image: Image
    version: int
    saved_ids: list[int]  # the id of each sent annotation, in the order they were sent


@transaction.atomic
def annotation_document_save(
    *, image: Image, user: AbstractBaseUser, version: int, annotations: Sequence[dict[str, Any]], void: Any = _UNSET,
    ground_truth: bool = False,
) -> DocumentSaved:
    """Replace an image's annotations with `annotations`, if `version` is still the current one.

    Existing annotations are named by id and keep their provenance; a proposal sent back with a
    changed mask or class, or with is_proposal false, becomes accepted (authored by `user`).
    Omitted annotations are deleted. `void` (an RLE of the image's size, or None to clear it) sets
    the document's void region; left out, the region stays as it is. A stale version raises
    StaleVersion and changes nothing. With `ground_truth`, the same for the image's ground-truth
    document (quality.ground_truth_document_check says who may, and that it has no void region).
    """
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationFailed("the document's version must be an integer (the version you read)")
    if not isinstance(annotations, (list, tuple)):
        raise ValidationFailed("annotations must be a list")
    if ground_truth:
        from .quality import ground_truth_document_check

        ground_truth_document_check(image=image, user=user, void=None if void is _UNSET else void)
        void = _UNSET
    else:
        reviewed_document_check(image=image, user=user)
    items = _parse_items(image=image, items=annotations, ground_truth=ground_truth)
    void_counts = _UNSET if void is _UNSET else _void_counts(image=image, void=void)

    rows = _document_rows(image=image, ground_truth=ground_truth)
    existing = {a.id: a for a in rows}
    if not ground_truth:
        # Before any row changes: how much of each model version's proposals the person changed.
        corrections_record(image=image, user=user, document_version=version + 1, existing=existing, items=items)
    kept: set[int] = set()
    new_rows: list[Annotation] = []
    saved_rows: list[Annotation] = []  # in request order, so the client learns the new rows' ids
    for item in items:
        geometry = _geometry(item.rle)
        if item.id is None:
            new_rows.append(Annotation(
                image=image, label_class=item.label_class, rle_counts=item.rle["counts"], z_order=item.z_order,
                source=Annotation.Source.HUMAN, author=user, is_proposal=False, iscrowd=bool(item.iscrowd),
                ground_truth=ground_truth, **geometry,
            ))
            saved_rows.append(new_rows[-1])
            continue
        row = existing[item.id]
        kept.add(row.id)
        saved_rows.append(row)
        changed = row.rle_counts != item.rle["counts"] or row.label_class_id != item.label_class.id
        iscrowd = row.iscrowd if item.iscrowd is None else item.iscrowd
        if not changed and row.z_order == item.z_order and row.is_proposal == item.is_proposal and row.iscrowd == iscrowd:
            continue
        row.iscrowd = iscrowd
        if row.is_proposal and (changed or not item.is_proposal):
            row.is_proposal = False  # accepted or edited by a person
            row.author = user
        elif changed:
            row.author = user
        row.label_class = item.label_class
        row.rle_counts = item.rle["counts"]
        row.z_order = item.z_order
        for field, value in geometry.items():
            setattr(row, field, value)
        row.save()
    rows.exclude(pk__in=kept).filter(pk__in=list(existing)).delete()
    Annotation.objects.bulk_create(new_rows)
    if void_counts is not _UNSET:
        Image.objects.filter(pk=image.pk).update(void_rle_counts=void_counts)
    documents_commit(image_ids=[image.pk], author=user, expected_version=version, ground_truth=ground_truth)
    image.refresh_from_db(fields=["annotation_version", "ground_truth_version", "status", "void_rle_counts"])
    version_now = image.ground_truth_version if ground_truth else image.annotation_version
    return DocumentSaved(image=image, version=version_now, saved_ids=[row.pk for row in saved_rows])


@dataclass(frozen=True)
class Proposal:
    label_class_id: int
    rle: dict
    score: float | None


@transaction.atomic
def proposals_replace(*, image: Image, model_version: ModelVersion, proposals: Sequence[Proposal]) -> int:
    """Write a model version's proposals for one image; idempotent.

    Replaces only this version's proposals that nobody touched; human annotations and accepted
    proposals stay. A semantic class that a person already annotated gets no proposal.
    Returns the number of proposals written.
    """
    if model_version.project_id != image.project_id:
        raise ValidationFailed(f"model version {model_version.name!r} belongs to another project")
    classes = {c.id: c for c in image.project.label_classes.all()}
    image.annotations.filter(model_version=model_version, is_proposal=True).delete()
    taken_semantic = set(
        image.annotations.filter(label_class__kind=LabelClass.Kind.SEMANTIC).values_list("label_class_id", flat=True)
    )
    top = image.annotations.order_by("-z_order").values_list("z_order", flat=True).first() or 0
    rows = []
    for offset, proposal in enumerate(proposals, start=1):
        label_class = classes.get(proposal.label_class_id)
        if label_class is None:
            raise NotFound(f"label class {proposal.label_class_id} is not in project {image.project.name!r}")
        masks.validate(proposal.rle, height=image.height, width=image.width)
        if label_class.kind == LabelClass.Kind.SEMANTIC and label_class.id in taken_semantic:
            continue
        rows.append(Annotation(
            image=image, label_class=label_class, rle_counts=proposal.rle["counts"], z_order=top + offset,
            source=Annotation.Source.MODEL, model_version=model_version, score=proposal.score, is_proposal=True,
            **_geometry(proposal.rle),
        ))
    Annotation.objects.bulk_create(rows)
    documents_commit(image_ids=[image.pk], author=None, starts_work=False)
    return len(rows)


def annotation_get_for_image(*, image: Image, annotation_id: int) -> Annotation:
    annotation = image.annotations.filter(pk=annotation_id).first()
    if annotation is None:
        raise NotFound(f"annotation {annotation_id} not found on image {image.pk}")
    return annotation
