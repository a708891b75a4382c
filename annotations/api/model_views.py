"""Model versions, pre-label jobs and the box-to-mask assist. The work runs on the gpu queue;
these views only validate, enqueue and (for assist) wait for the warm worker's answer."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import jobs, selectors, services
from annotations.errors import Conflict, DomainError, ValidationFailed
from annotations.models import Job, ModelVersion

from . import serializers as s
from .views import EDITORS, OWNERS, UPLOADERS

ASSIST_TIMEOUT_S = 60


class ModelRegisterIn(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    checkpoint = serializers.FileField(required=False)
    torchvision = serializers.BooleanField(default=False)
    architecture = serializers.ChoiceField(choices=["maskrcnn", "fcn"], required=False)


class PrelabelIn(serializers.Serializer):
    model_version = serializers.IntegerField()
    images = serializers.JSONField(default="unlabeled", help_text='"all", "unlabeled" or a list of image ids')
    score_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)


class AssistIn(serializers.Serializer):
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, help_text="[x, y, w, h]")
    label_class = serializers.IntegerField(required=False, allow_null=True)
    model_version = serializers.IntegerField(required=False, allow_null=True)


class AssistOut(serializers.Serializer):
    mask = serializers.JSONField()
    area = serializers.IntegerField()
    model_version = serializers.IntegerField()
    model_ms = serializers.FloatField()
    latency_ms = serializers.FloatField()


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
        name = data.validated_data["name"]
        if ModelVersion.objects.filter(project=project, name=name).exists():
            raise ValidationFailed(f"project {project.name!r} already has a model version named {name!r}")
        params: dict = {"name": name}
        if data.validated_data["torchvision"]:
            if "architecture" not in data.validated_data:
                raise ValidationFailed("torchvision weights need an architecture: maskrcnn or fcn")
            params.update(torchvision=True, architecture=data.validated_data["architecture"])
        else:
            upload = data.validated_data.get("checkpoint")
            if upload is None:
                raise ValidationFailed("send a checkpoint file, or torchvision=true with an architecture")
            relative = f"uploads/models/{uuid.uuid4().hex}.pt"
            target = Path(settings.MEDIA_ROOT) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            params["upload"] = relative
        job = jobs.job_start(project=project, user=request.user, kind=Job.Kind.REGISTER_MODEL,
                             task="workers.gpu.register_model", params=params, total=1)
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)


class PrelabelStartApi(APIView):
    @extend_schema(request=PrelabelIn, responses={202: s.JobOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=UPLOADERS)
        data = PrelabelIn(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.model_version_get(project=project, version_id=data.validated_data["model_version"])
        which = data.validated_data["images"]
        if not (which in ("all", "unlabeled") or (isinstance(which, list) and all(isinstance(i, int) for i in which))):
            raise ValidationFailed('images must be "all", "unlabeled" or a list of image ids')
        job = jobs.job_start(
            project=project, user=request.user, kind=Job.Kind.PRELABEL, task="workers.gpu.prelabel",
            params={"model_version": version.pk, "images": which, "score_threshold": data.validated_data["score_threshold"]},
        )
        return Response(s.JobOut(job).data, status=status.HTTP_202_ACCEPTED)


def _run_assist(args: list) -> dict:
    from labeler.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        import workers.tasks  # noqa: F401

        return app.tasks["workers.gpu.assist"].apply(args=args).get()
    result = app.send_task("workers.gpu.assist", args=args)
    try:
        return result.get(timeout=ASSIST_TIMEOUT_S)
    except Exception as exc:
        result.forget()
        raise DomainError(f"no gpu worker answered within {ASSIST_TIMEOUT_S} s ({type(exc).__name__})") from None


class AssistApi(APIView):
    @extend_schema(request=AssistIn, responses={200: AssistOut, 503: s.ErrorOut})
    def post(self, request: Request, image_id: int) -> Response:
        started = time.perf_counter()
        image = selectors.image_get(user=request.user, image_id=image_id)
        services.require_role(project=image.project, user=request.user, roles=EDITORS)
        data = AssistIn(data=request.data)
        data.is_valid(raise_exception=True)
        versions = image.project.model_versions.order_by("-created_at", "-pk")
        version_id = data.validated_data.get("model_version")
        version = versions.filter(pk=version_id).first() if version_id else versions.first()
        if version is None:
            raise Conflict("no model version in this project yet: train or register one to use the assist tool")
        label_class = data.validated_data.get("label_class")
        answer = _run_assist([image.pk, data.validated_data["box"], label_class, version.pk])
        if "error" in answer:
            error = DomainError(answer["error"])
            error.status = answer.get("status", 400)
            raise error
        answer["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return Response(answer)
