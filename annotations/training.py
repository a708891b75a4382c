"""Writes of the model loop: starting train, register, evaluate and pre-label Jobs, and the rules
they obey, each written once.

The API views, the management commands and the workers all call these checks: a view or command
calls a `*_start` service, which validates and queues the Job; the worker calls the same check
again when it runs (the data may have changed while the Job waited in the queue). No torch here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework import serializers

from . import architectures, jobs, media, selectors, train_presets
from .errors import ValidationFailed, first_message
from .models import Image, Job, LabelClass, ModelVersion, Project

MIN_APPROVED_IMAGES = 2
STORED_VAL_SPLIT, STORED_TEST_SPLIT = "val", "test"  # Image.split names a stored split uses
PRELABEL_IMAGE_SETS = ("all", "unlabeled")


def parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validated data of `serializer_class`, or ValidationFailed naming the first bad field."""
    parsed = serializer_class(data=data)
    if not parsed.is_valid():
        raise ValidationFailed(first_message(parsed.errors), fields=parsed.errors)
    return dict(parsed.validated_data)


class TrainParams(serializers.Serializer):
    """What a train Job takes; a budget (epochs, minutes or both) is required."""

    arch = serializers.ChoiceField(choices=ModelVersion.Architecture.values, required=False)
    preset = serializers.ChoiceField(choices=list(train_presets.PRESETS), required=False,
                                     help_text="a small CPU-sized network (annotations/train_presets.py): sets arch and builder_kwargs")
    epochs = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    minutes = serializers.FloatField(min_value=0.01, max_value=7 * 24 * 60, required=False)
    from_version = serializers.IntegerField(required=False, allow_null=True)
    image_size = serializers.IntegerField(min_value=32, max_value=4096, required=False, allow_null=True)
    name = serializers.SlugField(max_length=100, required=False)
    val_fraction = serializers.FloatField(min_value=0.01, max_value=0.9, default=0.2)
    split = serializers.ChoiceField(
        choices=["hash", "stored"], required=False,
        help_text='"hash" (default): val_fraction of the approved images by content hash; "stored": the split each image '
                  'came with (images in "val" validate, "test" ones are left out, the rest train)')
    seed = serializers.IntegerField(min_value=0, max_value=2**32 - 1, default=0)
    batch_size = serializers.IntegerField(min_value=1, max_value=1024, required=False)
    lr = serializers.FloatField(min_value=1e-8, max_value=10.0, required=False)
    class_weights = serializers.ChoiceField(choices=["median_frequency"], required=False, allow_null=True)
    dice_weight = serializers.FloatField(min_value=0.0, max_value=10.0, required=False)
    builder_kwargs = serializers.DictField(required=False, help_text="advanced: keyword arguments of the network builder")
    cpu_threads = serializers.IntegerField(min_value=1, max_value=256, required=False)
    pretrained = serializers.BooleanField(
        required=False, help_text="start from published weights (COCO for Mask R-CNN R50 / FCN R50, ImageNet encoders "
                                  "otherwise) found in the torch hub cache or LABELER_WEIGHTS_DIR; nothing is downloaded")
    weights_file = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=200, required=False,
        help_text="with pretrained: a file name in LABELER_WEIGHTS_DIR to start from instead of the hub cache's")


def model_version_name_check(*, project: Project, name: str, job: Job | None = None) -> None:
    """A version name is unique in its project; the version that `job` itself registered (a
    redelivered train job) does not count against it."""
    taken = ModelVersion.objects.filter(project=project, name=name)
    if job is not None:
        taken = taken.exclude(training__job=job.pk)
    if taken.exists():
        raise ValidationFailed(f"project {project.name!r} already has a model version named {name!r}")


def training_class_ids(*, project: Project, arch: str, parent: ModelVersion | None = None) -> list[int]:
    """The label classes a new version learns, in output order (output 0 is the background).

    A fine-tuned version keeps its parent's outputs; a new one takes the project's classes
    (semantic nets: all of them, instance classes painted as class pixels; Mask R-CNN: the
    instance classes).
    """
    classes = {c.pk: c for c in project.label_classes.all()}
    if parent is not None:
        ids = list(parent.class_mapping[1:])
        if not ids or any(i is None or i not in classes for i in ids):
            raise ValidationFailed(
                f"model version {parent.name!r} has outputs that are not classes of project {project.name!r}; "
                "only a version whose every output maps to a class can be fine-tuned"
            )
        return ids
    wanted = list(classes.values())
    if arch == ModelVersion.Architecture.MASKRCNN:
        wanted = [c for c in wanted if c.kind == LabelClass.Kind.INSTANCE]
        if not wanted:
            raise ValidationFailed(f"project {project.name!r} has no instance classes for Mask R-CNN to learn")
    if not wanted:
        raise ValidationFailed(f"project {project.name!r} has no label classes to learn")
    return [c.pk for c in sorted(wanted, key=lambda c: (c.order, c.pk))]


