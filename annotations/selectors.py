"""Reads: every query a view or task needs, scoped to the projects a user belongs to."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.fields.files import FieldFile

from .errors import NotFound
from .models import Annotation, Image, Job, LabelClass, Membership, ModelVersion, Project


def project_list(*, user: AbstractBaseUser) -> QuerySet[Project]:
    return Project.objects.filter(memberships__user=user).distinct()


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


def image_list(*, user: AbstractBaseUser, project_id: int, status: str | None = None, order: str = "id") -> QuerySet[Image]:
    images = Image.objects.filter(project__memberships__user=user, project_id=project_id)
    if status:
        images = images.filter(status__in=status.split(","))
    if order == "uncertainty":
        images = images.order_by("-uncertainty", "id")
    return images


def image_get(*, user: AbstractBaseUser, image_id: int) -> Image:
    image = Image.objects.filter(project__memberships__user=user, pk=image_id).select_related("project").first()
    if image is None:
        raise NotFound(f"image {image_id} not found")
    return image


def media_file_get(*, user: AbstractBaseUser, path: str) -> FieldFile | None:
    """An image file or thumbnail under media, if `user` is a member of a project that holds it."""
    field = {"images/": "file", "thumbnails/": "thumbnail"}.get(path.split("/", 1)[0] + "/")
    if field is None:
        return None
    image = Image.objects.filter(project__memberships__user=user, **{field: path}).first()
    return getattr(image, field) if image is not None else None


def image_neighbours(*, image: Image) -> tuple[int | None, int | None]:
    siblings = Image.objects.filter(project_id=image.project_id)
    prev_id = siblings.filter(pk__lt=image.pk).order_by("-pk").values_list("pk", flat=True).first()
    next_id = siblings.filter(pk__gt=image.pk).order_by("pk").values_list("pk", flat=True).first()
    return prev_id, next_id


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
