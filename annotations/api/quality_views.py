"""Quality control and history over the API: mark the ground-truth sample, read the quality
report, list an image's revisions, look at one and restore it. Rules live in annotations/quality.py
and annotations/history.py; each handler parses, calls one of them and answers."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import history, quality, selectors, services
from annotations.models import DocumentRevision, GroundTruthSample

from .serializers import INT_MAX, DocumentOut, ErrorOut, VoidMaskField
from .views import EDITORS, DOCUMENT_SET, _document, _is_ground_truth


class GroundTruthSampleIn(serializers.Serializer):
    percent = serializers.FloatField(help_text=f"share of the images, {quality.PERCENT_MIN:g} to {quality.PERCENT_MAX:g} (5-15 is usual)")
    seed = serializers.IntegerField(required=False, min_value=0, max_value=quality.SEED_MAX,
                                    help_text="left out, one is drawn; recorded either way")


class GroundTruthSampleOut(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    image_ids = serializers.SerializerMethodField()

    class Meta:
        model = GroundTruthSample
        fields = ["percent", "seed", "size", "image_ids", "created_by", "created_at"]

    def get_image_ids(self, sample: GroundTruthSample) -> list[int]:
        return list(sample.project.images.filter(ground_truth=True).order_by("pk").values_list("pk", flat=True))


class FiguresOut(serializers.Serializer):
    tp = serializers.IntegerField(help_text="matched pairs (IoU at or above the threshold)")
    fp = serializers.IntegerField(help_text="work with no ground truth to match")
    fn = serializers.IntegerField(help_text="ground truth the work missed")
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True, help_text="TP / (TP + FP + FN)")
    mean_iou = serializers.FloatField(allow_null=True, help_text="mean IoU of the matched pairs")


class AnnotatorQualityOut(FiguresOut):
    username = serializers.CharField()
    images = serializers.IntegerField(help_text="sample images of theirs that were scored")


class ClassQualityOut(FiguresOut):
    label_class = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    color = serializers.CharField()
    class_iou = serializers.FloatField(allow_null=True, help_text="semantic classes: intersection / union of all scored pixels")


class QualityReportOut(serializers.Serializer):
    threshold = serializers.FloatField()
    sample = GroundTruthSampleOut(allow_null=True)
    images_in_sample = serializers.IntegerField()
    images_with_truth = serializers.IntegerField(help_text="sample images whose ground truth has been saved")
    images_scored = serializers.IntegerField(help_text="of those, the ones a person saved work on")
    per_annotator = AnnotatorQualityOut(many=True)
    per_class = ClassQualityOut(many=True)
    total = FiguresOut()


class GroundTruthSampleApi(APIView):
    @extend_schema(request=GroundTruthSampleIn, responses={201: GroundTruthSampleOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        data = GroundTruthSampleIn(data=request.data)
        data.is_valid(raise_exception=True)
        sample = quality.ground_truth_sample_mark(project=project, user=request.user, **data.validated_data)
        return Response(GroundTruthSampleOut(sample).data, status=status.HTTP_201_CREATED)


class QualityReportApi(APIView):
    @extend_schema(responses=QualityReportOut, parameters=[
        OpenApiParameter("iou", float, description="IoU threshold of a match, above 0 and at most 1 (default 0.5)"),
    ])
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        threshold = quality.threshold_parse(request.query_params.get("iou"))
        return Response(QualityReportOut(quality.quality_report(project=project, user=request.user, threshold=threshold)).data)


class RevisionOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", allow_null=True, default=None)

    class Meta:
        model = DocumentRevision
        fields = ["id", "version", "ground_truth", "author", "created_at", "annotation_count"]
        read_only_fields = fields


class RevisionAnnotationOut(serializers.Serializer):
    id = serializers.IntegerField()
    label_class = serializers.IntegerField()
    mask = serializers.JSONField()
    z_order = serializers.IntegerField()
    source = serializers.CharField()
    is_proposal = serializers.BooleanField()
    iscrowd = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True)


class RevisionDetailOut(RevisionOut):
    width = serializers.IntegerField(source="image.width")
    height = serializers.IntegerField(source="image.height")
    annotations = serializers.SerializerMethodField()
    void = serializers.SerializerMethodField()

    class Meta(RevisionOut.Meta):
        fields = RevisionOut.Meta.fields + ["width", "height", "annotations", "void"]

    @extend_schema_field(VoidMaskField(allow_null=True, help_text="the void region at this revision; null when none"))
    def get_void(self, revision: DocumentRevision) -> dict | None:
        counts = revision.void_rle_counts
        return {"size": [revision.image.height, revision.image.width], "counts": counts} if counts else None

    @extend_schema_field(RevisionAnnotationOut(many=True))
    def get_annotations(self, revision: DocumentRevision) -> list[dict]:
        size = [revision.image.height, revision.image.width]
        return RevisionAnnotationOut([
            {**item, "mask": {"size": size, "counts": item["counts"]}, "iscrowd": bool(item.get("iscrowd"))}
            for item in history.revision_annotations(revision)
        ], many=True).data


class RestoreIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, max_value=INT_MAX, help_text="the document version you read (409 when stale)")


class RevisionListApi(APIView):
    @extend_schema(responses=RevisionOut(many=True), parameters=[DOCUMENT_SET])
    def get(self, request: Request, image_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        revisions = history.revision_list(image=image, user=request.user, ground_truth=_is_ground_truth(request))
        return Response(RevisionOut(revisions, many=True).data)


class RevisionDetailApi(APIView):
    @extend_schema(responses=RevisionDetailOut)
    def get(self, request: Request, image_id: int, revision_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        return Response(RevisionDetailOut(history.revision_get(image=image, user=request.user, revision_id=revision_id)).data)


class RevisionRestoreApi(APIView):
    @extend_schema(request=RestoreIn, responses={200: DocumentOut, 409: ErrorOut})
    def post(self, request: Request, image_id: int, revision_id: int) -> Response:
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS)
        data = RestoreIn(data=request.data)
        data.is_valid(raise_exception=True)
        history.document_restore(image=image, user=request.user, revision_id=revision_id, **data.validated_data)
        image.refresh_from_db()
        truth = image.revisions.filter(pk=revision_id).values_list("ground_truth", flat=True).first()
        return Response(_document(image, bool(truth)))
