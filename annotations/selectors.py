"""Reads: every query a view or task needs, scoped to the projects a user belongs to."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.db.models.fields.files import FieldFile
from django.db.models.sql.constants import MULTI

from .errors import NotFound, PermissionDenied
from .models import Annotation, Image, Job, LabelClass, Membership, ModelVersion, Project
from .prepared import PreparedQuery


def project_list(*, user: AbstractBaseUser, archived: bool | None = None) -> QuerySet[Project]:
    """The user's projects; `archived` False/True lists only the active/archived ones (None: all)."""
    projects = Project.objects.filter(memberships__user=user).distinct()
    if archived is not None:
        projects = projects.filter(archived=archived)
    return projects


def project_progress(*, projects: list[Project]) -> dict[int, dict]:
    """project id -> {"total", "done", "reviewed", "assignees": [(username, open, total)]}: the
    project list's bars and who works on what, in two grouped queries for all the projects."""
    ids = [p.pk for p in projects]
    progress = {pk: {"total": 0, "done": 0, "reviewed": 0, "in_progress": 0, "assignees": []} for pk in ids}
    for pk, status, n in Image.objects.filter(project_id__in=ids).values_list("project_id", "status").annotate(n=Count("id")).order_by():
        progress[pk]["total"] += n
        if status in progress[pk]:
            progress[pk][status] += n
    rows = (Image.objects.filter(project_id__in=ids, assignee__isnull=False)
            .values_list("project_id", "assignee__username")
            .annotate(total=Count("id"), open=Count("id", filter=Q(status__in=Image.OPEN)))
            .order_by("project_id", "assignee__username"))
    for pk, username, total, open_ in rows:
        progress[pk]["assignees"].append({"username": username, "total": total, "open": open_})
    for p in progress.values():
        p["done_pct"] = round(100 * p["done"] / p["total"]) if p["total"] else 0
        p["reviewed_pct"] = round(100 * p["reviewed"] / p["total"]) if p["total"] else 0
    return progress


def project_get(*, user: AbstractBaseUser, project_id: int) -> Project:
    project = project_list(user=user).filter(pk=project_id).first()
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


def membership_role(*, user: AbstractBaseUser, project: Project) -> str | None:
    membership = Membership.objects.filter(user=user, project=project).first()
    return membership.role if membership else None


def label_class_list(*, project: Project) -> QuerySet[LabelClass]:
    return project.label_classes.all()


def image_visibility(*, user: AbstractBaseUser, project: Project, role: str | None = None) -> Q | None:
    """Which of a project's images `user` sees and edits, as a filter (None: all of them).

    The one home of the rule: owners and reviewers see every image; an annotator sees the images
    assigned to them, and the unassigned ones when the project allows (annotators_see_unassigned).
    Raises NotFound for someone who is not a member. image_visible is the same rule for one image
    already loaded."""
    role = role or membership_role(user=user, project=project)
    if role is None:
        raise NotFound(f"project {project.pk} not found")
    if role != Membership.Role.ANNOTATOR:
        return None
    mine = Q(assignee_id=user.pk)
    return mine | Q(assignee__isnull=True) if project.annotators_see_unassigned else mine


def image_visible(*, user: AbstractBaseUser, image: Image, role: str) -> bool:
    """image_visibility's rule for one image in hand (its assignee and its project's setting), with
    no query: the document GET and saves ask it of every request. tests/api/test_team_workflow.py
    checks that the two agree."""
    if role != Membership.Role.ANNOTATOR:
        return True
    return image.assignee_id == user.pk or (image.assignee_id is None and image.project.annotators_see_unassigned)


@dataclass(frozen=True)
class ImageFilters:
    """The images grid's and the images API's filters; empty values filter nothing."""

    status: str | None = None  # comma-separated statuses
    assignee: str | None = None  # a user name, or "none" for unassigned images
    split: str | None = None  # "none" for images without a split
    name: str | None = None  # part of the file name, any case


def image_list(
    *, user: AbstractBaseUser, project_id: int, status: str | None = None, order: str = "id",
    filters: ImageFilters | None = None,
) -> QuerySet[Image]:
    """A project's images the user may see (image_visibility), filtered and ordered.

    One query finds the membership and its project; the images are then filtered on the image
    table only, never through the membership join, so the grid's COUNT and page stay on the
    image indexes (bench/grid.py). Most uncertain first breaks ties newest first: the order the
    (project, uncertainty, id) index gives without a sort."""
    membership = Membership.objects.select_related("project").filter(user=user, project_id=project_id).first()
    if membership is None:
        raise NotFound(f"project {project_id} not found")
    images = Image.objects.filter(project_id=project_id)
    visible = image_visibility(user=user, project=membership.project, role=membership.role)
    if visible is not None:
        images = images.filter(visible)
    filters = filters or ImageFilters(status=status)
    if filters.status:
        images = images.filter(status__in=filters.status.split(","))
    if filters.assignee:
        images = images.filter(assignee__isnull=True) if filters.assignee == "none" else images.filter(assignee__username=filters.assignee)
    if filters.split:
        images = images.filter(split="" if filters.split == "none" else filters.split)
    if filters.name:
        images = images.filter(file_name__icontains=filters.name)
    if order == "uncertainty":
        images = images.order_by(F("uncertainty").desc(nulls_last=True), "-id")
    return images


