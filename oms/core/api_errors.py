"""The API's error format (../shared/API.md): 400 {"field": ["message"]}, 409 for a
refused transition {"detail", "status"}, DRF's own answers for the rest."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from oms.core.exceptions import DomainError, ValidationFailed


def exception_handler(exc, context):
    """DRF's handler, plus domain errors: validation -> 400 {"field": [...]},
    a refused transition or conflict -> 409 {"detail", "status", ...}."""
    if isinstance(exc, ValidationFailed):
        return Response(exc.errors, status=400)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
