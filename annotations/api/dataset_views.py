"""Dataset export and import endpoints: each starts a Job on the `default` queue and answers 202.

Any member may export (the zip is downloaded through /api/jobs/<id>/download/, members only);
imports write classes and many images, so they need the owner role.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import exports, selectors, services
from annotations.dataset_imports import dataset_import_start
from annotations.errors import ValidationFailed
from annotations.models import Image, Membership

from .serializers import JobOut


class ExportIn(serializers.Serializer):
    format = serializers.ChoiceField(choices=exports.FORMATS)
    mask_format = serializers.ChoiceField(choices=exports.MASK_FORMATS, default="rle")
    with_images = serializers.BooleanField(default=False)
    only_status = serializers.ListField(child=serializers.ChoiceField(choices=Image.Status.values), default=list)
    include_proposals = serializers.BooleanField(default=False)
    split = serializers.CharField(default="", allow_blank=True, help_text="e.g. train=0.8,val=0.2")
    seed = serializers.IntegerField(default=0)


class ImportIn(serializers.Serializer):
    archive = serializers.FileField()
    format = serializers.ChoiceField(choices=("coco", "voc"))
    create_classes = serializers.BooleanField(default=True)


class ExportStartApi(APIView):
    @extend_schema(request=ExportIn, responses={202: JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        data = ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = exports.export_start(project=project, user=request.user, options=exports.export_options(**data.validated_data))
        job.refresh_from_db()  # an eager run (tests, no broker) has already finished it
        return Response(JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class ImportStartApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportIn}, responses={202: JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=[Membership.Role.OWNER])
        data = ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        archive = data.validated_data["archive"]
        if not archive.name.lower().endswith(".zip"):
            raise ValidationFailed(f"{archive.name}: a dataset import takes one .zip archive")
        job = dataset_import_start(
            project=project, user=request.user, upload=archive, format=data.validated_data["format"],
            create_classes=data.validated_data["create_classes"],
        )
        job.refresh_from_db()
        return Response(JobOut(job).data, status=status.HTTP_202_ACCEPTED)
