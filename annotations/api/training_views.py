"""Train and evaluate model versions, compare them, and pick the next image to label.

The web process only validates, counts rows and enqueues Jobs on the gpu queue; the training
and evaluation code (torch) lives in workers/ and never loads here.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import jobs, selectors, services
from annotations.training_selectors import next_image, version_comparison
from annotations.errors import ValidationFailed
from annotations.models import Image, Job, LabelClass, ModelVersion

from . import serializers as s
from .views import ANY_ROLE, OWNERS, UPLOADERS

APPROVED = [Image.Status.DONE, Image.Status.REVIEWED]


class TrainIn(serializers.Serializer):
    arch = serializers.ChoiceField(choices=ModelVersion.Architecture.values, required=False)
    epochs = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    minutes = serializers.FloatField(min_value=0.01, max_value=7 * 24 * 60, required=False)
    from_version = serializers.IntegerField(required=False, allow_null=True)
    image_size = serializers.IntegerField(min_value=32, max_value=4096, required=False, allow_null=True)
    name = serializers.SlugField(max_length=100, required=False)
    val_fraction = serializers.FloatField(min_value=0.01, max_value=0.9, default=0.2)
    seed = serializers.IntegerField(min_value=0, default=0)
    batch_size = serializers.IntegerField(min_value=1, max_value=1024, required=False)
    lr = serializers.FloatField(min_value=1e-8, max_value=10.0, required=False)
    class_weights = serializers.ChoiceField(choices=["median_frequency"], required=False, allow_null=True)
    dice_weight = serializers.FloatField(min_value=0.0, max_value=10.0, required=False)
    builder_kwargs = serializers.DictField(required=False, help_text="advanced: keyword arguments of the network builder")
    cpu_threads = serializers.IntegerField(min_value=1, max_value=256, required=False)


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
    @extend_schema(request=TrainIn, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        data = TrainIn(data=request.data)
        data.is_valid(raise_exception=True)
        params = {k: v for k, v in data.validated_data.items() if v is not None}
        if "epochs" not in params and "minutes" not in params:
            raise ValidationFailed("give a budget: epochs, minutes or both")
        parent = None
        if "from_version" in params:
            parent = selectors.model_version_get(project=project, version_id=params["from_version"])
            if "arch" in params and params["arch"] != parent.architecture:
                raise ValidationFailed(f"version {parent.name!r} is a {parent.architecture}; it cannot be fine-tuned as {params['arch']}")
            if parent.source == ModelVersion.Source.TORCHVISION:
                raise ValidationFailed("fine-tuning torchvision's published weights is not supported; train from scratch")
            params["arch"] = parent.architecture
        if "arch" not in params:
            raise ValidationFailed("give an arch (unet, segnet, fcn, maskrcnn) or a from_version to fine-tune")
        if "name" in params and project.model_versions.filter(name=params["name"]).exists():
            raise ValidationFailed(f"project {project.name!r} already has a model version named {params['name']!r}")
        classes = project.label_classes.all()
        if params["arch"] == ModelVersion.Architecture.MASKRCNN:
            classes = classes.filter(kind=LabelClass.Kind.INSTANCE)
        if not classes.exists():
            raise ValidationFailed(f"project {project.name!r} has no {'instance ' if params['arch'] == 'maskrcnn' else ''}classes to learn")
        approved = project.images.filter(status__in=APPROVED).count()
        if approved < 2:
            raise ValidationFailed(
                f"training needs at least 2 approved images (status done or reviewed); project {project.name!r} has {approved}",
                approved=approved,
            )
        job = jobs.job_start(project=project, user=request.user, kind=Job.Kind.TRAIN, task="workers.gpu.train", params=params,
                             total=params.get("epochs", 0))
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class EvaluateStartApi(APIView):
    @extend_schema(request=None, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int, version_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=UPLOADERS)
        version = selectors.model_version_get(project=project, version_id=version_id)
        job = jobs.job_start(project=project, user=request.user, kind=Job.Kind.EVALUATE, task="workers.gpu.evaluate",
                             params={"model_version": version.pk})
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
        if raw is not None and not raw.isdigit():
            raise ValidationFailed(f"after must be an image id, got {raw!r}")
        image, reason = next_image(project=project, after=int(raw) if raw is not None else None)
        if image is None:
            return Response({"image": None, "reason": "no unlabeled image left"})
        return Response({"image": s.ImageOut(image).data, "reason": reason})
