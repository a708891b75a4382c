"""One error shape for the whole API: {"message": str, "extra": {...}}.

Every answer under /api/ that is an error has it: refusals of the domain, DRF's own (validation,
authentication, 404), a body over the size limits (413), a number out of the database's range
(400), an unknown path (404, labeler/urls.py), the login lockout (429) and a crash (500, logged,
never a debug page).
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotations.errors import DomainError, first_message

log = logging.getLogger("django.request")

TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def error_body(message: str, **extra: object) -> dict:
    return {"message": message, "extra": extra}


def _challenge(request) -> str:
    """What a 401 names as the way in: Basic when the client tried it, else Token (a browser
    shows its own password dialog for Basic, which the editor's session-cookie calls must not)."""
    sent = request.META.get("HTTP_AUTHORIZATION", "") if request is not None else ""
    return 'Basic realm="api"' if sent.lower().startswith("basic ") else 'Token realm="api"'


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.message, **exc.extra), status=exc.status)
    if isinstance(exc, TOO_LARGE):
        return Response(error_body(f"the request is too large ({exc})"), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (OverflowError, DataError)):
        # Serializers bound the integer fields; this is the net under what they miss.
        return Response(error_body("a value is out of the range the database can store"), status=status.HTTP_400_BAD_REQUEST)
    request = context.get("request")
    if getattr(request, "axes_locked_out", False):
        # django-axes refused a login inside DRF (token endpoint, basic auth): it flags DRF's
        # request, which its middleware does not see.
        return _lockout(JsonResponse, request)
    response = drf_exception_handler(exc, context)
    if response is None:
        log.error("Internal Server Error: %s", getattr(request, "path", "?"), exc_info=exc)
        return Response(error_body("internal error; it has been logged"), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(first_message(exc.detail), fields=exc.detail)
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = error_body(first_message(detail))
    request = context["request"]
    if response.status_code == status.HTTP_403_FORBIDDEN and not request.user.is_authenticated:
        response.status_code = status.HTTP_401_UNAUTHORIZED
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = _challenge(request)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None) -> HttpResponse:
    """django-axes' answer once a user name has failed too often from one address."""
    return _lockout(JsonResponse if _is_api(request) else None, request)


def _lockout(json_class, request) -> HttpResponse:
    cooloff = timedelta(hours=settings.AXES_COOLOFF_TIME)
    message = f"too many failed logins; try again in {max(1, int(cooloff.total_seconds() // 60))} minutes"
    headers = {"Retry-After": str(int(cooloff.total_seconds()))}
    if json_class is not None:
        return json_class(error_body(message), status=429, headers=headers)
    return HttpResponse(f"<!doctype html><title>Locked out</title><p>{message}.</p>", status=429, headers=headers)


def _page_or_json(status_code: int, message: str):
    def handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        if _is_api(request):
            return JsonResponse(error_body(message), status=status_code)
        return HttpResponse(f"<!doctype html><title>{message}</title><h1>{message}</h1>", status=status_code)

    return handler


# Django's own error views (labeler/urls.py): what is not a DRF view still answers in the shape.
handler400 = _page_or_json(400, "bad request")
handler403 = _page_or_json(403, "forbidden")
handler404 = _page_or_json(404, "not found")
handler500 = _page_or_json(500, "internal error; it has been logged")


class BodySizeLimitMiddleware:
    """Refuse an API request whose declared body is over the limit before anything reads it:
    uploads (multipart) up to LABELER_MAX_UPLOAD_BYTES, any other body up to
    DATA_UPLOAD_MAX_MEMORY_SIZE (a JSON body is parsed in memory)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
            limit = settings.LABELER_MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if length > limit:
                return JsonResponse(
                    error_body(f"the request body is {length} bytes, over the limit of {limit} bytes", limit=limit),
                    status=413,
                )
        return self.get_response(request)
