"""What every inventory admin shares: domain errors shown as messages, transition buttons
that call services, saves that write only what the form changed, and the look of the
custom pages (they extend unfold's "admin/base_site.html")."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin

from inventory.forecast import demand_forecast
from oms.core.exceptions import DomainError, ValidationFailed

STATUS_LABELS = {
    # draft / open work, in flight, done, stopped
    "draft": "info",
    "open": "info",
    "ordered": "warning",
    "partially_received": "warning",
    "in_transit": "warning",
    "active": "warning",
    "received": "success",
    "posted": "success",
    "consumed": "success",
    "cancelled": "danger",
    "released": "danger",
}


def requires(permission: str):
    """A `has_<name>_permission` method for unfold's @action(permissions=["<name>"]).

    Dotted names in @action(permissions=...) are checked against the database by unfold's
    system check, which breaks `migrate` on a fresh database; methods are not."""

    def check(self, request: HttpRequest, object_id=None) -> bool:
        return request.user.has_perm(permission)

    check.__doc__ = f"Whether the user has {permission}."
    return check


def forecasts_for(levels: list) -> dict:
    """The demand forecast per stock level id ({} for no levels)."""
    return demand_forecast(stock_levels=levels) if levels else {}


def _flatten(errors: Any, where: str = "") -> Iterator[str]:
    """ValidationFailed.errors as readable lines: `{"lines": [{}, {"quantity": ["..."]}]}`
    becomes "line 2, quantity: ..."."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            label = str(key).replace("_", " ")
            yield from _flatten(value, f"{where}, {label}" if where else label)
    elif isinstance(errors, list | tuple):
        if all(isinstance(item, str) for item in errors):
            if errors:
                yield f"{where}: {' '.join(errors)}" if where else " ".join(errors)
            return
        stem = where[:-1] if where.endswith("lines") else where
        for number, item in enumerate(errors, 1):
            yield from _flatten(item, f"{stem} {number}".strip() if stem else f"line {number}")
    elif errors:
        yield f"{where}: {errors}" if where else str(errors)


def describe(error: DomainError) -> str:
    """One sentence for an admin message: the service's message plus what it names."""
    if isinstance(error, ValidationFailed):
        return "; ".join(_flatten(error.errors)) or error.message
    lines = error.data.get("lines")
    if isinstance(lines, list) and any(isinstance(line, dict) for line in lines):
        return " ".join([error.message, *_flatten(lines)])
    return error.message  # e.g. count_post lists its lines in the message already


def call_service(request: HttpRequest, call: Callable[[], Any], success: Callable[[Any], str]):
    """Run one service call. A DomainError becomes an error message (the service changed
    nothing); success becomes a success message. Returns (ok, result)."""
    try:
        result = call()
    except DomainError as error:
        messages.error(request, describe(error))
        return False, error
    messages.success(request, success(result))
    return True, result


def change_url(obj: models.Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def done(request: HttpRequest, url: str) -> HttpResponse:
    """After a dialog action: HTMX follows HX-Redirect; a plain POST gets a redirect."""
    if request.headers.get("HX-Request"):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


class ServiceModelAdmin(ModelAdmin):
    """Base for inventory admins whose records move through services.

    - `transition_statuses` maps a detail-action name to the statuses in which its button
      is shown (the service still decides; a stale page gets the service's message).
    - A DomainError escaping a save (a record that went through a service on create) is
      rolled back with the rest of the request and shown as a message.
    - `open_after_add`: a document made on the add page opens at once (to place it,
      dispatch it, count it).
    - Changes save only the fields the form changed, so a form never writes back a status
      or a quantity that a service changed in the meantime.
    """

    transition_statuses: dict[str, Iterable[str]] = {}
    status_field = "status"
    open_after_add = False  # after Save on the add page, show the new record

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        plain_save = not {"_addanother", "_continue", "_popup"} & set(request.POST)
        if self.open_after_add and plain_save and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(change_url(obj))
        return response

    def get_actions_detail(self, request: HttpRequest, object_id) -> list:
        actions = super().get_actions_detail(request, object_id)
        if not self.transition_statuses:
            return actions
        status = (
            self.model._default_manager.filter(pk=object_id)
            .values_list(self.status_field, flat=True)
            .first()
        )
        prefix = f"{self.opts.app_label}_{self.opts.model_name}_"
        return [
            action
            for action in actions
            if status in self.transition_statuses.get(action.action_name.removeprefix(prefix), ())
            or action.action_name.removeprefix(prefix) not in self.transition_statuses
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            # Raised inside Django's atomic block: everything this request wrote is undone.
            messages.error(request, describe(error))
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        names = {field.name for field in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in names]
        if changed:
            if "updated_at" in names:
                changed.append("updated_at")
            obj.save(update_fields=changed)

    # -- helpers for the views behind detail actions ------------------------------------

    def get_object_or_404(self, request: HttpRequest, object_id) -> models.Model:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id}.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def run_on_object(self, request: HttpRequest, object_id, call, success) -> HttpResponse:
        """The view behind a detail button: load the object, call a service on it (a
        refusal becomes an error message), and go back to its page."""
        obj = self.get_object_or_404(request, object_id)
        call_service(request, lambda: call(obj), success)
        return done(request, change_url(obj))

    def render_page(
        self,
        request: HttpRequest,
        template: str,
        *,
        title: str,
        obj: models.Model | None = None,
        form: Form | None = None,
        **context: Any,
    ) -> TemplateResponse:
        """A custom page inside the console: the site's sidebar and header, this model's
        breadcrumbs, `title` as the page heading."""
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "title": title,
                "subtitle": str(obj) if obj is not None else None,
                "opts": self.opts,
                "original": obj,
                "object_url": change_url(obj) if obj is not None else None,
                "changelist_url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"
                ),
                "form": form,
                "media": self.media + form.media if form is not None else self.media,
                **context,
            },
        )
