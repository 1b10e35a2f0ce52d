"""One way to run a django-fsm-2 transition from a service."""

from django.db import models
from django_fsm import TransitionNotAllowed

from oms.core.exceptions import IllegalTransition


def apply_transition(instance: models.Model, name: str, *, label: str) -> None:
    """Call the transition method `name`; a refused move becomes IllegalTransition that
    names the record (`label`) and its unchanged status."""
    try:
        getattr(instance, name)()
    except TransitionNotAllowed:
        raise IllegalTransition(
            f"{label} cannot {name.replace('_', ' ')} "
            f"while {instance.get_status_display().lower()}.",
            status=instance.status,
        ) from None
