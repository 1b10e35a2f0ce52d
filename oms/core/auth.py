"""API token authentication: knox's, without its per-request sweep, cheaper to run.

On every request knox reads all the user's other tokens and deletes the expired ones: a
query and a loop per request on an integration that posts hundreds of orders a second
(bench/bench_orders.py). Here a request checks its own token only (an expired one is
refused and deleted, as in knox); `oms.core.tasks.delete_expired_tokens` deletes the
others, hourly (migration core 0003).
"""

import binascii
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

from oms.core import fastsql


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's check, with the tokens of the key and their users read in one round
        trip through fastsql: the ORM's building of knox's query was a sixth of a POST's
        CPU."""
        token = token.decode("utf-8")
        key = token[: CONSTANTS.TOKEN_KEY_LENGTH]
        model = get_token_model()
        tokens, users = fastsql.select_many(
            [
                (model, "token_key = %s", [key]),
                (
                    get_user_model(),
                    f"id IN (SELECT user_id FROM {model._meta.db_table} WHERE token_key = %s)",
                    [key],
                ),
            ]
        )
        users = {user.pk: user for user in users}
        for auth_token in tokens:
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                break
            if not compare_digest(digest, auth_token.digest) or auth_token.user_id not in users:
                continue
            auth_token.user = users[auth_token.user_id]
            if self._cleanup_token(auth_token):
                break
            if knox_settings.AUTO_REFRESH and auth_token.expiry:
                self.renew_token(auth_token)
            return self.validate_user(auth_token)
        raise AuthenticationFailed(_("Invalid token."))

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
