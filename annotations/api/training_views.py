"""Train and evaluate model versions, compare them, and pick the next image to label.

Each handler parses, calls one selector or service (annotations/training.py holds the rules) and
answers; the training and evaluation code (torch) lives in workers/ and never loads here.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services, training
from annotations.errors import ValidationFailed
from annotations.training_selectors import next_image, version_comparison

from . import serializers as s
from .views import ANY_ROLE, OWNERS, UPLOADERS


class CorrectionEffortOut(serializers.Serializer):
    """What people did to a version's proposals (annotations/corrections.py says how each is counted)."""

    images = serializers.IntegerField(help_text="images the version pre-labeled that people saved")
    saves = serializers.IntegerField()
    proposals_decided = serializers.IntegerField()
    accepted = serializers.IntegerField(help_text="proposals accepted with mask and class unchanged")
    edited = serializers.IntegerField()
    relabeled = serializers.IntegerField()
    deleted = serializers.IntegerField()
    added = serializers.IntegerField(help_text="objects drawn by hand on images the version pre-labeled")
    pixels_added = serializers.IntegerField()
    pixels_removed = serializers.IntegerField()
    proposal_pixels = serializers.IntegerField()
    hand_drawn_pixels = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True, help_text="accepted unchanged / decided")
    pixels_changed_per_proposal_pixel = serializers.FloatField(allow_null=True)
    pixels_changed_per_image = serializers.FloatField(allow_null=True, help_text="(pixels painted onto and erased from proposals + drawn by hand) / images")
    scratch_images = serializers.IntegerField(help_text="approved images that never had a proposal")
    scratch_pixels_per_image = serializers.FloatField(allow_null=True, help_text="annotation pixels per image labelled from scratch")
    effort_vs_scratch = serializers.FloatField(allow_null=True, help_text="pixels_changed_per_image / scratch_pixels_per_image")


class VersionCompareOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    architecture = serializers.CharField()
    source = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    metrics = serializers.JSONField()
    training = serializers.JSONField()
    correction_effort = CorrectionEffortOut()


class TrainStartApi(APIView):
    @extend_schema(request=training.TrainParams, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        job = training.train_start(project=project, user=request.user, params=request.data)
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class EvaluateStartApi(APIView):
    @extend_schema(request=None, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int, version_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=UPLOADERS)
        version = selectors.model_version_get(project=project, version_id=version_id)
        job = training.evaluate_start(project=project, user=request.user, version=version)
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class ModelCompareApi(APIView):
    @extend_schema(responses=VersionCompareOut(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(VersionCompareOut(version_comparison(project=project), many=True).data)


class NextImageApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("after", {"type": "integer", "minimum": 0}, description="the image just labeled")],
        responses=s.NextImageOut,
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=ANY_ROLE)
        raw = request.query_params.get("after")
        if raw is not None and not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is true; int() refuses it
            raise ValidationFailed(f"after must be an image id, got {raw!r}")
        image, reason = next_image(project=project, after=int(raw) if raw is not None else None, user=request.user)
        if image is None:
            return Response({"image": None, "reason": "no unlabeled image left"})
        return Response({"image": s.ImageOut(image).data, "reason": reason})
