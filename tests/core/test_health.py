"""/health/: 200 when the database and the broker answer, 503 (not the library's 500)
when either does not, never cached."""

import socket

import pytest
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable

from oms.core.health import Broker

pytestmark = pytest.mark.django_db

URL = "/health/?format=json"


def _closed_port() -> int:
    """A local TCP port nothing listens on: bind, read the port, close."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _by_check(body: dict) -> dict:
    """{"Database": ..., "Broker": ...}: the library keys results by each check's repr."""
    return {key.split("(", 1)[0]: value for key, value in body.items()}


def test_healthy_without_a_broker(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert _by_check(response.json()) == {"Database": "OK", "Broker": "OK"}


def test_never_cached(client):
    response = client.get(URL)

    cache_control = response["Cache-Control"]
    assert "no-cache" in cache_control
    assert "no-store" in cache_control
    assert "max-age=0" in cache_control


def test_html_and_text_answers(client):
    assert client.get("/health/", headers={"accept": "text/html"}).status_code == 200
    text = client.get("/health/?format=text")
    assert text.status_code == 200
    assert "Database(alias='default'): OK" in text.content.decode()


def test_database_failure_is_503(client, monkeypatch):
    def down(self):
        raise ServiceUnavailable("connection refused")

    monkeypatch.setattr(Database, "run", down)

    response = client.get(URL)

    assert response.status_code == 503
    body = _by_check(response.json())
    assert body["Database"] == "Unavailable: connection refused"
    assert body["Broker"] == "OK"
    assert "no-cache" in response["Cache-Control"]


def test_database_error_from_the_driver_is_503(client, monkeypatch):
    """A real driver error (not a hand-raised ServiceUnavailable) is mapped too: the
    library's check turns django.db.Error into ServiceUnavailable."""
    from django.db import OperationalError, connections

    class BrokenConnection:
        ops = connections["default"].ops

        def temporary_connection(self):
            raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(
        "health_check.checks.connections", {"default": BrokenConnection()}, raising=True
    )

    response = client.get(URL)

    assert response.status_code == 503
    assert _by_check(response.json())["Database"].startswith("Unavailable: could not connect")


def test_unreachable_broker_is_503_and_named(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get(URL)

    assert response.status_code == 503
    body = _by_check(response.json())
    assert body["Database"] == "OK"
    assert body["Broker"].startswith("Unavailable: Broker unreachable")
    # The broker's address (and any password in it) is not published.
    assert "127.0.0.1" not in response.content.decode()


def test_unreachable_broker_in_the_html_page(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/health/", headers={"accept": "text/html"})

    assert response.status_code == 503
    assert "Broker unreachable" in response.content.decode()


def test_broker_check_connects_to_the_configured_url(settings, monkeypatch):
    """The check must probe CELERY_BROKER_URL as it is now, not whatever the Celery app
    read when it was first configured."""
    from oms.celery import app

    seen = []
    real = app.connection_for_write

    def spy(url=None, **kwargs):
        connection = real(url=url, **kwargs)
        seen.append((connection.transport_cls, connection.hostname, connection.port))
        raise ConnectionRefusedError("stop here")

    assert not app.conf.broker_url  # the app is configured already, without a broker
    monkeypatch.setattr(app, "connection_for_write", spy)
    port = _closed_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"

    with pytest.raises(ServiceUnavailable):
        Broker().run()

    assert seen == [("redis", "127.0.0.1", port)]