# The user's role comes with the image (the membership row the filter joined), not in a query of
# its own; compiled once per connection (every editor request opens its image: prepared.py).
_IMAGE_OF_MEMBER = PreparedQuery(
    lambda user_id, image_id: Image.objects.filter(project__memberships__user_id=user_id, pk=image_id)
    .select_related("project", "assignee").annotate(viewer_role=F("project__memberships__role")).order_by("pk")[:1],
    -7_340_001, -7_340_002,
)


_CLASSES_OF_PROJECT = PreparedQuery(lambda project_id: LabelClass.objects.filter(project_id=project_id), -7_340_004)


def label_classes_by_id(*, project_id: int) -> dict[int, LabelClass]:
    """The project's classes by id, in their order (every save checks its annotations against them)."""
    return {c.id: c for c in _CLASSES_OF_PROJECT.instances(int(project_id))}


def image_get(*, user: AbstractBaseUser, image_id: int) -> Image:
    """An image of one of the user's projects, carrying the user's role there (`viewer_role`); an
    annotator gets PermissionDenied, naming the assignee, for an image they may not see (image_visibility)."""
    found = _IMAGE_OF_MEMBER.instances(user.pk, int(image_id)) if user.pk is not None else []
    image = found[0] if found else None
    if image is None:
        raise NotFound(f"image {image_id} not found")
    if not image_visible(user=user, image=image, role=image.viewer_role):
        who = f"assigned to {image.assignee.get_username()!r}" if image.assignee else "not assigned to anyone"
        raise PermissionDenied(f"image {image_id} ({image.file_name}) is {who}; annotators open only the images assigned to them",
                               assignee=image.assignee.get_username() if image.assignee else None)
    return image


def images_visible_check(*, user: AbstractBaseUser, project: Project, image_ids: list[int]) -> None:
    """PermissionDenied naming the listed images of `project` that `user` may not open."""
    visible = image_visibility(user=user, project=project)
    if visible is None:
        return
    hidden = set(Image.objects.filter(project=project, pk__in=image_ids).exclude(visible).values_list("pk", flat=True))
    if hidden:
        names = ", ".join(map(str, sorted(hidden)[:10]))
        raise PermissionDenied(f"image(s) {names} are assigned to someone else; annotators change only their own", images=sorted(hidden)[:100])


def project_member_names(*, project: Project) -> list[tuple[str, str]]:
    """(username, role) of every member, by name: the grid's assignee choices and the members page."""
    return list(project.memberships.order_by("user__username").values_list("user__username", "role"))


def media_file_get(*, user: AbstractBaseUser, path: str) -> FieldFile | None:
    """An image file or thumbnail under media, if `user` may open an image of theirs that has it (image_visibility)."""
    field = {"images/": "file", "thumbnails/": "thumbnail"}.get(path.split("/", 1)[0] + "/")
    if field is None:
        return None
    # Content-addressed: one file may be an image of several of the user's projects; any they may open will do.
    for image in Image.objects.filter(project__memberships__user=user, **{field: path}).select_related("project")[:20]:
        visible = image_visibility(user=user, project=image.project)
        if visible is None or Image.objects.filter(visible, pk=image.pk).exists():
            return getattr(image, field)
    return None


def image_neighbours(*, image: Image, user: AbstractBaseUser | None = None) -> tuple[int | None, int | None]:
    """The previous and next image by id; with `user`, among those they may open (image_visibility)."""
    siblings = Image.objects.filter(project_id=image.project_id)
    visible = image_visibility(user=user, project=image.project) if user is not None else None
    if visible is not None:
        siblings = siblings.filter(visible)
    prev_id = siblings.filter(pk__lt=image.pk).order_by("-pk").values_list("pk", flat=True).first()
    next_id = siblings.filter(pk__gt=image.pk).order_by("pk").values_list("pk", flat=True).first()
    return prev_id, next_id


# A document's rows as its answer gives them (api/serializers.format_rows writes them out) and as
# the saves read them (services._document_rows), in this order; author_id last, for the saves.
DOCUMENT_ROW_FIELDS = ("id", "label_class_id", "rle_counts", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "area", "z_order", "source",
                       "model_version_id", "model_version__name", "score", "is_proposal", "iscrowd", "author__username",
                       "created_at", "updated_at", "author_id")


