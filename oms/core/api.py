"""The API's shared parts: permissions by group and pagination. (The error format is in
api_errors.py: DRF imports this module while rest_framework.views is still loading.)"""

from django.conf import settings
from rest_framework import pagination, permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with reads requiring `view_<model>` too: a user's
    groups (DESIGN.md section 9) decide what the API shows as well as what it changes."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class Pagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default API_PAGE_SIZE; a larger request is cut to 500)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def __init__(self) -> None:
        self.page_size = settings.API_PAGE_SIZE

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}, at most {self.max_page_size})."
                )
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters
