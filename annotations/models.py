"""Database rows of the domain. Rules live in services.py; these stay declarative.

Masks are stored once, as COCO compressed RLE (`rle_counts` with the image's size), for human
and model annotations alike. Invariants that the database can hold are constraints here.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from . import architectures



# The range of the database's integer columns (PostgreSQL `integer`): a larger value is refused as
# invalid input (by the API's integer fields and the document save), instead of overflowing in
# the database (a 500 on SQLite and PostgreSQL).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Archived projects leave the project list (owners can list and unarchive them); nothing is deleted.
    archived = models.BooleanField(default=False)
    # Whether annotators see and edit images nobody is assigned to, besides their own
    # (selectors.image_visibility is the one place this is read).
    annotators_see_unassigned = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ANNOTATOR = "annotator"
        REVIEWER = "reviewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]


class LabelClass(models.Model):
    class Kind(models.TextChoices):
        SEMANTIC = "semantic"
        INSTANCE = "instance"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_classes")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#ff0000")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INSTANCE)
    hotkey = models.CharField(max_length=1, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_class_name_per_project"),
            models.CheckConstraint(condition=Q(kind__in=["semantic", "instance"]), name="label_class_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    class Status(models.TextChoices):
        NEW = "new"
        IN_PROGRESS = "in_progress"
        DONE = "done"
        REVIEWED = "reviewed"

    # Work left to do on it: what "next image" offers and pre-labeling may fill in.
    OPEN = (Status.NEW, Status.IN_PROGRESS)
    # People finished it: the labels training learns from and evaluation measures against.
    APPROVED = (Status.DONE, Status.REVIEWED)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(max_length=255)  # content-addressed: images/<sha[:2]>/<sha>.<ext>
    thumbnail = models.FileField(max_length=255, blank=True)
    file_name = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Version of the annotation document; a save must name the version it read.
    annotation_version = models.PositiveIntegerField(default=0)
    # Set by pre-labeling: higher = the model was less sure (used to pick what to label next).
    uncertainty = models.FloatField(null=True, blank=True)
    # Pixels the dataset marks void / "don't care" (VOC 255): COCO compressed RLE counts of the
    # image's size, null when there are none. Part of the annotation document; training and
    # metrics skip these pixels (selectors.image_void_rle), VOC exports them as 255.
    void_rle_counts = models.TextField(null=True, blank=True)
    # The split a dataset import put the image in ("train", "val", ...); "" when none was given.
    # Exports without --split write it back; training can use it.
    split = models.CharField(max_length=32, blank=True, default="")
    # The reviewer's comment when they last sent the image back (services.image_review); shown in the
    # editor to whoever fixes it, cleared when the image is accepted.
    review_comment = models.TextField(blank=True, default="")
    # In the project's ground-truth sample (quality.py): trusted people label a second, hidden
    # document of it (Annotation.ground_truth) that the annotators' work is scored against.
    ground_truth = models.BooleanField(default=False)
    # Version of that ground-truth document; its saves name it like `annotation_version`.
    ground_truth_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="unique_image_content_per_project"),
            models.CheckConstraint(condition=Q(width__gt=0) & Q(height__gt=0), name="image_has_size"),
        ]
        indexes = [
            models.Index(fields=["project", "status"]),
            # The images grid: an annotator's own images, and most-uncertain-first paging.
            models.Index(fields=["project", "assignee", "id"], name="image_project_assignee"),
            models.Index(fields=["project", "uncertainty", "id"], name="image_project_uncertainty"),
        ]

    def __str__(self) -> str:
        return self.file_name


class ModelVersion(models.Model):
    """A trained network the workers can run: architecture, class mapping, checkpoint, metrics."""

    class Architecture(models.TextChoices):
        UNET = architectures.UNET
        SEGNET = architectures.SEGNET
        FCN = architectures.FCN
        MASKRCNN = architectures.MASKRCNN

    class Source(models.TextChoices):
        TRAINED = "trained"
        UPLOADED = "uploaded"
        TORCHVISION = "torchvision"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    name = models.CharField(max_length=100)
    architecture = models.CharField(max_length=16, choices=Architecture.choices)
    # Output index -> label class id; index 0 is background (null).
    class_mapping = models.JSONField(default=list)
    builder_kwargs = models.JSONField(default=dict)
    normalization = models.JSONField(default=dict)  # {"mean": [...], "std": [...]}
    size_policy = models.JSONField(default=dict)  # {"mode": "resize"|"pad", "size": int, "multiple": int}
    checkpoint = models.FileField(max_length=255, blank=True)
    metrics = models.JSONField(default=dict)
    training = models.JSONField(default=dict)  # images, split, recipe, parent
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.TRAINED)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_model_name_per_project")]

    def __str__(self) -> str:
        return f"{self.name} ({self.architecture})"


class WorkAnnotations(models.Manager):
    """The annotators' annotations (the document everyone edits, exports and trains on). The
    default manager, so every reader of the domain sees these only; the ground-truth set is read
    through `Annotation.with_ground_truth`, by quality control and the document of that set."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(ground_truth=False)


