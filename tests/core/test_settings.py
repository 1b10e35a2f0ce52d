"""oms/settings.py reads its configuration from the environment (django-environ).

Each case imports the settings in a fresh interpreter with a controlled environment and
OMS_ENV_FILE pointing at an empty file, so neither the developer's .env nor the test
process's own settings leak in.
"""

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)

# Prints the settings a case looks at, as JSON, on the last line of stdout.
_DUMP = """
import json
from django.conf import settings
from django.db.backends.postgresql.psycopg_any import is_psycopg3
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "DB_ENGINE": db["ENGINE"],
    "DB_NAME": str(db["NAME"]),
    "DB_USER": db.get("USER", ""),
    "DB_PASSWORD": db.get("PASSWORD", ""),
    "DB_HOST": db.get("HOST", ""),
    "DB_PORT": db.get("PORT", ""),
    "PSYCOPG3": is_psycopg3,
    "DB_OPTIONS": db.get("OPTIONS", {}),
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "EMAIL_HOST": settings.EMAIL_HOST,
    "EMAIL_PORT": settings.EMAIL_PORT,
    "EMAIL_HOST_USER": settings.EMAIL_HOST_USER,
    "EMAIL_HOST_PASSWORD": settings.EMAIL_HOST_PASSWORD,
    "EMAIL_USE_TLS": settings.EMAIL_USE_TLS,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "TIME_ZONE": settings.TIME_ZONE,
    "CELERY_TIMEZONE": settings.CELERY_TIMEZONE,
    "SECRET_KEY": settings.SECRET_KEY,
}))
"""


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(60))


