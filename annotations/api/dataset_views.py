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

from annotations import dataset_imports, exports, selectors, services
from annotations.models import Membership

from .serializers import JobOut


class ExportIn(serializers.Serializer):
    """Shapes only: annotations.exports.export_options checks the values (also for the command)."""

    format = serializers.CharField(help_text=" or ".join(exports.FORMATS))
    mask_format = serializers.CharField(default="rle", help_text=" or ".join(exports.MASK_FORMATS))
    with_images = serializers.BooleanField(default=False)
    only_status = serializers.ListField(child=serializers.CharField(), default=list, help_text="image statuses to export (default: all)")
    include_proposals = serializers.BooleanField(default=False)
    split = serializers.CharField(
        default="", allow_blank=True,
        help_text="e.g. train=0.8,val=0.2 (drawn from each image's hash); empty or 'stored': the split an import stored on each image",
    )
    seed = serializers.IntegerField(default=0)
    void_as_ignore = serializers.BooleanField(
        default=False, help_text="COCO: write each image's void region as an iscrowd region of an 'ignore' category",
    )
    include_ground_truth = serializers.BooleanField(
        default=False, help_text="also export the ground-truth sample's images, with their ground-truth labels (left out by default)",
    )


class ImportIn(serializers.Serializer):
    archive = serializers.FileField()
    format = serializers.CharField(help_text=" or ".join(dataset_imports.FORMATS))
    create_classes = serializers.BooleanField(default=True)


class ExportStartApi(APIView):
    @extend_schema(request=ExportIn, responses={202: JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        data = ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = exports.export_start(project=project, user=request.user, options=exports.export_options(**data.validated_data))
        return Response(JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class ImportStartApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportIn}, responses={202: JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=[Membership.Role.OWNER])
        data = ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = dataset_imports.dataset_import_start(project=project, user=request.user, **data.validated_data)
        return Response(JobOut(job).data, status=status.HTTP_202_ACCEPTED)
