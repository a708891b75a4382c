"""Input and output serializers; no business rules here (those are in services)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations import media, selectors
from annotations.models import INT_MAX, INT_MIN, Annotation, Image, Job, LabelClass, ModelVersion, Project


class LabelClassOut(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "kind", "hotkey", "order"]


class LabelClassIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=LabelClass.Kind.choices, default=LabelClass.Kind.INSTANCE)
    color = serializers.CharField(max_length=7, default="#ff0000")
    hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")
    order = serializers.IntegerField(required=False, min_value=0, max_value=INT_MAX)


class ProjectOut(serializers.ModelSerializer):
    label_classes = LabelClassOut(many=True, read_only=True)
    image_count = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at", "label_classes", "image_count", "archived", "annotators_see_unassigned"]

    def get_image_count(self, project: Project) -> int:
        # Lists annotate the count in their one query; a single project counts its own.
        annotated = getattr(project, "image_count", None)
        return annotated if annotated is not None else project.images.count()


class ProjectIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectPatchIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    archived = serializers.BooleanField(required=False)
    annotators_see_unassigned = serializers.BooleanField(required=False, help_text="annotators also see and edit unassigned images")


class ImageOut(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Image
        fields = ["id", "project", "file_name", "width", "height", "sha256", "status", "url", "thumbnail_url",
                  "annotation_version", "uncertainty", "created_at", "assignee", "split", "review_comment"]

    def get_url(self, image: Image) -> str:
        return media.url(image.file.name)  # the member-only media view, whatever the storage

    def get_thumbnail_url(self, image: Image) -> str | None:
        return media.url(image.thumbnail.name) if image.thumbnail else None


class NextImageOut(serializers.Serializer):
    image = ImageOut(allow_null=True, help_text="null when no unlabeled image is left")
    reason = serializers.CharField(help_text='"uncertainty" (the most uncertain unlabeled image), "order" (the next by id), or why there is none')


class ImageDetailOut(ImageOut):
    prev_id = serializers.IntegerField(allow_null=True)
    next_id = serializers.IntegerField(allow_null=True)
    next_suggested_id = serializers.IntegerField(allow_null=True, help_text="most uncertain unlabeled image, else the next unlabeled one")

    class Meta(ImageOut.Meta):
        fields = ImageOut.Meta.fields + ["prev_id", "next_id", "next_suggested_id"]


class ImagePatchIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=Image.Status.choices)


class ImageUploadIn(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)
    archive = serializers.FileField(required=False)


class MaskField(serializers.JSONField):
    """A COCO RLE object; checked by the mask codec in the service."""


class AnnotationOut(serializers.ModelSerializer):
    mask = serializers.SerializerMethodField()
    bbox = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    model_version_name = serializers.SerializerMethodField()
    author = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = ["id", "label_class", "mask", "bbox", "area", "z_order", "source", "model_version",
                  "model_version_name", "score", "is_proposal", "iscrowd", "author", "created_at", "updated_at"]

    def get_mask(self, annotation: Annotation) -> dict:
        return annotation.rle

    def get_model_version_name(self, annotation: Annotation) -> str | None:
        return annotation.model_version.name if annotation.model_version else None

    def get_author(self, annotation: Annotation) -> str | None:
        return annotation.author.get_username() if annotation.author else None


def _stamper() -> Callable[[Any], str]:
    """DRF's DateTimeField output (ISO 8601 in the current zone, UTC written as Z) for a value as
    the database driver hands it over: an aware datetime (PostgreSQL), a naive UTC datetime
    (SQLite's driver, which parses Django's 'YYYY-MM-DD HH:MM:SS[.ffffff]' columns itself) or that
    text. Made once per document: 2,000 stamps in a 1,000-mask one, where Django's converters and
    DRF's field cost ~10 us each; in UTC (the default zone) a stamp is one isoformat, no zone
    conversion. A naive value is UTC whatever the process's local zone."""
    zone = timezone.get_current_timezone()
    is_utc = zone is dt_timezone.utc or getattr(zone, "key", None) in ("UTC", "Etc/UTC")
    utc, zero = dt_timezone.utc, timedelta(0)

    def stamp(value: Any) -> str:
        if isinstance(value, str):
            if is_utc and len(value) in (19, 26) and value[10] == " ":
                return f"{value[:10]}T{value[11:]}Z"
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            if is_utc:
                return value.isoformat() + "Z"
            value = value.replace(tzinfo=utc)
        elif is_utc and value.utcoffset() == zero:
            return value.replace(tzinfo=None).isoformat() + "Z"
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return stamp


def document_rows(image: Image, *, ground_truth: bool = False) -> list[dict]:
    """AnnotationOut's JSON for every annotation of one of the image's documents (selectors.document_rows)."""
    return format_rows(selectors.document_rows(image=image, ground_truth=ground_truth), height=image.height, width=image.width)


