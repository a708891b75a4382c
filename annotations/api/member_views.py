"""Project members: owners invite people by user name with a role, change members' roles and
remove them; the invited person accepts the invitation (nobody is added without consenting, and
the answer never says whether a user name exists)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
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


class InvitationOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    token = serializers.CharField(help_text="give it to the person; they accept it at /api/invitations/accept/ while logged in")
    expires_at = serializers.DateTimeField()


class InvitationAcceptIn(serializers.Serializer):
    token = serializers.CharField(max_length=2000)


class MemberListApi(APIView):
    @extend_schema(responses=MemberOut(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(MemberOut(project.memberships.select_related("user").order_by("user__username"), many=True).data)

    @extend_schema(request=MemberIn, responses={200: MemberOut, 202: InvitationOut})
    def post(self, request: Request, project_id: int) -> Response:
        """A member's role changes at once (200); anyone else gets an invitation (202), whether or
        not the user name exists."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        data = MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        username, role = data.validated_data["username"], data.validated_data["role"]
        member = project.memberships.filter(user__username=username).select_related("user").first()
        if member is not None:
            return Response(MemberOut(services.membership_set(project=project, user=member.user, role=role)).data)
        invitation = services.membership_invite(project=project, username=username, role=role, inviter=request.user)
        return Response(InvitationOut(invitation).data, status=status.HTTP_202_ACCEPTED)


class InvitationAcceptApi(APIView):
    @extend_schema(request=InvitationAcceptIn, responses={201: MemberOut})
    def post(self, request: Request) -> Response:
        data = InvitationAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_accept(token=data.validated_data["token"], user=request.user)
        return Response(MemberOut(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, username: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        services.require_role(project=project, user=request.user, roles=OWNERS)
        services.membership_remove(project=project, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
