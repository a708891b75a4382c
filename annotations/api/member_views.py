"""Project members: owners add people by user name with a role, change roles and remove them."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
from annotations.errors import NotFound
from annotations.models import Membership

from .views import OWNERS


class MemberIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.ANNOTATOR)


class MemberOut(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role"]


class MemberListApi(APIView):
    @extend_schema(responses=MemberOut(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(MemberOut(project.memberships.select_related("user").order_by("user__username"), many=True).data)

    @extend_schema(request=MemberIn, responses={201: MemberOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        data = MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise NotFound(f"no user named {data.validated_data['username']!r}")
        membership = services.membership_set(project=project, user=user, role=data.validated_data["role"])
        return Response(MemberOut(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, username: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        services.membership_remove(project=project, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