def format_rows(rows: list[tuple], *, height: int, width: int) -> list[dict]:
    """AnnotationOut's JSON for rows of selectors.DOCUMENT_ROW_FIELDS, as the driver gave them or
    as a save wrote them (timestamps as text or datetimes)."""
    stamp = _stamper()
    size = [height, width]
    return [
        {"id": pk, "label_class": label_class, "mask": {"size": size, "counts": counts}, "bbox": [x, y, w, h], "area": area,
         "z_order": z_order, "source": source, "model_version": model_version, "model_version_name": model_version_name,
         "score": score, "is_proposal": bool(is_proposal), "iscrowd": bool(iscrowd), "author": author,
         "created_at": stamp(created_at), "updated_at": stamp(updated_at)}
        for (pk, label_class, counts, x, y, w, h, area, z_order, source, model_version, model_version_name, score, is_proposal,
             iscrowd, author, created_at, updated_at, _author_id) in rows
    ]


class AnnotationIn(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True)
    label_class = serializers.IntegerField()
    mask = MaskField()
    z_order = serializers.IntegerField(required=False, min_value=INT_MIN, max_value=INT_MAX)
    is_proposal = serializers.BooleanField(required=False, default=False)
    iscrowd = serializers.BooleanField(
        required=False, help_text="COCO crowd region; left out, an existing annotation keeps its flag (new ones: false)",
    )


class _AnnotationList(serializers.Field):
    """A list of annotation objects, handed to the service as sent: the service checks each one
    (services._parse_item, the one home of those rules). DRF's nested serializer checked the same
    types field by field and cost 3 ms of a 200-mask save and 17 ms of a 1,000-mask one. The
    schema still describes the items (extend_schema_field)."""

    def to_internal_value(self, data: object) -> list:
        if not isinstance(data, list):
            raise serializers.ValidationError(f"Expected a list of items but got type \"{type(data).__name__}\".")
        return data

    def to_representation(self, value: list) -> list:
        return value


@extend_schema_field(AnnotationIn(many=True))
class AnnotationListIn(_AnnotationList):
    pass


class VoidMaskField(serializers.JSONField):
    """The image's void ("don't care") region: a COCO RLE of the image's size, or null for none."""


class DocumentIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, max_value=INT_MAX)
    annotations = AnnotationListIn()
    void = VoidMaskField(
        required=False, allow_null=True,
        help_text="void pixels (VOC 255) as RLE of the image's size, or null to clear; left out, the void region stays",
    )


class AnnotationChangeIn(serializers.Serializer):
    """One annotation of a delta: without id a new one (label_class and mask needed); with id a change
    to an existing one, where only the fields sent change."""

    id = serializers.IntegerField(required=False, allow_null=True, help_text="the annotation to change; left out for a new one")
    label_class = serializers.IntegerField(required=False)
    mask = MaskField(required=False)
    z_order = serializers.IntegerField(required=False, min_value=INT_MIN, max_value=INT_MAX)
    is_proposal = serializers.BooleanField(required=False)
    iscrowd = serializers.BooleanField(required=False)


@extend_schema_field(AnnotationChangeIn(many=True))
class AnnotationChangeListIn(_AnnotationList):
    pass


class DocumentDeltaIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, max_value=INT_MAX, help_text="the version the changes were made on")
    upsert = AnnotationChangeListIn(required=False, default=list, help_text="new annotations and changes to existing ones")
    delete = serializers.ListField(
        child=serializers.IntegerField(min_value=INT_MIN, max_value=INT_MAX), required=False, default=list,
        help_text="ids of the annotations to delete",
    )
    void = VoidMaskField(
        required=False, allow_null=True,
        help_text="void pixels (VOC 255) as RLE of the image's size, or null to clear; left out, the void region stays",
    )


class DocumentDeltaOut(serializers.Serializer):
    image = serializers.IntegerField()
    version = serializers.IntegerField(help_text="the document's version after this save")
    annotations = AnnotationOut(many=True, help_text="the annotations the delta created or changed, in the order sent")
    saved_ids = serializers.ListField(child=serializers.IntegerField(), help_text="the id of each upserted annotation, in the order sent")
    deleted_ids = serializers.ListField(child=serializers.IntegerField(), help_text="the ids the delta deleted")


class DocumentOut(serializers.Serializer):
    image = serializers.IntegerField()
    version = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    annotations = AnnotationOut(many=True)
    void = VoidMaskField(allow_null=True, help_text="void pixels as COCO RLE of the image's size; null when none")


class SavedDocumentOut(DocumentOut):
    saved_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="the id of each sent annotation, in the order they were sent",
    )


class JobOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "project", "kind", "status", "params", "done", "total", "progress", "message", "result",
                  "download_url", "created_at", "started_at", "finished_at"]

    def get_progress(self, job: Job) -> float:
        return round(job.done / job.total, 4) if job.total else (1.0 if job.status == Job.Status.SUCCEEDED else 0.0)

    def get_download_url(self, job: Job) -> str | None:
        return f"/api/jobs/{job.pk}/download/" if job.result_file else None


class ModelVersionOut(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "project", "name", "architecture", "class_mapping", "normalization", "size_policy",
                  "metrics", "training", "source", "parent", "created_at"]


class ImportResultOut(serializers.Serializer):
    created = ImageOut(many=True)
    duplicates = serializers.ListField(child=serializers.CharField())
    thumbnail_job = serializers.IntegerField(allow_null=True)


class ErrorOut(serializers.Serializer):
    """The one error shape of the whole API (annotations/api/errors.py)."""

    message = serializers.CharField(help_text="what went wrong, for a person to read")
    extra = serializers.DictField(help_text='details: "fields" (each refused field and its errors) for invalid input, else what the error names')
