"""API token authentication: knox's, without its per-request sweep.

On every request knox reads all the user's other tokens and deletes the expired ones: a
query and a loop per request on an integration that posts hundreds of orders a second
(bench/bench_orders.py). Here a request checks its own token only (an expired one is
refused and deleted, as in knox); `oms.core.tasks.delete_expired_tokens` deletes the
others, hourly (migration core 0003).
"""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import get_token_model
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=type(self), username=username, source="auth_token")
        return True


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI schema describes this class as knox's (drf-spectacular matches exact
    classes)."""

    target_class = "oms.core.auth.TokenAuthentication"


def expired_tokens_delete() -> int:
    """Delete every expired API token; how many went."""
    expired = get_token_model().objects.filter(expiry__lt=timezone.now())
    usernames = list(expired.values_list("user__username", flat=True))
    expired.delete()
    for username in usernames:
        token_expired.send(sender=TokenAuthentication, username=username, source="other_token")
    return len(usernames)