@pytest.fixture
def run(tmp_path):
    """Run Python (or manage.py) in a fresh process beside manage.py with exactly the
    given variables, plus an empty env file so the repository's .env is not read."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")

    def _run(variables: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OMS_ENV_FILE": str(env_file),
            "DJANGO_SETTINGS_MODULE": "oms.settings",
            **variables,
        }
        return subprocess.run(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return _run


@pytest.fixture
def load(run):
    """The settings a process started with `variables` ends up with."""

    def _load(**variables: str) -> dict:
        result = run(variables, "-c", "import django; django.setup()\n" + _DUMP)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    return _load


def test_the_developer_env_file_is_not_read(load):
    # Without DEBUG (from .env or anywhere) the fixture's process would refuse to start.
    assert load(DEBUG="true")["DEBUG"] is True
    assert load(DEBUG="false", SECRET_KEY=_secret_key())["DEBUG"] is False


def test_env_file_named_by_oms_env_file_is_read_and_the_process_environment_wins(run, tmp_path):
    env_file = tmp_path / "oms.env"
    env_file.write_text("DEBUG=true\nTIME_ZONE=Europe/Lisbon\nALLOWED_HOSTS=from-file.example\n")
    result = run(
        {"OMS_ENV_FILE": str(env_file), "TIME_ZONE": "Asia/Tokyo"},
        "-c",
        "import django; django.setup()\n" + _DUMP,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["DEBUG"] is True
    assert loaded["ALLOWED_HOSTS"] == ["from-file.example"]
    assert loaded["TIME_ZONE"] == "Asia/Tokyo"


def test_database_defaults_to_a_sqlite_file_beside_manage_py(load):
    loaded = load(DEBUG="true")
    assert loaded["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert Path(loaded["DB_NAME"]) == BASE_DIR / "db.sqlite3"
    assert (BASE_DIR / "manage.py").is_file()


def test_postgres_database_url_uses_the_psycopg_backend(load):
    loaded = load(DEBUG="true", DATABASE_URL="postgres://oms:s3cret@db.example.com:5433/oms_prod")
    assert loaded["DB_ENGINE"] == "django.db.backends.postgresql"
    assert loaded["PSYCOPG3"] is True
    assert loaded["DB_NAME"] == "oms_prod"
    assert loaded["DB_USER"] == "oms"
    assert loaded["DB_PASSWORD"] == "s3cret"
    assert loaded["DB_HOST"] == "db.example.com"
    assert loaded["DB_PORT"] == 5433


def test_postgres_prepares_statements_unless_turned_off(load):
    url = "postgres://oms@db.example.com:5432/oms"
    assert load(DEBUG="true", DATABASE_URL=url)["DB_OPTIONS"]["prepare_threshold"] == 5
    off = load(DEBUG="true", DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="0")
    assert off["DB_OPTIONS"]["prepare_threshold"] is None  # Django's default: never
    assert "prepare_threshold" not in load(DEBUG="true")["DB_OPTIONS"]  # SQLite


def test_without_a_broker_tasks_run_eagerly(load):
    loaded = load(DEBUG="true")
    assert loaded["CELERY_BROKER_URL"] == ""
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is True


def test_with_a_broker_tasks_go_to_the_worker(load):
    loaded = load(DEBUG="true", CELERY_BROKER_URL="redis://redis.internal:6379/0")
    assert loaded["CELERY_BROKER_URL"] == "redis://redis.internal:6379/0"
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False


def test_email_defaults_to_the_console(load):
    assert load(DEBUG="true")["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_smtp_email_url_is_parsed(load):
    loaded = load(DEBUG="true", EMAIL_URL="smtp+tls://mailer:p%40ss@smtp.example.com:587")
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert loaded["EMAIL_HOST"] == "smtp.example.com"
    assert loaded["EMAIL_PORT"] == 587
    assert loaded["EMAIL_HOST_USER"] == "mailer"
    assert loaded["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert loaded["EMAIL_USE_TLS"] is True


def test_without_debug_a_missing_secret_key_refuses_to_start(run):
    result = run({"DEBUG": "false"}, "-c", "import django; django.setup()")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_without_secret_key_uses_a_development_key(load):
    assert load(DEBUG="true")["SECRET_KEY"].startswith("django-insecure-")


def test_a_given_secret_key_is_used(load):
    key = _secret_key()
    assert load(DEBUG="false", SECRET_KEY=key)["SECRET_KEY"] == key


def test_allowed_hosts_is_a_comma_separated_list(load):
    loaded = load(DEBUG="false", SECRET_KEY=_secret_key(), ALLOWED_HOSTS="oms.example.com,.corp")
    assert loaded["ALLOWED_HOSTS"] == ["oms.example.com", ".corp"]


def test_allowed_hosts_defaults(load):
    assert load(DEBUG="true")["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    # A server must name its hosts: nothing is allowed by default.
    assert load(DEBUG="false", SECRET_KEY=_secret_key())["ALLOWED_HOSTS"] == []


def test_time_zone(load):
    assert load(DEBUG="true")["TIME_ZONE"] == "UTC"
    loaded = load(DEBUG="true", TIME_ZONE="America/New_York")
    assert loaded["TIME_ZONE"] == "America/New_York"
    assert loaded["CELERY_TIMEZONE"] == "America/New_York"


PRODUCTION = {"DEBUG": "false", "ALLOWED_HOSTS": "oms.example.com"}


def test_deploy_check_passes_with_production_variables(run):
    result = run(
        {**PRODUCTION, "SECRET_KEY": _secret_key()},
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SESSION_COOKIE_SECURE": "false"}, "security.W012"),
        ({"CSRF_COOKIE_SECURE": "false"}, "security.W016"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECRET_KEY": "short"}, "security.W009"),
    ],
)
def test_deploy_check_fails_with_insecure_overrides(run, override, warning):
    result = run(
        {**PRODUCTION, "SECRET_KEY": _secret_key(), **override},
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


@pytest.mark.django_db
def test_logging_in_at_the_console_without_a_next_lands_on_the_dashboard(client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345")
    response = client.post("/admin/login/", {"username": "boss", "password": "pw-12345"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