def outputs_parent(parent: ModelVersion | None) -> ModelVersion | None:
    """The version whose outputs a fine-tuned one keeps: its parent, except published weights,
    whose heads are replaced by the project's classes."""
    if parent is not None and parent.source == ModelVersion.Source.TORCHVISION:
        return None
    return parent


@dataclass(frozen=True)
class TrainCheck:
    params: dict[str, Any]  # validated, None values dropped, `arch` always set
    parent: ModelVersion | None
    class_ids: list[int]
    approved: int


def _preset_merge(clean: dict[str, Any]) -> None:
    """A preset names an arch and its builder kwargs; kwargs given explicitly win."""
    preset = train_presets.preset_get(clean["preset"])
    if "from_version" in clean:
        raise ValidationFailed("a preset picks a new network and fine-tuning keeps its parent's: give preset or from_version")
    if clean.get("arch", preset.arch) != preset.arch:
        raise ValidationFailed(f"preset {preset.name!r} is a {preset.arch}, not a {clean['arch']}")
    clean["arch"] = preset.arch
    clean["builder_kwargs"] = {**preset.builder_kwargs, **clean.get("builder_kwargs", {})}


def train_check(*, project: Project, params: dict[str, Any], job: Job | None = None) -> TrainCheck:
    """Every rule a train Job must satisfy, at start and again when the worker plans it."""
    if not isinstance(params, dict):
        raise ValidationFailed(f"the train request must be a JSON object, got {type(params).__name__}")
    given = {k: v for k, v in params.items() if v is not None}
    clean = {k: v for k, v in parse(TrainParams, given).items() if v is not None}
    if "epochs" not in clean and "minutes" not in clean:
        raise ValidationFailed("give a budget: epochs, minutes or both")
    if "preset" in clean:
        _preset_merge(clean)
    parent = None
    if "from_version" in clean:
        parent = selectors.model_version_get(project=project, version_id=clean["from_version"])
        if "arch" in clean and clean["arch"] != parent.architecture:
            raise ValidationFailed(f"version {parent.name!r} is a {parent.architecture}; it cannot be fine-tuned as {clean['arch']}")
        if parent.source == ModelVersion.Source.TORCHVISION:
            # Published weights: the network starts from their file, with heads for this project's classes.
            clean["pretrained"] = True
        clean["arch"] = parent.architecture
    if "arch" not in clean:
        raise ValidationFailed("give an arch (unet, segnet, fcn, maskrcnn) or a from_version to fine-tune")
    if "builder_kwargs" in clean:  # bounded here as the worker's build_model bounds them
        try:
            architectures.builder_kwargs_check(clean["arch"], clean["builder_kwargs"])
        except ValueError as exc:
            raise ValidationFailed(f"builder_kwargs: {exc}") from None
    if "weights_file" in clean and not clean.get("pretrained"):
        raise ValidationFailed("weights_file: give it with pretrained=true")
    if "name" in clean:
        model_version_name_check(project=project, name=clean["name"], job=job)
    class_ids = training_class_ids(project=project, arch=clean["arch"], parent=outputs_parent(parent))
    approved_images = project.images.filter(status__in=Image.APPROVED)
    approved = approved_images.count()
    if clean.get("split") == "stored" and not approved_images.filter(split=STORED_VAL_SPLIT).exists():
        raise ValidationFailed(f'split: no approved image of project {project.name!r} is in the stored split "{STORED_VAL_SPLIT}"; '
                               'import a dataset with one, or use split "hash"')
    if approved < MIN_APPROVED_IMAGES:
        raise ValidationFailed(
            f"training needs at least {MIN_APPROVED_IMAGES} approved images (status done or reviewed); "
            f"project {project.name!r} has {approved}", approved=approved,
        )
    return TrainCheck(clean, parent, class_ids, approved)


