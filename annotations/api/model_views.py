"""Model versions and pre-label jobs. The work runs on the gpu queue; these views parse and call one
service (annotations/training.py). The assists have their own views (assist_views.py)."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import architectures, selectors, services, training

from . import serializers as s
from .views import OWNERS, UPLOADERS


class ModelRegisterIn(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    checkpoint = serializers.FileField(required=False)
    torchvision = serializers.BooleanField(default=False)
    architecture = serializers.ChoiceField(choices=architectures.TORCHVISION, required=False)

    def validate_checkpoint(self, upload):
        limit = settings.LABELER_MAX_CHECKPOINT_BYTES
        if upload is not None and upload.size > limit:
            raise serializers.ValidationError(f"{upload.size} bytes is over the checkpoint limit of {limit} bytes")
        return upload


class PrelabelIn(serializers.Serializer):
    model_version = serializers.IntegerField()
    images = serializers.JSONField(default="unlabeled", help_text='"all", "unlabeled" (no annotation a person made or accepted) or a list of image ids')
    score_threshold = serializers.FloatField(default=0.5, help_text="proposals scored below it are dropped (0..1)")


class ModelVersionListApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=s.ModelVersionOut(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(s.ModelVersionOut(selectors.model_version_list(project=project), many=True).data)

    @extend_schema(request={"multipart/form-data": ModelRegisterIn}, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        data = ModelRegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data.pop("checkpoint", None)
        job = training.model_register_start(project=project, user=request.user, checkpoint=upload,
                                            file_name=upload.name if upload else "", **data.validated_data)
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class PrelabelStartApi(APIView):
    @extend_schema(request=PrelabelIn, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=UPLOADERS)
        data = PrelabelIn(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.model_version_get(project=project, version_id=data.validated_data.pop("model_version"))
        job = training.prelabel_start(project=project, user=request.user, version=version, **data.validated_data)
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)
