"""Settings read from the environment; SQLite is the embedded default."""

import importlib.util
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_int, env_seconds

BASE_DIR = Path(__file__).resolve().parent.parent


def env_rate(name: str, default: str) -> str:
    """A rate limit such as 600/min (empty: the default). DRF parses it at each request, so a
    malformed one would make every API request a 500: it is refused here, at start."""
    value = os.environ.get(name, "").strip() or default
    if not re.fullmatch(r"[0-9]+/(s|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(
            f"{name} must be a number of requests per period, such as 600/min "
            f"(periods: s, min, hour, day), not {value!r}."
        )
    return value


DEBUG = env_bool("DEBUG", False)
# Production behind HTTPS: secure cookies, HSTS, SSL redirect.
SECURE_DEPLOY = env_bool("SECURE_DEPLOY", False)
# No key lives in the code, so no known key can reach production. `make run` keeps one of its
# own in var/secret_key; the test command and the tests' pytest plugin make a random one.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if SECURE_DEPLOY or not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set: a long random value, such as the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'. "
            "Only DEBUG=true runs without one (a throwaway key per process)."
        )
    # Sessions and signed values end with the process, and processes do not share it.
    SECRET_KEY = secrets.token_urlsafe(50)

# Rotation (docs/operations.md): the old key, comma-separated, keeps sessions and signed values
# made with it valid until they expire; remove it after SESSION_COOKIE_AGE (2 weeks).
SECRET_KEY_FALLBACKS = [
    key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
]

