"""The OpenAPI schema's shared parts: the one error shape on every operation, paginated lists
from plain APIViews, and the token endpoint's real request and answer.

`LabelerAutoSchema` is REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"], so a view's `@extend_schema` names
only its success answer; the errors every operation can give (annotations/api/errors.py turns
each into `{"message", "extra"}`) are added here, in one place, from what the view is.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import append_meta, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.permissions import AllowAny

from .serializers import ErrorOut

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}

ERROR_DESCRIPTIONS = {
    400: "The request is invalid: `extra.fields` maps each refused field to its errors, or `message` names the problem.",
    401: "Not authenticated, or the credentials (session, token, basic) are wrong.",
    403: "Authenticated, but the user's role in the project does not allow this (or the CSRF check failed).",
    404: "No such object in the user's projects (or an invalid page).",
    409: "Conflicts with the current state: a stale document version, a job that already ended, no model yet.",
    413: "The request body or an upload is too large.",
    415: "The request body is not in one of the documented media types, or cannot be parsed as one.",
    429: "Too many requests; retry after the time in `Retry-After`.",
    503: "The task queue or a worker did not answer in time; nothing was started.",
}


def paginated(serializer_class: type[serializers.Serializer], pagination_class: type[BasePagination]) -> serializers.ListSerializer:
    """`responses=` for a plain APIView that pages its list with `pagination_class`: the schema
    then shows the page envelope (count, next, previous, results) and the page parameters,
    as drf-spectacular does for generic views that declare `pagination_class`."""
    listed = serializer_class(many=True)
    listed._labeler_pagination_class = pagination_class
    return listed


class LabelerAutoSchema(AutoSchema):
    def _get_paginator(self) -> BasePagination | None:
        paginator = super()._get_paginator()
        if paginator is not None:
            return paginator
        responses = self.get_response_serializers()
        candidates = responses.values() if isinstance(responses, dict) else [responses]
        for candidate in candidates:
            pagination_class = getattr(candidate, "_labeler_pagination_class", None)
            if pagination_class is not None:
                return pagination_class()
        return None

    def _map_serializer_field(self, field: serializers.Field, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        # An upload is a file part of a multipart body, not a URL (drf-spectacular says binary
        # only with COMPONENT_SPLIT_REQUEST, which would rename every input component).
        if direction == "request" and isinstance(field, serializers.FileField):
            return append_meta(build_basic_type(OpenApiTypes.BINARY), self._get_serializer_field_meta(field, direction))
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        # Say what the URL converters match: <int:> only digits, <str:> anything but "/"; other
        # values never reach the view (Django answers its own 404 page).
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("type") == "integer":
                schema.setdefault("minimum", 0)
            elif schema.get("type") == "string" and "pattern" not in schema and "format" not in schema:
                schema["pattern"] = "^[^/]+$"
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_statuses(responses)):
            key = str(code)
            if key not in responses:
                responses[key] = self._get_response_for_code(ErrorOut, key, direction=direction)
            if not responses[key].get("description"):
                responses[key]["description"] = ERROR_DESCRIPTIONS[code]
        return dict(sorted(responses.items()))

    def _error_statuses(self, responses: dict[str, Any]) -> set[int]:
        """The error statuses this operation can answer, from what the view is: every view can
        refuse input (400) and credentials (401) and fail a CSRF or role check (403); views that
        need a login also scope objects to the user's projects (404); writes can conflict (409),
        be too large (413) or have a body the parsers refuse (415); a locked-out login answers 429; starting a Job (202) needs the broker
        (503). A view's own `@extend_schema(responses={...})` may add more (e.g. 503 for assist)."""
        public = all(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        codes = {400, 401, 403}
        if not public:
            codes.add(404)
        if self.method in UNSAFE_METHODS:
            codes.add(413)
            if not public:
                codes.add(409)
            if self.method in BODY_METHODS and self.get_request_serializer() is not None:
                codes.add(415)
        # Every operation: a login locked out after failed passwords (basic auth included) is 429.
        codes.add(429)
        if "202" in responses:
            codes.add(503)
        return codes


class TokenIn(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenOut(serializers.Serializer):
    token = serializers.CharField(help_text='send as the header "Authorization: Token <token>"')


class ObtainAuthTokenSchema(OpenApiViewExtension):
    """DRF's token view documents one serializer for both ways; the answer is only `{"token"}`."""

    target_class = "rest_framework.authtoken.views.ObtainAuthToken"
    match_subclasses = True
    priority = 1  # over drf-spectacular's own contrib extension for this view

    def view_replacement(self):
        class Fixed(self.target):
            @extend_schema(request=TokenIn, responses=OpenApiResponse(TokenOut, description="the user's API token"))
            def post(self, request, *args, **kwargs):
                return super().post(request, *args, **kwargs)

        return Fixed