class Annotation(models.Model):
    class Source(models.TextChoices):
        HUMAN = "human"
        MODEL = "model"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="annotations")
    label_class = models.ForeignKey(LabelClass, on_delete=models.CASCADE, related_name="annotations")
    rle_counts = models.TextField()  # COCO compressed RLE counts; size is the image's (height, width)
    bbox_x = models.PositiveIntegerField(default=0)
    bbox_y = models.PositiveIntegerField(default=0)
    bbox_w = models.PositiveIntegerField(default=0)
    bbox_h = models.PositiveIntegerField(default=0)
    area = models.PositiveIntegerField(default=0)
    z_order = models.IntegerField(default=0)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.HUMAN)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations")
    score = models.FloatField(null=True, blank=True)
    # A model's proposal until a person accepts or edits it.
    is_proposal = models.BooleanField(default=False)
    # COCO's crowd flag: one region covering many objects; COCOeval ignores matches to it.
    iscrowd = models.BooleanField(default=False)
    # Part of the image's ground-truth document (trusted labels for quality control), not of the
    # annotators' work. Hidden from `objects` (WorkAnnotations).
    ground_truth = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkAnnotations()
    with_ground_truth = models.Manager()

    class Meta:
        base_manager_name = "with_ground_truth"  # cascades and related lookups see both sets
        ordering = ["z_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="human", is_proposal=False) | Q(source="model", model_version__isnull=False) | Q(source="model", is_proposal=False),
                name="proposal_comes_from_model",
            ),
        ]
        indexes = [models.Index(fields=["image", "model_version", "is_proposal"])]

    @property
    def bbox(self) -> list[int]:
        return [self.bbox_x, self.bbox_y, self.bbox_w, self.bbox_h]

    @property
    def rle(self) -> dict:
        return {"size": [self.image.height, self.image.width], "counts": self.rle_counts}


class DocumentRevision(models.Model):
    """Every saved annotation document, so nothing a person saved is ever lost.

    A revision is a keyframe (`annotations`: the whole document, as revision rows) or a delta
    (`changes`: {"upsert": rows, "delete": ids} on top of the revision one version before), so a
    save of one mask among 1,000 records one row, not the 1,000. `keyframe_version` is the version
    of the keyframe the chain starts at (its own version on a keyframe); history.revision_annotations
    replays a delta's chain. services.documents_commit decides which to write."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    annotations = models.JSONField(null=True, blank=True)  # a keyframe's document; null on a delta
    changes = models.JSONField(null=True, blank=True)  # a delta's {"upsert": [...], "delete": [...]}; null on a keyframe
    keyframe_version = models.PositiveIntegerField()
    annotation_count = models.PositiveIntegerField(default=0)  # the document's size at this version
    void_rle_counts = models.TextField(null=True, blank=True)  # the document's void region at this version
    # A revision of the image's ground-truth document (its own version numbers), not of the work.
    ground_truth = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "version"]
        constraints = [models.UniqueConstraint(fields=["image", "ground_truth", "version"], name="one_revision_per_version")]


class GroundTruthSample(models.Model):
    """The project's ground-truth sample: which share of its images, drawn with which seed, by
    whom (quality.ground_truth_sample_mark). The images carry `Image.ground_truth`."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="ground_truth_sample")
    percent = models.FloatField()
    seed = models.BigIntegerField()
    size = models.PositiveIntegerField()  # images drawn
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class Job(models.Model):
    class Kind(models.TextChoices):
        THUMBNAILS = "thumbnails"
        IMPORT_IMAGES = "import_images"
        EXPORT = "export"
        IMPORT_DATASET = "import_dataset"
        PRELABEL = "prelabel"
        TRAIN = "train"
        EVALUATE = "evaluate"
        REGISTER_MODEL = "register_model"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict)
    result_file = models.FileField(max_length=255, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(done__lte=models.F("total")) | Q(total=0), name="job_progress_bounded")]

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}



class JobChunk(models.Model):
    """One chunk of a Job split across workers (a pre-label job's images, settings.LABELER_PRELABEL_CHUNK
    at a time; an export's, settings.LABELER_EXPORT_CHUNK): its images, its own progress, the worker
    that ran it and its result. The Job's `done` is the sum of its chunks' (recomputed by the chunk
    that moves), so a redelivered chunk resumes after its last finished image and nothing is counted
    twice; the chunk that succeeds last (under a lock on the Job) ends the Job. A chunk's message can
    be sent again from its row alone (annotations.jobs.jobs_resend_lost). Written by workers/chunks.py."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    worker = models.CharField(max_length=255, blank=True)  # the Celery node that ran it last
    deliveries = models.PositiveIntegerField(default=0)  # begun and not ended (workers/tasks.py)
    # What the chunk works on, in order: image ids (pre-label), [id, VOC stem, COCO member] (export)
    images = models.JSONField(default=list)
    result = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="job_chunk_once"),
            models.CheckConstraint(condition=Q(done__lte=models.F("total")), name="job_chunk_progress_bounded"),
        ]


class CorrectionRecord(models.Model):
    """What a person did to one model version's proposals in one save of an image's document.

    Written by `corrections.corrections_record` from inside `annotation_document_save`, before the
    rows change, so it compares the proposals as the model wrote them with what the person sent.
    Summed per version by `selectors.correction_effort`: the figure that tells a team whether
    pre-labeling saves time.
    """

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="corrections")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="corrections")
    document_version = models.PositiveIntegerField()  # the image's annotation_version after the save
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accepted = models.PositiveIntegerField(default=0)  # proposals accepted with mask and class unchanged
    edited = models.PositiveIntegerField(default=0)  # proposals accepted with a changed mask or class
    relabeled = models.PositiveIntegerField(default=0)  # of the edited: class changed
    deleted = models.PositiveIntegerField(default=0)  # proposals the person removed
    added = models.PositiveIntegerField(default=0)  # objects drawn by hand on a pre-labeled image
    pixels_added = models.PositiveIntegerField(default=0)  # painted onto edited proposals
    pixels_removed = models.PositiveIntegerField(default=0)  # erased from edited proposals
    proposal_pixels = models.PositiveIntegerField(default=0)  # area of the proposals decided in this save
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["model_version"])]
