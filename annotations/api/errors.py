"""One error shape for the whole API: {"message": str, "extra": {...}}."""
from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotations.errors import DomainError, first_message


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": first_message(exc.detail), "extra": {"fields": exc.detail}}
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = {"message": first_message(detail), "extra": {}}
    if response.status_code == status.HTTP_403_FORBIDDEN and not context["request"].user.is_authenticated:
        response.status_code = status.HTTP_401_UNAUTHORIZED
    return response
