"""`manage.py create_api_token`: a knox token, printed once as the last line of stdout,
stored only as a hash, with an expiry."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from knox.models import AuthToken
from knox.settings import CONSTANTS
from knox.signals import token_expired
from rest_framework.test import APIClient

from oms.core.roles import roles_setup
from oms.core.tasks import delete_expired_tokens
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


@pytest.fixture
def alice():
    roles_setup()
    return UserFactory(username="alice", roles=["Support"])


def create_token(*args: str) -> tuple[str, str]:
    """Run the command; return (token, everything it wrote to stdout)."""
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert lines, "nothing printed on stdout"
    return lines[-1].strip(), out.getvalue()


def test_prints_the_token_as_the_last_line_and_it_authenticates(alice):
    ProductFactory(sku="WIDGET-RED")
    token, _ = create_token("alice", "--expiry-days", "7")

    assert len(token) == 64
    client = APIClient()
    response = client.get(PRODUCTS, headers={"authorization": f"Token {token}"})

    assert response.status_code == 200
    assert [p["sku"] for p in response.json()["results"]] == ["WIDGET-RED"]


def test_the_token_belongs_to_the_user(alice):
    token, _ = create_token("alice")

    stored = AuthToken.objects.get()
    assert stored.user == alice
    assert token.startswith(stored.token_key)


def test_expiry_days_sets_the_expiry(alice):
    before = timezone.now()
    create_token("alice", "--expiry-days", "7")
    after = timezone.now()

    expiry = AuthToken.objects.get().expiry
    assert before + datetime.timedelta(days=7) <= expiry <= after + datetime.timedelta(days=7)


def test_default_expiry_is_ninety_days(alice):
    create_token("alice")

    left = AuthToken.objects.get().expiry - timezone.now()
    assert datetime.timedelta(days=89, hours=23) < left <= datetime.timedelta(days=90)


def test_default_expiry_follows_the_configured_token_ttl(alice, settings):
    # API_TOKEN_TTL_DAYS sets REST_KNOX's TOKEN_TTL; the command must not hard-code 90.
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": datetime.timedelta(days=30)}

    create_token("alice")

    left = AuthToken.objects.get().expiry - timezone.now()
    assert datetime.timedelta(days=29, hours=23) < left <= datetime.timedelta(days=30)


def test_stdout_is_the_token_alone(alice):
    token, out = create_token("alice")

    assert out.strip() == token


def test_zero_expiry_days_gives_a_token_that_never_expires(alice):
    token, _ = create_token("alice", "--expiry-days", "0")

    assert AuthToken.objects.get().expiry is None
    response = APIClient().get(PRODUCTS, headers={"authorization": f"Token {token}"})
    assert response.status_code == 200


def test_negative_expiry_days_is_refused(alice):
    with pytest.raises(CommandError, match="expiry-days"):
        call_command("create_api_token", "alice", "--expiry-days", "-1", stdout=StringIO())
    assert not AuthToken.objects.exists()


def test_unknown_user_is_a_command_error_naming_the_user():
    with pytest.raises(CommandError, match="bob"):
        call_command("create_api_token", "bob", stdout=StringIO(), stderr=StringIO())
    assert not AuthToken.objects.exists()


def test_inactive_user_gets_no_token():
    UserFactory(username="carol", is_active=False)

    with pytest.raises(CommandError, match="carol"):
        call_command("create_api_token", "carol", stdout=StringIO(), stderr=StringIO())
    assert not AuthToken.objects.exists()


def test_only_a_hash_is_stored(alice):
    token, _ = create_token("alice")

    stored = AuthToken.objects.get()
    assert stored.token_key == token[: len(stored.token_key)]
    assert len(stored.token_key) < len(token)
    assert token not in stored.digest
    assert stored.digest != token
    for row in AuthToken.objects.values():
        assert token not in {str(value) for value in row.values()}


def test_each_run_makes_a_new_token(alice):
    first, _ = create_token("alice")
    second, _ = create_token("alice")

    assert first != second
    assert AuthToken.objects.count() == 2


def test_an_expired_token_is_refused(alice):
    token, _ = create_token("alice", "--expiry-days", "1")
    AuthToken.objects.update(expiry=timezone.now() - datetime.timedelta(seconds=1))

    response = APIClient().get(PRODUCTS, headers={"authorization": f"Token {token}"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused(alice):
    token, _ = create_token("alice")
    wrong = token[:-4] + ("0000" if not token.endswith("0000") else "1111")

    response = APIClient().get(PRODUCTS, headers={"authorization": f"Token {wrong}"})

    assert response.status_code == 401


def key(token: str) -> str:
    return token[: CONSTANTS.TOKEN_KEY_LENGTH]


def test_a_request_does_not_read_the_users_other_tokens(alice):
    # knox's own class reads every other token of the user on each request (its sweep).
    token, _ = create_token("alice")
    for _ in range(3):
        create_token("alice")
    client = APIClient()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(PRODUCTS, headers={"authorization": f"Token {token}"})

    assert response.status_code == 200
    token_reads = [q["sql"] for q in queries if "knox_authtoken" in q["sql"]]
    # Only rows of the token's own key (knox reads all the user's tokens as well).
    assert token_reads and all("token_key" in sql.split(" WHERE ")[-1] for sql in token_reads)
    if connection.vendor == "postgresql":  # the token and its user in one statement
        assert len(token_reads) == 1 and "auth_user" in token_reads[0]


def test_an_expired_token_is_deleted_when_used(alice):
    token, _ = create_token("alice", "--expiry-days", "1")
    other, _ = create_token("alice")
    AuthToken.objects.filter(token_key=key(token)).update(
        expiry=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = APIClient().get(PRODUCTS, headers={"authorization": f"Token {token}"})

    assert response.status_code == 401
    assert list(AuthToken.objects.values_list("token_key", flat=True)) == [key(other)]


def test_the_sweep_deletes_expired_tokens_only(alice):
    bob = UserFactory(username="bob")
    kept_forever, _ = create_token("alice", "--expiry-days", "0")
    kept, _ = create_token("bob", "--expiry-days", "1")
    for username in ("alice", "bob"):
        create_token(username, "--expiry-days", "1")
    AuthToken.objects.exclude(token_key__in=[key(kept_forever), key(kept)]).update(
        expiry=timezone.now() - datetime.timedelta(seconds=1)
    )
    told = []

    def receiver(sender, username, **kwargs):
        told.append(username)

    token_expired.connect(receiver)
    try:
        assert delete_expired_tokens.delay().get() == 2
    finally:
        token_expired.disconnect(receiver)

    assert set(AuthToken.objects.values_list("token_key", flat=True)) == {
        key(kept_forever),
        key(kept),
    }
    assert sorted(told) == ["alice", "bob"]
    assert bob.auth_token_set.count() == 1


def test_migrate_schedules_the_sweep_hourly():
    task = PeriodicTask.objects.select_related("crontab").get(name="Delete expired API tokens")

    assert task.task == "oms.core.tasks.delete_expired_tokens"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("17", "*")


def test_the_schema_still_names_the_token_scheme(alice):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_authenticate(admin)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    scheme = schema["components"]["securitySchemes"]["knoxApiToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "Token" in scheme["description"]