def train_start(
    *, project: Project, user: AbstractBaseUser | None, params: dict[str, Any], runner: jobs.TaskRunner | None = None,
) -> Job:
    """Queue a train Job on the project's approved labels (see `train_check` for the rules)."""
    checked = train_check(project=project, params=params)
    return jobs.job_start(project=project, user=user, kind=Job.Kind.TRAIN, params=checked.params,
                          total=checked.params.get("epochs", 0), runner=runner)


def evaluate_start(
    *, project: Project, user: AbstractBaseUser | None, version: ModelVersion, runner: jobs.TaskRunner | None = None,
) -> Job:
    if version.project_id != project.pk:
        raise ValidationFailed(f"model version {version.name!r} is not in project {project.name!r}")
    return jobs.job_start(project=project, user=user, kind=Job.Kind.EVALUATE, params={"model_version": version.pk}, runner=runner)


def prelabel_images_check(*, project: Project, images: Any) -> str | list[int]:
    """`images` of a pre-label Job: "all", "unlabeled" or a list of this project's image ids."""
    if isinstance(images, str) and images in PRELABEL_IMAGE_SETS:
        return images
    if not isinstance(images, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in images):
        raise ValidationFailed('images must be "all", "unlabeled" or a list of image ids')
    found = set(project.images.filter(pk__in=images).values_list("pk", flat=True))
    missing = [i for i in images if i not in found]
    if missing:
        raise ValidationFailed(f"images {missing[:10]} are not in project {project.name!r}", missing=missing[:100])
    return images


def prelabel_start(
    *, project: Project, user: AbstractBaseUser | None, version: ModelVersion, images: Any = "unlabeled",
    score_threshold: float = 0.5, runner: jobs.TaskRunner | None = None,
) -> Job:
    """Queue a pre-label Job: `version` fills in proposals on the chosen images."""
    if version.project_id != project.pk:
        raise ValidationFailed(f"model version {version.name!r} is not in project {project.name!r}")
    if not 0.0 <= score_threshold <= 1.0:
        raise ValidationFailed(f"score_threshold must be between 0 and 1, got {score_threshold}")
    which = prelabel_images_check(project=project, images=images)
    return jobs.job_start(
        project=project, user=user, kind=Job.Kind.PRELABEL, runner=runner,
        params={"model_version": version.pk, "images": which, "score_threshold": float(score_threshold)},
    )


def model_register_check(*, project: Project, name: str, torchvision: bool, architecture: str | None, has_file: bool) -> None:
    """Rules for registering a model version, from a checkpoint file or torchvision's weights."""
    model_version_name_check(project=project, name=name)
    if torchvision:
        if architecture not in architectures.TORCHVISION:
            raise ValidationFailed(f"torchvision weights need an architecture: {' or '.join(architectures.TORCHVISION)}")
    elif not has_file:
        raise ValidationFailed("send a checkpoint file, or torchvision=true with an architecture")


@transaction.atomic
def model_register_start(
    *, project: Project, user: AbstractBaseUser | None, name: str, checkpoint: IO[bytes] | None = None,
    file_name: str = "", torchvision: bool = False, architecture: str | None = None, weights: str = "DEFAULT",
    runner: jobs.TaskRunner | None = None,
) -> Job:
    """Queue a register-model Job. A checkpoint is streamed into media storage, uploads/models/ (the
    gpu worker, where torch lives, checks that it loads); torchvision's weights come from the
    worker's torch cache."""
    model_register_check(project=project, name=name, torchvision=torchvision, architecture=architecture,
                         has_file=checkpoint is not None)
    params: dict[str, Any] = {"name": name}
    if torchvision:
        params.update(torchvision=True, architecture=architecture, weights=weights)
        return jobs.job_start(project=project, user=user, kind=Job.Kind.REGISTER_MODEL, params=params, total=1, runner=runner)
    relative = media.save(f"uploads/models/{uuid.uuid4().hex}.pt", checkpoint)
    params.update(upload=relative, file_name=file_name or Path(getattr(checkpoint, "name", "") or "checkpoint.pt").name)
    try:
        return jobs.job_start(project=project, user=user, kind=Job.Kind.REGISTER_MODEL, params=params, total=1, runner=runner)
    except BaseException:
        media.delete(relative)
        raise