# Empty means the default, as for DATABASE_URL (an empty list answered every request 400).
ALLOWED_HOSTS = [
    h.strip()
    for h in (os.environ.get("ALLOWED_HOSTS", "").strip() or "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
if any("/" in host for host in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS takes host names, comma-separated (referrals.example.com), not URLs: "
        f"{os.environ['ALLOWED_HOSTS']!r}."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "referrals",
]

MIDDLEWARE = [
    # First: all of a request runs with the cyclic garbage collector paused (referrals/ops).
    "referrals.ops.collector.GcPauseMiddleware",
    "referrals.middleware.RequestIDMiddleware",
    "referrals.ops.logs.RequestLogMiddleware",
    # /healthz, /readyz, /metrics: before host checks and the HTTPS redirect (referrals/ops).
    "referrals.ops.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # A NUL anywhere in an admin request is a 400 (PostgreSQL refuses it in any query).
    "referrals.admin.bad_input.AdminNulMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a refused sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        # Empty (`DATABASE_URL=` in an env file) means unset: the embedded default.
        os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while a push writes; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs 35-140 ms per dashboard query (measured at 5M rows) and repays
    # only on queries far longer than ours. Options given in DATABASE_URL are kept.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"-c jit=off {options.get('options', '')}".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# "SQLite does not support indexes with non-key columns": the agent rows' window index has
# INCLUDE columns for PostgreSQL's index-only scans; SQLite builds it on the key columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked.
    "referrals.security.login.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# The login throttle (django-axes) of /accounts/login/ and /admin/login/ (docs/reliability.md).
# Failures are counted in the database, so every gunicorn worker and every server shares them.
# 5 wrong passwords for one username from one client address lock that pair out for 15 minutes
# from the last of them; tries during the lock are refused without being counted, so the lock
# cannot be prolonged. Other users at that address, and that user elsewhere, are unaffected;
# a successful sign-in clears the count. `manage.py axes_reset_username NAME` lifts a lock.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "referrals.security.login.lockout_response"
AXES_CLIENT_IP_CALLABLE = "referrals.security.login.client_ip_address"
AXES_ENABLE_ADMIN = False  # its pages would list every organization's users and addresses
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (nginx: 1). 0 counts by
# the TCP peer: the header is then never read, since any client can write it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Pushes read their body as a stream with their own 413 limit; other bodies are small.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
PUSH_MAX_BODY_BYTES = 5 * 1024 * 1024
PUSH_MAX_EVENTS = 10_000

# Site crawl (manage.py crawl_site, the admin's "Crawl now"): robots.txt rules for this token
# apply to the crawler, whose User-Agent names it and a page about it.
CRAWL_USER_AGENT_TOKEN = "AIReferralsBot"
CRAWL_CONTACT_URL = os.environ.get("CRAWL_CONTACT_URL", "https://referrals.example.com/crawler")
CRAWL_MAX_PAGES = 5000
CRAWL_CONCURRENCY = 4
# Seconds between two requests to one host.
CRAWL_DELAY_SECONDS = env_seconds("CRAWL_DELAY_SECONDS", 0.25, minimum=0, allow_minimum=True)
CRAWL_TIMEOUT_SECONDS = 10.0  # a whole request: connect, headers and body
CRAWL_MAX_PAGE_BYTES = 2 * 1024 * 1024
# The crawl connects to public internet addresses only (a customer names the website, so it
# must not reach the service's own network: cloud metadata, databases, admin ports); on for
# a crawl of sites on a private network, and for the tests' sites on 127.0.0.1.
CRAWL_PRIVATE_ADDRESSES = env_bool("CRAWL_PRIVATE_ADDRESSES", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "referrals.tenancy.authentication.BearerTokenAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["referrals.tenancy.permissions.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["referrals.api.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "referrals.api.negotiation.FallbackContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["referrals.tenancy.throttling.ApiKeyRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "referrals.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env_rate("API_RATE_LIMIT", "600/min"),
        "push": env_rate("PUSH_RATE_LIMIT", "120/min"),
    },
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AI Referrals API",
    "DESCRIPTION": "Push daily AI-assistant referral rows; read them per page.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the docs work with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}


def cache_client_required(package: str) -> None:
    """Django imports a cache's client at its first use: without it the service started,
    /readyz said ready, and every API request (its rate limit counts in the cache) was a 500."""
    if importlib.util.find_spec(package) is None:
        raise ImproperlyConfigured(
            f"CACHE_URL needs the {package} package, which is not installed: "
            f".venv/bin/pip install {package}"
        )


def cache_from_url(url: str) -> dict:
    """CACHE_URL: unset for the database cache, redis[s]://..., memcached://host:port[,...]."""
    scheme, _, location = url.partition("://")
    if not url:
        # The rate limits count here, in the project's database, so all workers share them.
        # MAX_ENTRIES: past it Django deletes expired entries, then a third of the live ones,
        # which would reset rate-limit windows; 10,000 is 5,000 API keys busy in one window.
        return {
            "BACKEND": "referrals.tenancy.cache.AtomicDatabaseCache",
            "LOCATION": "referrals_cache",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    if scheme in {"redis", "rediss"}:
        cache_client_required("redis")
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "memcached":  # unix:/path for a socket
        cache_client_required("pymemcache")
        return {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": location.split(","),
        }
    raise ImproperlyConfigured(
        f"CACHE_URL: unknown scheme {scheme!r}; use redis://, rediss:// or memcached://, "
        "or leave CACHE_URL unset for the database cache."
    )


CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL", ""))}

# Every response says where its page may load from: nothing but this site, no inline script,
# no plugins, not framed (docs/reliability.md). Chart data is JSON (json_script), not script.
# Inline style *attributes* are allowed for the dashboard's bar widths and platform colours
# (server-computed, escaped); <style> elements and inline scripts are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if SECURE_DEPLOY:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Operations (docs/operations.md). /metrics answers 404 while METRICS_TOKEN is unset, and
# otherwise only to `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()  # as the scrape's token is read
# `manage.py prune` deletes push logs older than this, and keeps this many dropped-referrer
# tallies per connection (the most frequent).
# The bounds are those of `prune`'s own --days and --keep-dropped.
PUSH_LOG_RETENTION_DAYS = env_int("PUSH_LOG_RETENTION_DAYS", 90, minimum=1, maximum=36_500)
DROPPED_REFERRERS_PER_CONNECTION = env_int(
    "DROPPED_REFERRERS_PER_CONNECTION", 1000, minimum=1, maximum=2**31 - 1
)
# `plain` (default) or `json`: one JSON object per line, for log pipelines.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "").strip().lower() or "plain"
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# In any case (logging takes upper case only, and said "Unable to configure root logger").
LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {LOG_LEVEL!r}."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "referrals.middleware.RequestIDLogFilter"},
        "client_error": {"()": "referrals.ops.logs.ClientErrorLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "referrals.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failures and lock-outs, not its per-request chatter
        "httpx": {"level": "WARNING"},  # the crawl and the demo push: not a line per request
        # A Host not in ALLOWED_HOSTS: one WARNING line, not an ERROR with a traceback.
        "django.security.DisallowedHost": {"filters": ["client_error"]},
    },
}
