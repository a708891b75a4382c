"""The team's workflow in the API: edit a label class, act on many images at once (assign, set
status, delete), and a reviewer's accept / reject. Each handler parses, calls one service, answers;
who may do what is decided in services (require_role, image_status_check) and selectors
(image_visibility)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
from annotations.errors import NotFound, ValidationFailed
from annotations.models import Image, LabelClass

from . import serializers as s
from .views import ANY_ROLE, OWNERS


class LabelClassPatchIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=LabelClass.Kind.choices, required=False)
    color = serializers.CharField(max_length=7, required=False)
    hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True)
    order = serializers.IntegerField(required=False, min_value=0, max_value=s.INT_MAX)


class LabelClassDeletedOut(serializers.Serializer):
    annotations_deleted = serializers.IntegerField()


def _label_class(request: Request, project_id: int, class_id: int):
    project = selectors.project_get(user=request.user, project_id=project_id)
    label_class = selectors.label_class_list(project=project).filter(pk=class_id).first()
    if label_class is None:
        raise NotFound(f"label class {class_id} is not in project {project.name!r}")
    services.require_role(project=project, user=request.user, roles=OWNERS)
    return label_class


class LabelClassDetailApi(APIView):
    @extend_schema(request=LabelClassPatchIn, responses=s.LabelClassOut)
    def patch(self, request: Request, project_id: int, class_id: int) -> Response:
        label_class = _label_class(request, project_id, class_id)
        data = LabelClassPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(s.LabelClassOut(services.label_class_update(label_class=label_class, **data.validated_data)).data)

    @extend_schema(
        parameters=[OpenApiParameter("confirm", bool, description="also delete the annotations that use the class")],
        responses={200: LabelClassDeletedOut, 409: s.ErrorOut},
    )
    def delete(self, request: Request, project_id: int, class_id: int) -> Response:
        label_class = _label_class(request, project_id, class_id)
        confirm = request.query_params.get("confirm", "").lower() in ("1", "true", "yes")
        return Response({"annotations_deleted": services.label_class_delete(label_class=label_class, confirm=confirm)})


class ImageBulkIn(serializers.Serializer):
    images = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=s.INT_MAX), max_length=10_000)
    action = serializers.ChoiceField(choices=["assign", "status", "delete"])
    assignee = serializers.CharField(max_length=150, required=False, allow_blank=True, allow_null=True,
                                     help_text="assign: a member's user name; empty or null unassigns")
    status = serializers.ChoiceField(choices=Image.Status.choices, required=False, help_text="status: the new status")


class ImageBulkOut(serializers.Serializer):
    changed = serializers.IntegerField(help_text="images assigned, moved or deleted")


class ImageBulkApi(APIView):
    @extend_schema(request=ImageBulkIn, responses=ImageBulkOut)
    def post(self, request: Request, project_id: int) -> Response:
        """Assign (owners), set the status of (along the review flow) or delete (owners) many images; all or nothing."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        data = ImageBulkIn(data=request.data)
        data.is_valid(raise_exception=True)
        ids, action = data.validated_data["images"], data.validated_data["action"]
        if action == "status":
            services.require_role(project=project, user=request.user, roles=ANY_ROLE)
            if "status" not in data.validated_data:
                raise ValidationFailed("status: say which status to set")
            selectors.images_visible_check(user=request.user, project=project, image_ids=ids)
            changed = services.images_status_set(project=project, image_ids=ids, status=data.validated_data["status"], user=request.user)
        else:
            services.require_role(project=project, user=request.user, roles=OWNERS)
            if action == "assign":
                changed = services.images_assign(project=project, image_ids=ids, username=data.validated_data.get("assignee") or None)
            else:
                changed = services.images_delete(project=project, image_ids=ids)
        return Response({"changed": changed})


class ImageReviewIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                    help_text="what to fix; required to reject")


class ImageReviewApi(APIView):
    @extend_schema(request=ImageReviewIn, responses=s.ImageOut)
    def post(self, request: Request, image_id: int) -> Response:
        """A reviewer accepts a done image (reviewed) or rejects it with a comment (back to in_progress, to its annotator)."""
        image = selectors.image_get(user=request.user, image_id=image_id)
        data = ImageReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        image = services.image_review(image=image, user=request.user, accept=data.validated_data["decision"] == "accept",
                                      comment=data.validated_data["comment"])
        return Response(s.ImageOut(image).data, status=status.HTTP_200_OK)