def _document_row_columns() -> list:
    """DOCUMENT_ROW_FIELDS as selected: on SQLite the timestamps as their stored text (a CAST has
    no declared type, so the driver does not parse them into datetimes only for the answer to
    write them back as text: 400 parses and isoformats in a 200-mask GET, ~15% of its CPU)."""
    if connections[Annotation.objects.db].vendor != "sqlite":
        return list(DOCUMENT_ROW_FIELDS)
    return [Cast(f, TextField()) if f in ("created_at", "updated_at") else f for f in DOCUMENT_ROW_FIELDS]


# One per document (the annotators' work, the ground truth), compiled once per connection.
_DOCUMENT_ROWS = {
    truth: PreparedQuery(
        lambda image_id, truth=truth: Annotation.with_ground_truth.filter(image_id=image_id, ground_truth=truth)
        .order_by("z_order", "id").values_list(*_document_row_columns()),
        -7_340_003,
    )
    for truth in (False, True)
}


def document_rows(*, image: Image, ground_truth: bool = False) -> list[tuple]:
    """The DOCUMENT_ROW_FIELDS of one of the image's documents in its order (z_order, id), as the
    driver hands them over: what document_row_values gives for annotation_list(image=image), but
    for SQLite's timestamps, which come as their stored text (serializers.format_rows reads both)."""
    return _DOCUMENT_ROWS[bool(ground_truth)].rows(image.pk)


def document_row_values(annotations: QuerySet[Annotation]) -> list[tuple]:
    """The DOCUMENT_ROW_FIELDS of `annotations`, in its order, as the database driver hands them
    over: no Django converters (on SQLite booleans are 0/1 and timestamps Django's text; running
    the converters on every value was most of a 1,000-mask document's read)."""
    query = annotations.values_list(*DOCUMENT_ROW_FIELDS).query
    return [row for chunk in query.get_compiler(using=annotations.db).execute_sql(MULTI) or [] for row in chunk]


def annotation_list(*, image: Image, ground_truth: bool = False) -> QuerySet[Annotation]:
    """The image's annotations: its work, or (`ground_truth`) its ground-truth document."""
    rows = Annotation.with_ground_truth.filter(image=image, ground_truth=ground_truth)
    return rows.select_related("model_version", "author", "image").order_by("z_order", "id")


def job_list(*, user: AbstractBaseUser, project_id: int | None = None) -> QuerySet[Job]:
    jobs = Job.objects.filter(project__memberships__user=user)
    if project_id is not None:
        jobs = jobs.filter(project_id=project_id)
    return jobs.distinct()


def job_get(*, user: AbstractBaseUser, job_id: int) -> Job:
    job = job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def model_version_list(*, project: Project) -> QuerySet[ModelVersion]:
    return project.model_versions.all()


def model_version_get(*, project: Project, version_id: int) -> ModelVersion:
    version = project.model_versions.filter(pk=version_id).first()
    if version is None:
        raise NotFound(f"model version {version_id} is not in project {project.name!r}")
    return version


def image_unlabeled_list(*, project: Project) -> QuerySet[Image]:
    """Images with work left (Image.OPEN) on which no person made or accepted an annotation."""
    confirmed = Annotation.objects.filter(image=OuterRef("pk"), is_proposal=False)
    return project.images.filter(status__in=Image.OPEN).exclude(Exists(confirmed))


def prelabel_image_ids(*, project: Project, which: str | list[int]) -> list[int]:
    """The images a pre-label Job covers: "all", "unlabeled" (see image_unlabeled_list) or the
    listed ids in their order (training.prelabel_images_check has made sure they are the project's)."""
    if isinstance(which, list):
        return list(which)
    images = image_unlabeled_list(project=project) if which == "unlabeled" else project.images.all()
    return list(images.order_by("pk").values_list("pk", flat=True))


def image_void_rle(image: Image) -> dict | None:
    """The image's void ("don't care") region as COCO compressed RLE `{"size": [h, w], "counts": str}`,
    or None when it has none. Training losses and metrics skip these pixels (IGNORE_INDEX)."""
    if not image.void_rle_counts:
        return None
    return {"size": [image.height, image.width], "counts": image.void_rle_counts}


def image_void_rles(*, image_ids: list[int]) -> dict[int, dict]:
    """image id -> void RLE for those of `image_ids` that have a void region (one query)."""
    rows = Image.objects.filter(pk__in=image_ids).exclude(void_rle_counts=None).exclude(void_rle_counts="")
    return {
        pk: {"size": [h, w], "counts": counts}
        for pk, h, w, counts in rows.values_list("pk", "height", "width", "void_rle_counts")
    }
