"""One settings module, configured from the environment (django-environ).

Every variable is listed in .env.example. Values come from the process environment,
then from the file named by OMS_ENV_FILE (default: .env beside manage.py); the process
environment wins.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = env.str("OMS_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# A development key only when DEBUG is on; a server without a real key refuses to start.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (50+ random characters), "
            "or DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "simple_history",
    "import_export",
    "django_celery_beat",
    "health_check",
    "oms.core",
    "oms.console",
    "inventory",
    "orders",
    "fulfilment",
    "returns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "oms.urls"
# The console is the admin: logging in without a ?next= lands on its dashboard.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
WSGI_APPLICATION = "oms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite file beside manage.py for a first run; PostgreSQL (psycopg 3) in production and CI.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side prepared statements: a statement run this many times on a connection is
    # parsed and planned once. Planning was over a third of PostgreSQL's CPU per capture
    # (bench/bench_orders.py). Django turns them off for poolers; 0 does that here too
    # (PgBouncer in transaction mode before 1.21).
    threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = threshold or None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic`; development serves the sources.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}

# E-mail: console by default; EMAIL_URL=smtp+tls://user:pass@host:587 in production.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="oms@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: strict unless DEBUG; each can be relaxed from the environment (e.g. behind a
# TLS-terminating proxy that already redirects).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# The preload directive only takes effect once the domain is submitted to the browsers list.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Celery: without a broker, tasks run eagerly in the calling process (first run, tests).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# API (../shared/API.md)
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oms.core.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["oms.core.api.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "oms.core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="6000/minute"),
    },
    "EXCEPTION_HANDLER": "oms.core.api_errors.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": "Order management back office, HTTP API v1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

# Routing (DESIGN.md section 7): the router inventory's allocate service uses.
OMS_ROUTER = env.str("OMS_ROUTER", default="inventory.routing.PriorityRouter")


def _nav(title, icon: str, model: str) -> dict:
    """A sidebar entry for a model's admin list, shown to users who may view it."""
    app_label, model_name = model.split(".")
    return {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(f"admin:{app_label}_{model_name}_changelist"),
        "permission": lambda request: request.user.has_perm(f"{app_label}.view_{model_name}"),
    }


# The console: django-unfold.
UNFOLD = {
    "SITE_TITLE": "OMS",
    "SITE_HEADER": "OMS back office",
    "SITE_SUBHEADER": "Orders, stock and fulfilment",
    "SITE_SYMBOL": "local_shipping",
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "oms.console.dashboard.environment_callback",
    "DASHBOARD_CALLBACK": "oms.console.dashboard.dashboard_callback",
    "COLORS": {
        "primary": {
            "50": "oklch(97.7% .013 236.62)",
            "100": "oklch(95.1% .026 236.824)",
            "200": "oklch(90.1% .058 230.902)",
            "300": "oklch(82.8% .111 230.318)",
            "400": "oklch(74.6% .16 232.661)",
            "500": "oklch(68.5% .169 237.323)",
            "600": "oklch(58.8% .158 241.966)",
            "700": "oklch(50% .134 242.749)",
            "800": "oklch(44.3% .11 240.79)",
            "900": "oklch(39.1% .09 240.876)",
            "950": "oklch(29.3% .066 243.157)",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": [
            {
                "title": _("Console"),
                "items": [
                    {
                        "title": _("Dashboard"),
                        "icon": "dashboard",
                        "link": reverse_lazy("admin:index"),
                    },
                ],
            },
            {
                "title": _("Orders"),
                "collapsible": True,
                "items": [
                    _nav(_("Orders"), "receipt", "orders.order"),
                    _nav(_("Holds queue"), "pause_circle", "orders.hold"),
                    {
                        "title": _("New phone order"),
                        "icon": "call",
                        "link": reverse_lazy("admin:orders_order_phone_order"),
                        "permission": lambda request: request.user.has_perm("orders.capture_order"),
                    },
                    {
                        "title": _("Import"),
                        "icon": "upload_file",
                        "link": reverse_lazy("admin:orders_importrun_import_orders"),
                        "permission": lambda request: request.user.has_perm("orders.import_orders"),
                    },
                    _nav(_("Channels"), "storefront", "orders.channel"),
                    _nav(_("Customers"), "groups", "orders.customer"),
                ],
            },
            {
                "title": _("Inventory"),
                "collapsible": True,
                "items": [
                    _nav(_("Products"), "inventory_2", "inventory.product"),
                    _nav(_("Stock levels"), "stacks", "inventory.stocklevel"),
                    _nav(_("Stock ledger"), "receipt_long", "inventory.stockmovement"),
                    _nav(_("Reservations"), "bookmark_added", "inventory.reservation"),
                    _nav(_("Purchase orders"), "shopping_cart", "inventory.purchaseorder"),
                    _nav(_("Suppliers"), "factory", "inventory.supplier"),
                    _nav(_("Transfers"), "swap_horiz", "inventory.transfer"),
                    _nav(_("Cycle counts"), "fact_check", "inventory.cyclecount"),
                    _nav(_("Locations"), "warehouse", "inventory.location"),
                    _nav(_("Bins"), "shelves", "inventory.bin"),
                ],
            },
            {
                "title": _("System"),
                "collapsible": True,
                "items": [
                    _nav(_("Outbox"), "outbox", "core.outboxevent"),
                    _nav(_("Users"), "person", "auth.user"),
                    _nav(_("Roles"), "badge", "auth.group"),
                    _nav(_("API tokens"), "key", "knox.authtoken"),
                    _nav(_("Scheduled tasks"), "schedule", "django_celery_beat.periodictask"),
                ],
            },
        ],
    },
}

# Fraud scoring at capture (orders/rules.py): an order scoring at or above the threshold
# waits on a fraud hold for review.
OMS_FRAUD_RULES = {
    "threshold": env.int("OMS_FRAUD_THRESHOLD", default=50),
    "high_value": env.str("OMS_FRAUD_HIGH_VALUE", default="1000"),
    # Currencies worth far less per unit than the dollar get their own threshold.
    "high_value_by_currency": {"JPY": env.str("OMS_FRAUD_HIGH_VALUE_JPY", default="150000")},
    "high_value_new_customer_score": 50,
    "country_mismatch_score": 30,
    "orders_per_address_per_hour": 3,
    "velocity_score": 50,
}
