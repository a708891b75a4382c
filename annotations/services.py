"""Writes: every change to projects, classes and annotation documents goes through here.

Each service is keyword-only, validates, runs in one transaction and returns what it made.
Image ingest lives in ingest.py and job bookkeeping in jobs.py; they follow the same rules.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Sequence

import orjson
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

from . import masks, selectors
from .corrections import corrections_record
from .errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from .models import INT_MAX, INT_MIN, Annotation, DocumentRevision, Image, LabelClass, Membership, ModelVersion, Project

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
def project_update(
    *, project: Project, name: str | None = None, description: str | None = None, archived: bool | None = None,
    annotators_see_unassigned: bool | None = None,
) -> Project:
    """Edit a project; archiving hides it from the project list (nothing is deleted), unarchiving brings it back."""
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationFailed("a project needs a name")
        project.name = name
    for field, value in (("description", description), ("archived", archived), ("annotators_see_unassigned", annotators_see_unassigned)):
        if value is not None:
            setattr(project, field, value)
    project.save()
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


def require_role(*, project: Project, user: AbstractBaseUser, roles: Iterable[str], role: str | None = None) -> None:
    """PermissionDenied unless `user` has one of `roles` in `project`. `role`: the user's role there,
    where the caller read it in this request already (selectors.image_get does), so it is not read again."""
    roles = list(roles)
    allowed = role in roles if role is not None else Membership.objects.filter(project=project, user=user, role__in=roles).exists()
    if not allowed:
        raise PermissionDenied(f"this needs the role {' or '.join(roles)} in project {project.name!r}")


def _label_class_check(*, project: Project, name: str, kind: str, color: str, hotkey: str, exclude: int | None = None) -> str:
    """The class's name, stripped, if the fields are valid together with the project's other classes."""
    name = label_class_name_check(name)
    if kind not in LabelClass.Kind.values:
        raise ValidationFailed(f"unknown class kind {kind!r}; use semantic or instance")
    if not COLOR.match(color):
        raise ValidationFailed(f"colour must look like #rrggbb, got {color!r}")
    others = project.label_classes.exclude(pk=exclude)
    if others.filter(name=name).exists():
        raise ValidationFailed(f"project {project.name!r} already has a class named {name!r}", field="name")
    if hotkey:
        if len(hotkey) != 1 or not hotkey.isprintable() or hotkey.isspace():
            raise ValidationFailed(f"a hotkey is one printable key, got {hotkey!r}", field="hotkey")
        taken = others.filter(hotkey__iexact=hotkey).first()
        if taken is not None:
            raise ValidationFailed(f"hotkey {hotkey!r} is already used by class {taken.name!r}", field="hotkey", used_by=taken.name)
    return name


@transaction.atomic
def label_class_create(
    *, project: Project, name: str, kind: str = LabelClass.Kind.INSTANCE, color: str = "#ff0000",
    hotkey: str = "", order: int | None = None,
) -> LabelClass:
    name = _label_class_check(project=project, name=name, kind=kind, color=color, hotkey=hotkey)
    if order is None:
        order = project.label_classes.count()
    return LabelClass.objects.create(project=project, name=name, kind=kind, color=color.lower(), hotkey=hotkey, order=order)


@transaction.atomic
def label_class_update(
    *, label_class: LabelClass, name: str | None = None, kind: str | None = None, color: str | None = None,
    hotkey: str | None = None, order: int | None = None,
) -> LabelClass:
    """Edit a class. Its kind changes only while no annotation uses it (a semantic class holds one
    mask per image, so instance masks cannot silently become one)."""
    new_kind = kind if kind is not None else label_class.kind
    if new_kind != label_class.kind and label_class.annotations.exists():
        raise ValidationFailed(f"class {label_class.name!r} has annotations; its kind cannot change from {label_class.kind} to {new_kind}",
                               field="kind")
    new_color = color if color is not None else label_class.color
    new_hotkey = hotkey if hotkey is not None else label_class.hotkey
    label_class.name = _label_class_check(
        project=label_class.project, name=name if name is not None else label_class.name, kind=new_kind,
        color=new_color, hotkey=new_hotkey, exclude=label_class.pk,
    )
    label_class.kind, label_class.color, label_class.hotkey = new_kind, new_color.lower(), new_hotkey
    if order is not None:
        label_class.order = order
    label_class.save()
    return label_class


@transaction.atomic
def label_class_delete(*, label_class: LabelClass, confirm: bool = False) -> int:
    """Delete a class. When annotations use it, refused unless `confirm` (they go with it, and each
    touched image's document gets a new version and revision). Returns the annotations deleted."""
    used = label_class.annotations.count()
    if used and not confirm:
        images = label_class.annotations.values("image_id").distinct().count()
        raise Conflict(
            f"class {label_class.name!r} is used by {used} annotation(s) on {images} image(s); "
            "confirm to delete the class and those annotations",
            annotations=used, images=images,
        )
    image_ids = list(label_class.annotations.values_list("image_id", flat=True).distinct())
    label_class.delete()
    if image_ids:
        documents_commit(image_ids=image_ids, author=None, starts_work=False)
    return used


# The review flow: new -> in_progress -> done -> reviewed, and back to in_progress (a rejected or
# reopened image). An empty image may go from new straight to done. Owners may set any status.
STATUS_FLOW: dict[str, set[str]] = {
    Image.Status.NEW: {Image.Status.IN_PROGRESS, Image.Status.DONE},
    Image.Status.IN_PROGRESS: {Image.Status.DONE},
    Image.Status.DONE: {Image.Status.IN_PROGRESS, Image.Status.REVIEWED},
    Image.Status.REVIEWED: {Image.Status.IN_PROGRESS, Image.Status.DONE},
}


def image_status_check(*, image: Image, status: str, role: str | None) -> None:
    """Raise unless a member with `role` (None: the system, a command or an import) may move `image` to `status`."""
    if status not in Image.Status.values:
        raise ValidationFailed(f"unknown status {status!r}; use one of {', '.join(Image.Status.values)}")
    if role is None or role == Membership.Role.OWNER or status == image.status:
        return
    if Image.Status.REVIEWED in (status, image.status) and role not in REVIEWERS:
        raise PermissionDenied(f"marking image {image.pk} reviewed, or taking the mark back, needs the role reviewer or owner")
    if status not in STATUS_FLOW[image.status]:
        allowed = ", ".join(sorted(STATUS_FLOW[image.status]))
        raise ValidationFailed(f"image {image.pk} cannot go from {image.status} to {status}; from {image.status} it may go to {allowed}",
                               status=image.status)


@transaction.atomic
def image_status_set(*, image: Image, status: str, user: AbstractBaseUser | None = None) -> Image:
    """Set an image's workflow status along STATUS_FLOW. Marking it reviewed (or taking that mark
    back) is for reviewers and owners: reviewed images are the ones a team trusts as ground truth."""
    role = None
    if user is not None:
        role = Membership.objects.filter(project_id=image.project_id, user=user).values_list("role", flat=True).first()
        if role is None:
            raise NotFound(f"image {image.pk} not found")
    image_status_check(image=image, status=status, role=role)
    image.status = status
    image.save(update_fields=["status", "updated_at"])
    return image


@transaction.atomic
def image_review(*, image: Image, user: AbstractBaseUser, accept: bool, comment: str = "") -> Image:
    """A reviewer's verdict on a done image: accepted, it becomes reviewed (the comment is cleared);
    rejected, it goes back to in_progress with the comment for its annotator (needs a comment). If
    nobody was assigned, it goes back to whoever last saved its annotations."""
    require_role(project=image.project, user=user, roles=REVIEWERS)
    comment = comment.strip()
    if not accept and not comment:
        raise ValidationFailed("say what to fix: a rejected image needs a comment for its annotator", field="comment")
    reviewable = (Image.Status.DONE,) if accept else (Image.Status.DONE, Image.Status.REVIEWED)
    if image.status not in reviewable:
        raise ValidationFailed(f"image {image.pk} is {image.status}; only done images are reviewed", status=image.status)
    if accept:
        image.status, image.review_comment = Image.Status.REVIEWED, ""
    else:
        image.status, image.review_comment = Image.Status.IN_PROGRESS, comment
        if image.assignee_id is None:
            image.assignee_id = image.revisions.exclude(author=None).order_by("-version").values_list("author_id", flat=True).first()
    image.save(update_fields=["status", "review_comment", "assignee", "updated_at"])
    return image


@transaction.atomic
def images_assign(*, project: Project, image_ids: Sequence[int], username: str | None) -> int:
    """Assign the project's listed images to a member (None: nobody). Returns how many changed."""
    assignee = None
    if username:
        membership = project.memberships.filter(user__username=username).select_related("user").first()
        if membership is None:
            raise ValidationFailed(f"{username!r} is not a member of project {project.name!r}; invite them first", username=username)
        assignee = membership.user
    images = _project_images(project=project, image_ids=image_ids)
    return images.update(assignee=assignee)


@transaction.atomic
def images_status_set(*, project: Project, image_ids: Sequence[int], status: str, user: AbstractBaseUser) -> int:
    """Set the status of the project's listed images, each along STATUS_FLOW; all or nothing."""
    images = list(_project_images(project=project, image_ids=image_ids).select_for_update())
    role = Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    for image in images:
        image_status_check(image=image, status=status, role=role)
    return Image.objects.filter(pk__in=[i.pk for i in images]).update(status=status, updated_at=timezone.now())


@transaction.atomic
def images_delete(*, project: Project, image_ids: Sequence[int]) -> int:
    """Delete the project's listed images with their annotations and revisions (files stay: they
    are content-addressed and may be shared). Returns how many were deleted."""
    images = _project_images(project=project, image_ids=image_ids)
    count = images.count()
    images.delete()
    return count


def _project_images(*, project: Project, image_ids: Sequence[int]):
    """The listed images, all of them the project's, or ValidationFailed naming the others."""
    ids = list(dict.fromkeys(image_ids))
    if not ids:
        raise ValidationFailed("select at least one image")
    images = Image.objects.filter(project=project, pk__in=ids)
    found = set(images.values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(f"image(s) {', '.join(map(str, missing[:10]))} are not in project {project.name!r}", missing=missing[:100])
    return images


def reviewed_document_check(*, image: Image, user: AbstractBaseUser, status: str | None = None) -> None:
    """A reviewed image is ground truth: only reviewers and owners change its annotations (an
    annotator who must fix one asks a reviewer to move it back to in_progress). Reads the status
    under the row lock, so a save cannot slip past a review that commits first (`status`: the
    caller read it so; the document saves check again with the status their version bump found)."""
    if status is None:
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
    # Area and bbox of a mask the request sent and the codec checked; None: the stored mask's
    geometry: dict[str, int] | None = None


def _stored_item(*, image: Image, row: _Stored, label_class: LabelClass) -> _Item:
    """An annotation as it is stored, in the shape of a sent one (what a delta leaves alone)."""
    rle = {"size": [image.height, image.width], "counts": row.rle_counts}
    return _Item(row.id, label_class, rle, row.z_order, row.is_proposal, row.iscrowd)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_item(
    *, image: Image, item: Any, where: str, index: int, classes: dict[int, LabelClass], row: _Stored | None,
    partial: bool, default_z: int,
) -> _Item:
    """One sent annotation -> _Item. `row` is the stored annotation it names (None: a new one).
    `partial` (delta saves): fields left out of an existing annotation keep their stored values."""
    if not isinstance(item, dict):
        raise ValidationFailed(f"{where}: must be an object", index=index)
    keep = partial and row is not None
    if keep and "label_class" not in item:
        label_class = classes[row.label_class_id]
    else:
        class_id = item.get("label_class")
        if class_id is not None and not _is_int(class_id):
            raise ValidationFailed(f"{where}: label_class must be an integer (a class id), got {class_id!r}", index=index)
        if class_id not in classes:
            raise ValidationFailed(f"{where}: label class {class_id!r} is not a class of project {image.project.name!r}", index=index)
        label_class = classes[class_id]
    mask = item.get("mask")
    stored = {"size": [image.height, image.width], "counts": row.rle_counts} if row is not None else None
    if keep and "mask" not in item:
        rle = stored
    elif stored is not None and isinstance(mask, dict) and mask.get("counts") == stored["counts"] and mask.get("size") == stored["size"]:
        rle = stored  # sent back as stored: the codec checked it when it was stored
    else:
        if partial and "mask" not in item:
            raise ValidationFailed(f"{where}: a new annotation needs a mask (and a label_class)", index=index)
        rle = _sent_mask(image=image, mask=mask, where=where, index=index)
    z_order = item.get("z_order", row.z_order if keep else default_z)
    if not _is_int(z_order):
        raise ValidationFailed(f"{where}: z_order must be an integer", index=index)
    if not INT_MIN <= z_order <= INT_MAX:
        raise ValidationFailed(f"{where}: z_order must be between {INT_MIN} and {INT_MAX}, got {z_order}", index=index)
    is_proposal = item.get("is_proposal", row.is_proposal if keep else False)
    if not isinstance(is_proposal, bool):
        raise ValidationFailed(f"{where}: is_proposal must be true or false", index=index)
    iscrowd = item.get("iscrowd")
    if iscrowd is not None and not isinstance(iscrowd, bool):
        raise ValidationFailed(f"{where}: iscrowd must be true or false", index=index)
    return _Item(row.id if row is not None else None, label_class, rle, z_order, is_proposal, iscrowd,
                 geometry=None if rle is stored else {})


def _sent_mask(*, image: Image, mask: Any, where: str, index: int) -> dict:
    """A sent mask's form and size (its counts are checked with the others, in _checked_geometry)."""
    if not isinstance(mask, dict) or "size" not in mask or "counts" not in mask:
        raise ValidationFailed(f"{where}: a mask must be an object with 'size' and 'counts'", index=index)
    problem = masks.size_problem(mask["size"], height=image.height, width=image.width)
    if problem:
        raise ValidationFailed(f"{where}: {problem}", index=index)
    counts = mask["counts"]
    if isinstance(counts, list):  # uncompressed RLE in: store compressed
        try:
            return masks.encode(masks.decode(mask))
        except masks.MaskError as exc:
            raise ValidationFailed(f"{where}: {exc}", index=index) from exc
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError:
            raise ValidationFailed(f"{where}: compressed RLE counts must be ASCII", index=index) from None
    if not isinstance(counts, str):
        raise ValidationFailed(f"{where}: mask counts must be a string (compressed RLE) or a list of integers", index=index)
    if not counts.isascii():
        raise ValidationFailed(f"{where}: compressed RLE counts must be ASCII", index=index)
    return {"size": [image.height, image.width], "counts": counts}


def _checked_geometry(*, image: Image, items: Sequence[_Item], wheres: Sequence[str]) -> list[_Item]:
    """Check the counts of every mask the request sent, at once (the codec's vectorised check, as
    imports use it), and give each its area and bbox; masks sent back as stored are not checked again."""
    sent = [i for i, item in enumerate(items) if item.geometry is not None]
    if not sent:
        return list(items)
    problems, areas, boxes = masks.counts_stats(
        [items[i].rle["counts"].encode("ascii") for i in sent], [image.height] * len(sent), [image.width] * len(sent),
    )
    out = list(items)
    for i, problem, area, (x, y, w, h) in zip(sent, problems, areas, boxes):
        if problem:
            raise ValidationFailed(f"{wheres[i]}: {problem.replace('{size}', f'{image.height}x{image.width}')}", index=i)
        out[i] = replace(items[i], geometry={"bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h, "area": area})
    return out


def _named_row(*, image: Image, existing: dict[int, _Stored], ann_id: Any, where: str, index: int, seen: set[int]) -> _Stored:
    """The stored annotation a request names by id; refused when it is not (or no longer) on this image."""
    if not isinstance(ann_id, int) or isinstance(ann_id, bool):
        raise ValidationFailed(f"{where}: an annotation id must be an integer, got {ann_id!r}", index=index)
    row = existing.get(ann_id)
    if row is None:
        raise ValidationFailed(
            f"{where}: annotation id {ann_id!r} does not belong to image {image.pk} (it was deleted, or it is another image's)",
            index=index,
        )
    if ann_id in seen:
        raise ValidationFailed(f"{where}: annotation id {ann_id} appears twice", index=index)
    seen.add(ann_id)
    return row


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
# A delta revision's chain is replayed on reading it: a keyframe at least every this many
# versions bounds the replay (a keyframe of 1,000 masks is 0.7 MB, a one-mask delta 1 kB).
REVISION_KEYFRAME_EVERY = 32


@dataclass(frozen=True)
class RevisionDelta:
    """What one save changed in a document, for its revision: the rows it wrote (`upsert`, as
    revision rows) and the ids it deleted, relative to the document as the save read it (the
    document at the version before, read under the version check); `count`, the document's size
    after; `document()`, the whole document, for when a keyframe is due."""

    upsert: list[dict[str, Any]]
    delete: list[int]
    count: int
    document: Callable[[], list[dict[str, Any]]]


def documents_commit(
    *, image_ids: Sequence[int], author: AbstractBaseUser | None, expected_version: int | None = None,
    starts_work: bool = True, documents: dict[int, list[dict[str, Any]]] | None = None, ground_truth: bool = False,
    delta: RevisionDelta | None = None, image: Image | None = None,
) -> dict[int, int]:
    """The last step of every write to annotation documents, inside the writer's transaction.

    Bumps each image's document version (with `expected_version`, for one image, a save against
    a stale version raises StaleVersion, and the writer's transaction rolls back whatever it
    wrote), moves NEW images to IN_PROGRESS when a person's work `starts_work` (model proposals
    do not), and records a revision of each document as it now stands. Returns {image id: version}.
    `documents`: the documents as they now stand (revision rows), where the writer already holds
    them, so they are not read back. `delta` (one image, with `expected_version`): what the save
    changed; the revision is then a delta on the one before when that one is on record, its chain
    is shorter than REVISION_KEYFRAME_EVERY and the delta is at most half the document, else a
    keyframe. With `ground_truth`, the same for the images' ground-truth documents (their own
    version, no status change). `image`: the instance of the one image, where the writer holds
    it: its version, status and void region are set from the row as the bump wrote it. (The
    document saves take its two steps themselves: _documents_bump first in their transaction,
    _revisions_record last.)
    """
    starts_work = starts_work and not ground_truth
    if expected_version is not None and len(image_ids) != 1:
        raise ValueError("expected_version checks one document at a time")
    if delta is not None and expected_version is None:
        raise ValueError("a delta revision is relative to the version the save read: give expected_version")
    versions: dict[int, int] = {}
    for start in range(0, len(image_ids), _COMMIT_CHUNK):
        bump = _documents_bump(list(image_ids[start:start + _COMMIT_CHUNK]), expected_version=expected_version,
                               starts_work=starts_work, ground_truth=ground_truth, delta=delta is not None, image=image)
        _revisions_record(bump, author=author, delta=delta, documents=documents)
        versions.update(bump.versions)
    return versions


@dataclass
class _Bump:
    """What documents_commit's first step wrote and handed back, for its second (the revisions)."""

    image_ids: list[int]
    ground_truth: bool
    versions: dict[int, int]  # the document versions now
    voids: dict[int, str | None]  # the void regions the revisions record
    previous_keyframe: int | None  # of the one image's revision at the version before (delta saves)


def _documents_bump(
    image_ids: list[int], *, expected_version: int | None, starts_work: bool, ground_truth: bool, delta: bool,
    image: Image | None,
) -> _Bump:
    """documents_commit's first step: bump the versions (refusing a stale `expected_version`), so
    that a save that calls it first in its transaction holds the image's row lock (PostgreSQL)
    before it writes anything, and a stale one is refused before it writes anything."""
    version_field = "ground_truth_version" if ground_truth else "annotation_version"
    bumped = _versions_bump(image_ids, version_field=version_field, expected_version=expected_version, starts_work=starts_work,
                            previous_keyframe_of=ground_truth if delta else None)
    if not bumped and expected_version is not None:
        current = Image.objects.filter(pk=image_ids[0]).values_list(version_field, flat=True).first()
        raise StaleVersion(
            f"image {image_ids[0]} was saved by someone else (you read version {expected_version}, it is now {current})",
            current_version=current,
        )
    bump = _Bump(image_ids=image_ids, ground_truth=ground_truth, versions={}, voids={}, previous_keyframe=None)
    for pk, version_now, void_counts, status, previous_keyframe in bumped:
        bump.versions[pk], bump.voids[pk], bump.previous_keyframe = version_now, void_counts, previous_keyframe
        if image is not None and pk == image.pk:
            setattr(image, version_field, version_now)
            image.status, image.void_rle_counts = status, void_counts
    if ground_truth:
        bump.voids = dict.fromkeys(image_ids)  # a ground-truth document has no void region of its own
    return bump


def _revisions_record(
    bump: _Bump, *, author: AbstractBaseUser | None, delta: RevisionDelta | None, documents: dict[int, list[dict[str, Any]]] | None,
) -> None:
    """documents_commit's second step: one revision per bumped document, as it now stands."""
    chunk, versions, voids, ground_truth = bump.image_ids, bump.versions, bump.voids, bump.ground_truth
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    author_id = author.pk if author is not None else None
    keyframe = _delta_keyframe(version=versions[chunk[0]], delta=delta, previous_keyframe=bump.previous_keyframe)
    if keyframe is not None:
        assert delta is not None
        changes = {"upsert": delta.upsert, "delete": delta.delete}
        values = [(chunk[0], versions[chunk[0]], author_id, None, connection.ops.adapt_json_value(changes, _RevisionJSON),
                   keyframe, delta.count, voids[chunk[0]], ground_truth, now)]
    else:
        if delta is not None:
            rows = {chunk[0]: delta.document()}
        elif documents is not None and all(pk in documents for pk in chunk):
            rows = {pk: documents[pk] for pk in chunk}
        else:
            rows = _documents_read(chunk, ground_truth=ground_truth)
        values = [(pk, versions[pk], author_id, connection.ops.adapt_json_value(rows[pk], _RevisionJSON), None,
                   versions[pk], len(rows[pk]), voids[pk], ground_truth, now) for pk in chunk]
    # one executemany: bulk_create prepared every field of every row through Django, which
    # was a fifth of a 10,000-image import
    with connection.cursor() as cursor:
        cursor.executemany(_revision_insert_sql(), values)


def _versions_bump(
    image_ids: list[int], *, version_field: str, expected_version: int | None, starts_work: bool,
    previous_keyframe_of: bool | None = None,
) -> list[tuple]:
    """Bump the document version of `image_ids` (only where it is `expected_version`, if given),
    moving NEW images to IN_PROGRESS when the write `starts_work`, in one statement that hands back
    (id, version, void_rle_counts, status, previous keyframe) of each row it changed (RETURNING:
    PostgreSQL, and SQLite since 3.35), so nothing is read back. The previous keyframe (with
    `previous_keyframe_of`, the ground_truth flag of the document; else None) is the
    keyframe_version of the revision recorded at the version before, None if there is none."""
    quote = connection.ops.quote_name
    version, status = quote(version_field), quote("status")
    sets = [f"{version} = {version} + 1"]
    params: list[Any] = []
    if starts_work:
        sets.append(f"{status} = CASE WHEN {status} = %s THEN %s ELSE {status} END")
        params += [Image.Status.NEW.value, Image.Status.IN_PROGRESS.value]
    where = f"{quote('id')} IN ({', '.join(['%s'] * len(image_ids))})"
    params += image_ids
    if expected_version is not None:
        where += f" AND {version} = %s"
        params.append(expected_version)
    previous = "NULL"
    if previous_keyframe_of is not None:
        revisions, image = quote(DocumentRevision._meta.db_table), quote(Image._meta.db_table)
        previous = (f"(SELECT r.{quote('keyframe_version')} FROM {revisions} r WHERE r.{quote('image_id')} = {image}.{quote('id')} "
                    f"AND r.{quote('ground_truth')} = %s AND r.{quote('version')} = {image}.{version} - 1)")
    sql = (f"UPDATE {quote(Image._meta.db_table)} SET {', '.join(sets)} WHERE {where} "
           f"RETURNING {quote('id')}, {version}, {quote('void_rle_counts')}, {status}, {previous}")
    if previous_keyframe_of is not None:
        params.append(previous_keyframe_of)  # RETURNING's placeholder comes last in the text
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _delta_keyframe(*, version: int, delta: RevisionDelta | None, previous_keyframe: int | None) -> int | None:
    """The keyframe version a delta revision at `version` would build on, or None when this
    revision must be a keyframe: no delta, no revision on record one version before (a document
    saved before revisions were kept, or an import's), a chain already REVISION_KEYFRAME_EVERY
    long, or a delta larger than half the document (the keyframe is then hardly bigger).
    `previous_keyframe`: the keyframe_version of the revision at `version - 1` (_versions_bump)."""
    if delta is None or len(delta.upsert) + len(delta.delete) > max(8, delta.count // 2):
        return None
    keyframe = previous_keyframe
    if keyframe is None or version - keyframe >= REVISION_KEYFRAME_EVERY:
        return None
    return keyframe


class _RevisionJSON(json.JSONEncoder):
    """orjson behind the standard encoder interface (connection.ops.adapt_json_value takes an
    encoder class on every backend): a revision is a list of plain dicts of ints, strings, floats,
    booleans and None, which orjson writes as json.dumps does, about six times faster (a third of
    committing an import's documents). A non-finite score (never stored by our writers) would be
    written as null rather than NaN."""

    def encode(self, o: Any) -> str:
        return orjson.dumps(o).decode()


def _documents_read(image_ids: list[int], *, ground_truth: bool) -> dict[int, list[dict[str, Any]]]:
    """The documents of `image_ids` as revision rows, read with one plain query: an import commits
    thousands of documents at once, and the ORM's per-row work (iterables, converters) was most of
    reading them back. Booleans come from SQLite as 0/1 and are made booleans here."""
    rows: dict[int, list[dict[str, Any]]] = {pk: [] for pk in image_ids}
    if not image_ids:
        return rows
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote('image_id')}, {', '.join(quote(c) for c in _REVISION_COLUMNS)} FROM {quote(Annotation._meta.db_table)} "
        f"WHERE {quote('image_id')} IN ({', '.join(['%s'] * len(image_ids))}) AND {quote('ground_truth')} = %s "
        f"ORDER BY {quote('image_id')}, {quote('z_order')}, {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*image_ids, ground_truth])
        for image_id, pk, label_class, counts, z_order, source, model_version, score, is_proposal, author, iscrowd in cursor:
            rows[image_id].append({
                "id": pk, "label_class": label_class, "counts": counts, "z_order": z_order, "source": source,
                "model_version": model_version, "score": score, "is_proposal": bool(is_proposal), "author": author,
                "iscrowd": bool(iscrowd),
            })
    return rows


def _revision_insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ("image_id", "version", "author_id", "annotations", "changes", "keyframe_version", "annotation_count",
               "void_rle_counts", "ground_truth", "created_at")
    return (
        f"INSERT INTO {quote(DocumentRevision._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )


@dataclass(frozen=True)
class DocumentSaved:
    image: Image
    version: int
    saved_ids: list[int]  # the id of each sent annotation, in the order they were sent
    deleted_ids: list[int]
    # The document as the save left it (selectors.DOCUMENT_ROW_FIELDS rows), for its answer; None: read it
    rows: list[tuple] | None = None


def _version_check(*, image: Image, version: Any, ground_truth: bool = False, current: Any = _UNSET) -> None:
    """Refuse a save against a version that is no longer the current one, before anything is
    parsed: a stale save is refused whole (409), even where it names annotations that the newer
    version deleted. (documents_commit checks again as it bumps the version.) `current`: the
    version, where the caller read it already."""
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationFailed("the document's version must be an integer (the version you read)")
    if current is _UNSET:
        version_field = "ground_truth_version" if ground_truth else "annotation_version"
        current = Image.objects.filter(pk=image.pk).values_list(version_field, flat=True).first()
    if current != version:
        raise StaleVersion(
            f"image {image.pk} was saved by someone else (you read version {version}, it is now {current})",
            current_version=current,
        )


def _document_write(
    *, image: Image, user: AbstractBaseUser, version: int, classes: dict[int, LabelClass],
    existing: dict[int, _Stored], items: Sequence[_Item], wheres: Sequence[str], deleted: set[int], void: Any,
    ground_truth: bool = False,
) -> DocumentSaved:
    """The one write path of both document saves (the full replace and the delta): `items` are the
    sent annotations (new ones without id, changed ones in full), `deleted` the ids that go; every
    other stored annotation stays as it is. Checks the one-mask-per-semantic-class rule on the
    document as it will stand; then, in one transaction, bumps the version (refusing a stale one:
    documents_commit's first step), records the correction effort, writes the rows and records
    the revision (its second step).
    With `ground_truth`, all of it for the image's ground-truth document (no correction effort: it
    is nobody's correction of a model)."""
    items = _checked_geometry(image=image, items=items, wheres=wheres)
    sent_ids = {item.id for item in items if item.id is not None}
    untouched = [row for pk, row in existing.items() if pk not in sent_ids and pk not in deleted]
    semantic_seen = {row.label_class_id for row in untouched if classes[row.label_class_id].kind == LabelClass.Kind.SEMANTIC}
    for index, (item, where) in enumerate(zip(items, wheres)):
        if item.label_class.kind != LabelClass.Kind.SEMANTIC:
            continue
        if item.label_class.id in semantic_seen:
            raise ValidationFailed(f"{where}: semantic class {item.label_class.name!r} may have one mask per image; merge them", index=index)
        semantic_seen.add(item.label_class.id)
    void_counts = _UNSET if void is _UNSET else _void_counts(image=image, void=void)
    new_rows: list[Annotation] = []
    saved_rows: list[Annotation | int] = []  # in request order, so the client learns the new rows' ids
    updates: dict[int, dict[str, Any]] = {}
    for item in items:
        geometry = item.geometry or {}  # empty: the mask is the stored one, and so is its geometry
        if item.id is None:
            new_rows.append(Annotation(
                image=image, label_class=item.label_class, rle_counts=item.rle["counts"], z_order=item.z_order,
                source=Annotation.Source.HUMAN, author=user, is_proposal=False, iscrowd=bool(item.iscrowd),
                ground_truth=ground_truth, **geometry,
            ))
            saved_rows.append(new_rows[-1])
            continue
        row = existing[item.id]
        saved_rows.append(item.id)
        changed = row.rle_counts != item.rle["counts"] or row.label_class_id != item.label_class.id
        iscrowd = row.iscrowd if item.iscrowd is None else item.iscrowd
        if not changed and row.z_order == item.z_order and row.is_proposal == item.is_proposal and row.iscrowd == iscrowd:
            continue
        fields: dict[str, Any] = {"iscrowd": iscrowd, "label_class_id": item.label_class.id, "rle_counts": item.rle["counts"],
                                  "z_order": item.z_order, **geometry}
        if row.is_proposal and (changed or not item.is_proposal):
            fields.update(is_proposal=False, author_id=user.pk)  # accepted or edited by a person
        elif changed:
            fields["author_id"] = user.pk
        updates[item.id] = fields
    # Everything above read and checked outside any transaction. The transaction's first statement
    # is the version bump: it takes the image's row lock (PostgreSQL; SQLite's write lock comes with
    # BEGIN) and refuses a stale version before anything is written, so the lock is held only while
    # the save writes (on SQLite every other writer waits for it).
    with transaction.atomic():
        bump = _documents_bump([image.pk], expected_version=version, starts_work=not ground_truth, ground_truth=ground_truth,
                               delta=True, image=image)
        if not ground_truth:
            # the status as the bump found it, under the lock: a review that committed first wins
            reviewed_document_check(image=image, user=user, status=image.status)
            # How much of each model version's proposals the person changed. It is shown the
            # untouched proposals as sent back unchanged (still pending), so a delta counts as the
            # full save would; untouched rows that are not proposals play no part in it.
            pending = [_stored_item(image=image, row=row, label_class=classes[row.label_class_id]) for row in untouched if row.is_proposal]
            corrections_record(image=image, user=user, document_version=version + 1, existing=existing, items=[*pending, *items])
        # One UPDATE per changed row, of the fields that change (a document of 1,000 rows is read
        # as tuples, and no model instance is made to write one of them).
        document = Annotation.with_ground_truth.filter(image=image, ground_truth=ground_truth)
        now = timezone.now()
        for pk, fields in updates.items():
            document.filter(pk=pk).update(**fields, updated_at=now)
        if deleted:
            document.filter(pk__in=list(deleted)).delete()
        Annotation.objects.bulk_create(new_rows)
        if void_counts is not _UNSET:
            Image.objects.filter(pk=image.pk).update(void_rle_counts=void_counts)
            bump.voids[image.pk] = image.void_rle_counts = void_counts
        _revisions_record(bump, author=user, documents=None,
                          delta=_revision_delta(existing=existing, updates=updates, deleted=deleted, new_rows=new_rows))
    version_now = bump.versions[image.pk]
    rows = _answer_rows(existing=existing, updates=updates, deleted=deleted, new_rows=new_rows, user=user, updated_at=now)
    return DocumentSaved(image=image, version=version_now, deleted_ids=sorted(deleted), rows=rows,
                         saved_ids=[row if isinstance(row, int) else row.pk for row in saved_rows])


@dataclass(frozen=True, slots=True)
class _Stored:
    """A stored annotation as a save reads it: the fields the save and corrections_record read of
    an Annotation, without making 1,000 model instances for a document of 1,000 rows; `answer`,
    the row as read (selectors.DOCUMENT_ROW_FIELDS), from which the save's answer is made."""

    id: int
    label_class_id: int
    rle_counts: str
    z_order: int
    source: str
    model_version_id: int | None
    score: float | None
    is_proposal: bool
    author_id: int | None
    iscrowd: bool
    area: int
    answer: tuple = ()

    def revision_row(self) -> dict[str, Any]:
        return dict(zip(_REVISION_FIELDS, (self.id, self.label_class_id, self.rle_counts, self.z_order, self.source,
                                           self.model_version_id, self.score, self.is_proposal, self.author_id, self.iscrowd)))


def _revision_delta(
    *, existing: dict[int, _Stored], updates: dict[int, dict[str, Any]], deleted: set[int], new_rows: Sequence[Annotation],
) -> RevisionDelta | None:
    """What the save changed, as revision rows, from what it read and wrote; the whole document
    is built only if documents_commit needs a keyframe. None when the database did not hand back
    the new rows' ids (documents_commit then reads the document back)."""
    if any(row.pk is None for row in new_rows):
        return None
    stored_fields = {f.name for f in dataclasses.fields(_Stored)}
    changed = {pk: replace(existing[pk], **{k: v for k, v in fields.items() if k in stored_fields}).revision_row()
               for pk, fields in updates.items()}
    added = [dict(zip(_REVISION_FIELDS, (getattr(row, c) if c != "id" else row.pk for c in _REVISION_COLUMNS))) for row in new_rows]

    def document() -> list[dict[str, Any]]:
        rows = [changed[pk] if pk in changed else row.revision_row() for pk, row in existing.items() if pk not in deleted]
        return sorted([*rows, *added], key=lambda r: (r["z_order"], r["id"]))

    return RevisionDelta(upsert=[*changed.values(), *added], delete=sorted(deleted),
                         count=len(existing) - len(deleted) + len(added), document=document)


_STORED_AT = tuple(selectors.DOCUMENT_ROW_FIELDS.index(f) for f in (
    "id", "label_class_id", "rle_counts", "z_order", "source", "model_version_id", "score", "is_proposal", "author_id",
    "iscrowd", "area"))


def _document_rows(image: Image, *, ground_truth: bool = False) -> tuple[dict[int, LabelClass], dict[int, _Stored]]:
    """The project's classes and the rows of one of the image's documents: the annotators' work, or its ground truth."""
    classes = selectors.label_classes_by_id(project_id=image.project_id)
    i_id, i_class, i_counts, i_z, i_source, i_version, i_score, i_proposal, i_author, i_crowd, i_area = _STORED_AT
    stored = {}
    for row in selectors.document_rows(image=image, ground_truth=ground_truth):
        stored[row[i_id]] = _Stored(
            row[i_id], row[i_class], row[i_counts], row[i_z], row[i_source], row[i_version], row[i_score], bool(row[i_proposal]),
            row[i_author], bool(row[i_crowd]), row[i_area], row,
        )
    return classes, stored


def _answer_rows(
    *, existing: dict[int, _Stored], updates: dict[int, dict[str, Any]], deleted: set[int], new_rows: Sequence[Annotation],
    user: AbstractBaseUser, updated_at: Any,
) -> list[tuple] | None:
    """The document as the save left it, as selectors.DOCUMENT_ROW_FIELDS rows in the document's
    order, made from what it read and wrote (not read back); None when the database did not hand
    back the new rows' ids."""
    if any(row.pk is None for row in new_rows):
        return None
    fields = selectors.DOCUMENT_ROW_FIELDS
    name = user.get_username()
    out = []
    for pk, row in existing.items():
        if pk in deleted:
            continue
        if pk in updates:
            values = dict(zip(fields, row.answer))
            values.update({k: v for k, v in updates[pk].items() if k in values}, updated_at=updated_at)
            if "author_id" in updates[pk]:
                values["author__username"] = name
            out.append(tuple(values[f] for f in fields))
        else:
            out.append(row.answer)
    for new in new_rows:
        out.append((new.pk, new.label_class_id, new.rle_counts, new.bbox_x, new.bbox_y, new.bbox_w, new.bbox_h, new.area, new.z_order,
                    new.source, None, None, None, False, new.iscrowd, name, new.created_at, new.updated_at, user.pk))
    out.sort(key=lambda r: (r[8], r[0]))  # z_order, id: selectors.annotation_list's order
    return out


def _document_open(
    *, image: Image, user: AbstractBaseUser, version: Any, void: Any, ground_truth: bool,
) -> tuple[dict[int, LabelClass], dict[int, _Stored], Any]:
    """Before a save parses anything: may `user` write this document, is `version` current; then
    the classes and stored rows it is checked against, and the void region it may set (a
    ground-truth document has none of its own)."""
    if ground_truth:
        from .quality import ground_truth_document_check

        ground_truth_document_check(image=image, user=user, void=None if void is _UNSET else void)
        void = _UNSET
        _version_check(image=image, version=version, ground_truth=True)
    else:
        # The status and version on `image`, as its caller read it (the API's image_get, just
        # before; an earlier save of this instance keeps them current): a stale save is refused
        # before anything is parsed. The bump checks both again under the lock.
        reviewed_document_check(image=image, user=user, status=image.status)
        _version_check(image=image, version=version, current=image.annotation_version)
    classes, existing = _document_rows(image, ground_truth=ground_truth)
    return classes, existing, void


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
    if not isinstance(annotations, (list, tuple)):
        raise ValidationFailed("annotations must be a list")
    classes, existing, void = _document_open(image=image, user=user, version=version, void=void, ground_truth=ground_truth)
    items: list[_Item] = []
    seen: set[int] = set()
    for index, item in enumerate(annotations):
        where = f"annotation {index}"
        row = None
        if isinstance(item, dict) and item.get("id") is not None:
            row = _named_row(image=image, existing=existing, ann_id=item["id"], where=where, index=index, seen=seen)
        items.append(_parse_item(image=image, item=item, where=where, index=index, classes=classes, row=row,
                                 partial=False, default_z=index))
    return _document_write(
        image=image, user=user, version=version, classes=classes, existing=existing, items=items,
        wheres=[f"annotation {i}" for i in range(len(items))], deleted=set(existing) - seen, void=void,
        ground_truth=ground_truth,
    )


def annotation_document_patch(
    *, image: Image, user: AbstractBaseUser, version: int, upsert: Sequence[dict[str, Any]] = (),
    delete: Sequence[int] = (), void: Any = _UNSET, ground_truth: bool = False,
) -> DocumentSaved:
    """Apply a delta to an image's annotations, if `version` is still the current one: what the
    editor sends after an edit, instead of the whole document.

    `upsert`: new annotations (no id: label_class and mask) and changes to existing ones (by id:
    only the fields sent change — mask, label_class, z_order, is_proposal, iscrowd — with the same
    rules as annotation_document_save). `delete`: ids that go. Every other annotation stays as it
    is. An id that is not (or no longer) on this image is refused, as is an id named twice; a stale
    version raises StaleVersion. Either way nothing changes. Version bump, revision and correction
    effort are those of the full save (the same write path); `ground_truth` as there.
    """
    if not isinstance(upsert, (list, tuple)) or not isinstance(delete, (list, tuple)):
        raise ValidationFailed("upsert and delete must be lists")
    classes, existing, void = _document_open(image=image, user=user, version=version, void=void, ground_truth=ground_truth)
    seen: set[int] = set()
    deleted: set[int] = set()
    for index, ann_id in enumerate(delete):
        deleted.add(_named_row(image=image, existing=existing, ann_id=ann_id, where=f"delete {index}", index=index, seen=seen).id)
    top = max((row.z_order for row in existing.values()), default=-1) + 1
    items: list[_Item] = []
    wheres: list[str] = []
    for index, item in enumerate(upsert):
        where = f"upsert {index}"
        row = None
        if isinstance(item, dict) and item.get("id") is not None:
            if item["id"] in deleted:
                raise ValidationFailed(f"{where}: annotation id {item['id']} is also in delete; send one or the other", index=index)
            row = _named_row(image=image, existing=existing, ann_id=item["id"], where=where, index=index, seen=seen)
        items.append(_parse_item(image=image, item=item, where=where, index=index, classes=classes, row=row,
                                 partial=True, default_z=top + index))
        wheres.append(where)
    return _document_write(image=image, user=user, version=version, classes=classes, existing=existing,
                           items=items, wheres=wheres, deleted=deleted, void=void, ground_truth=ground_truth)


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
