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


class VersionCompareOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    architecture = serializers.CharField()
    source = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    metrics = serializers.JSONField()
    training = serializers.JSONField()
    correction_effort = serializers.JSONField()


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
        image, reason = next_image(project=project, after=int(raw) if raw is not None else None)
        if image is None:
            return Response({"image": None, "reason": "no unlabeled image left"})
        return Response({"image": s.ImageOut(image).data, "reason": reason})
