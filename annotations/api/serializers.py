"""Input and output serializers; no business rules here (those are in services)."""
from __future__ import annotations

from rest_framework import serializers

from annotations.models import Annotation, Image, Job, LabelClass, ModelVersion, Project


class LabelClassOut(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "kind", "hotkey", "order"]


class LabelClassIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=LabelClass.Kind.choices, default=LabelClass.Kind.INSTANCE)
    color = serializers.CharField(max_length=7, default="#ff0000")
    hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")
    order = serializers.IntegerField(required=False, min_value=0)


class ProjectOut(serializers.ModelSerializer):
    label_classes = LabelClassOut(many=True, read_only=True)
    image_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at", "label_classes", "image_count"]


class ProjectIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ImageOut(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = ["id", "project", "file_name", "width", "height", "sha256", "status", "url", "thumbnail_url",
                  "annotation_version", "uncertainty", "created_at"]

    def get_url(self, image: Image) -> str:
        return image.file.url

    def get_thumbnail_url(self, image: Image) -> str | None:
        return image.thumbnail.url if image.thumbnail else None


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
                  "model_version_name", "score", "is_proposal", "author", "created_at", "updated_at"]

    def get_mask(self, annotation: Annotation) -> dict:
        return annotation.rle

    def get_model_version_name(self, annotation: Annotation) -> str | None:
        return annotation.model_version.name if annotation.model_version else None

    def get_author(self, annotation: Annotation) -> str | None:
        return annotation.author.get_username() if annotation.author else None


class AnnotationIn(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True)
    label_class = serializers.IntegerField()
    mask = MaskField()
    z_order = serializers.IntegerField(required=False)
    is_proposal = serializers.BooleanField(required=False, default=False)


class DocumentIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=0)
    annotations = AnnotationIn(many=True)


class DocumentOut(serializers.Serializer):
    image = serializers.IntegerField()
    version = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    annotations = AnnotationOut(many=True)


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
