"""Settings from the environment, read in a fresh interpreter (no database connection)."""

import importlib.util
import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
# Variables the settings read; each test starts without them, as a fresh shell would.
SETTINGS_ENV = (
    "DATABASE_URL",
    "CONN_MAX_AGE",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_DEPLOY",
    "API_RATE_LIMIT",
    "PUSH_RATE_LIMIT",
    "CACHE_URL",
    "TRUSTED_PROXY_COUNT",
    "CRAWL_PRIVATE_ADDRESSES",
    "CRAWL_DELAY_SECONDS",
    "METRICS_TOKEN",
    "PUSH_LOG_RETENTION_DAYS",
    "DROPPED_REFERRERS_PER_CONNECTION",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
)
READ_SETTINGS = """
import json
import project.settings as s
print(json.dumps({
    "database": s.DATABASES["default"],
    "debug": s.DEBUG,
    "allowed_hosts": s.ALLOWED_HOSTS,
    "secret_key": s.SECRET_KEY,
    "throttle_rates": s.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    "cache": s.CACHES["default"],
    "ssl_redirect": getattr(s, "SECURE_SSL_REDIRECT", False),
    "crawl_private_addresses": s.CRAWL_PRIVATE_ADDRESSES,
    "crawl_delay": s.CRAWL_DELAY_SECONDS,
    "trusted_proxy_count": s.TRUSTED_PROXY_COUNT,
    "retention": [s.PUSH_LOG_RETENTION_DAYS, s.DROPPED_REFERRERS_PER_CONNECTION],
    "log": [s.LOGGING["root"]["level"], s.LOG_FORMAT],
    "metrics_token": s.METRICS_TOKEN,
}, default=str))
"""


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + string.punctuation.replace("'", "")
    return "".join(secrets.choice(alphabet) for _ in range(50))


def settings_with(**env: str) -> dict:
    """The settings a process started with `env` reads (and a SECRET_KEY unless `env` says)."""
    result = run(["-c", READ_SETTINGS], **{"SECRET_KEY": random_secret_key(), **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_default_database_is_an_sqlite_file_in_the_project():
    database = settings_with()["database"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_database_url_means_the_default_sqlite_file(blank):
    # `DATABASE_URL=` (as a compose file or an env file leaves it) crashed the settings with
    # dj_database_url's "Scheme '://' is unknown" instead of using the embedded default.
    database = settings_with(DATABASE_URL=blank)["database"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")


def test_an_sqlite_url_names_the_file():
    database = settings_with(DATABASE_URL="sqlite:////tmp/referrals-test.sqlite3")["database"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == "/tmp/referrals-test.sqlite3"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_url_maps_to_the_postgresql_backend(scheme):
    url = f"{scheme}://referrals:p%40ss@db.internal:6543/referrals"
    database = settings_with(DATABASE_URL=url, CONN_MAX_AGE="120")["database"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == (
        "referrals",
        "referrals",
        "p@ss",
    )
    assert (database["HOST"], str(database["PORT"])) == ("db.internal", "6543")
    assert database["CONN_MAX_AGE"] == 120
    assert database["CONN_HEALTH_CHECKS"] is True
    assert "transaction_mode" not in database.get("OPTIONS", {})


def test_a_postgres_url_can_name_a_unix_socket_directory():
    # The form the test command uses for its throwaway server.
    url = "postgres://postgres@%2Ftmp%2Freferrals-pg.abc/postgres"
    database = settings_with(DATABASE_URL=url)["database"]
    assert database["HOST"] == "/tmp/referrals-pg.abc"
    assert database["NAME"] == "postgres"


def test_the_default_cache_is_the_database_shared_by_every_worker():
    cache = settings_with()["cache"]
    assert cache["BACKEND"] == "referrals.tenancy.cache.AtomicDatabaseCache"
    assert cache["LOCATION"] == "referrals_cache"


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [
        (
            "redis://:p%40ss@cache.internal:6379/2",
            "redis.RedisCache",
            "redis://:p%40ss@cache.internal:6379/2",
        ),
        ("rediss://cache.internal:6380/0", "redis.RedisCache", "rediss://cache.internal:6380/0"),
        (
            "memcached://mc1:11211,mc2:11211",
            "memcached.PyMemcacheCache",
            ["mc1:11211", "mc2:11211"],
        ),
        (
            "memcached://unix:/run/memcached.sock",
            "memcached.PyMemcacheCache",
            ["unix:/run/memcached.sock"],
        ),
    ],
)
def test_cache_url_points_the_cache_at_redis_or_memcached(url, backend, location, tmp_path):
    for client in ("redis", "pymemcache"):  # stand-ins: the clients are not in .venv
        (tmp_path / client).mkdir()
        (tmp_path / client / "__init__.py").write_text("")
    cache = settings_with(CACHE_URL=url, PYTHONPATH=str(tmp_path))["cache"]
    assert cache["BACKEND"] == f"django.core.cache.backends.{backend}"
    assert cache["LOCATION"] == location


def test_an_unknown_cache_url_is_refused_without_echoing_it():
    result = run(
        ["-c", READ_SETTINGS], SECRET_KEY=random_secret_key(), CACHE_URL="mongo://u:hunter2@h"
    )
    assert result.returncode != 0
    assert "CACHE_URL: unknown scheme 'mongo'" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("url", "client"),
    [("redis://:hunter2@cache.internal:6379/0", "redis"), ("memcached://mc1:11211", "pymemcache")],
)
def test_a_cache_url_whose_client_is_not_installed_is_refused_at_start(url, client):
    # Django imports the client at the first use of the cache: the service started, /readyz
    # said ready, and every API request (the rate limit counts in the cache) was a 500.
    if importlib.util.find_spec(client):
        pytest.skip(f"{client} is installed here")
    result = run(["-c", READ_SETTINGS], SECRET_KEY=random_secret_key(), CACHE_URL=url)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: CACHE_URL needs the {client} package" in result.stderr
    assert "hunter2" not in result.stderr


def test_migrate_alone_makes_the_cache_table(tmp_path):
    env = {
        "SECRET_KEY": random_secret_key(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    assert run(["manage.py", "migrate", "-v0"], **env).returncode == 0
    # --dry-run prints the CREATE TABLE of a missing table, as on a database never migrated.
    result = run(["manage.py", "createcachetable", "--dry-run"], **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Cache table 'referrals_cache' already exists.\n"
    missing = run(
        ["manage.py", "createcachetable", "--dry-run"],
        **{**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"},
    )
    assert "CREATE TABLE" in missing.stdout and "referrals_cache" in missing.stdout


def test_the_postgresql_backend_runs_on_psycopg_3():
    code = (
        "from django.db.backends.postgresql.psycopg_any import is_psycopg3\n"
        "import psycopg\n"
        "print(is_psycopg3, psycopg.__version__.split('.')[0])"
    )
    result = run(["-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "3"]


def test_debug_allowed_hosts_and_rate_limits_come_from_the_environment():
    values = settings_with(
        DEBUG="true",
        ALLOWED_HOSTS=" api.example.com, ,dash.example.com ",
        API_RATE_LIMIT="10/min",
        PUSH_RATE_LIMIT="5/min",
    )
    assert values["debug"] is True
    assert values["allowed_hosts"] == ["api.example.com", "dash.example.com"]
    assert values["throttle_rates"] == {"api_key": "10/min", "push": "5/min"}
    defaults = settings_with()
    assert defaults["debug"] is False
    assert defaults["allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("Yes", True), (" on ", True), ("0", False), ("OFF", False)]
)
def test_booleans_are_read_leniently(raw, expected):
    assert settings_with(DEBUG=raw)["debug"] is expected


def refused(variable: str, raw: str) -> str:
    """The error output of reading the settings with `variable` set to `raw`, which must stop
    the start and quote the value."""
    result = run(["-c", READ_SETTINGS], SECRET_KEY=random_secret_key(), **{variable: raw})
    assert result.returncode != 0
    assert repr(raw) in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("SECURE_DEPLOY", "ture"), ("DEBUG", "enabled"), ("CRAWL_PRIVATE_ADDRESSES", "2")],
)
def test_a_boolean_neither_true_nor_false_is_refused_at_start(variable, raw):
    # SECURE_DEPLOY=ture was read as false: no HTTPS redirect, no secure cookies, no HSTS, and
    # nothing said so.
    assert f"ImproperlyConfigured: {variable} must be true or false" in refused(variable, raw)


def test_an_empty_boolean_means_the_default():
    values = settings_with(DEBUG="", SECURE_DEPLOY=" ", CRAWL_PRIVATE_ADDRESSES="")
    assert (values["debug"], values["ssl_redirect"]) == (False, False)
    assert values["crawl_private_addresses"] is False


def test_secure_deploy_requires_a_secret_key():
    result = run(["-c", READ_SETTINGS], SECURE_DEPLOY="true")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "env", [{}, {"DEBUG": "false"}, {"SECRET_KEY": ""}, {"DEBUG": "true", "SECURE_DEPLOY": "true"}]
)
def test_without_a_secret_key_nothing_starts_unless_debug_is_on(env):
    for args in (["-c", READ_SETTINGS], ["manage.py", "check"]):
        result = run(args, **env)
        assert result.returncode != 0
        assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr
        assert "secrets.token_urlsafe" in result.stderr  # says how to make one


def test_debug_runs_without_a_key_on_a_throwaway_one():
    first, second = (settings_with(SECRET_KEY="", DEBUG="true")["secret_key"] for _ in range(2))
    assert len(first) >= 50 and len(second) >= 50
    assert first != second
    result = run(["manage.py", "check"], DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_the_run_commands_key_file_is_made_once_private_and_reused(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    made, reused = (
        subprocess.run(
            ["scripts/secret_key.sh", str(key_file)],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    )
    assert made == reused == key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600
    # Strong enough for `check --deploy` (security.W009: length and variety).
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY=made,
        SECURE_DEPLOY="true",
        ALLOWED_HOSTS="example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_test_commands_keys_are_fresh_each_time():
    keys = {
        subprocess.run(
            ["scripts/secret_key.sh"], cwd=BASE_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(3)
    }
    assert len(keys) == 3
    assert all(len(key) == 64 for key in keys)


def test_the_secret_key_comes_from_the_environment():
    key = random_secret_key()
    assert settings_with(SECRET_KEY=key, SECURE_DEPLOY="true")["secret_key"] == key


def test_check_deploy_is_clean_in_production_settings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY=random_secret_key(),
        SECURE_DEPLOY="true",
        ALLOWED_HOSTS="example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_weak_key():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="django-insecure-local-development-key-never-for-production",
        ALLOWED_HOSTS="example.com",
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


@pytest.mark.parametrize("variable", ["API_RATE_LIMIT", "PUSH_RATE_LIMIT"])
@pytest.mark.parametrize("rate", ["abc", "10", "10/fortnight", "10/ min", "1e3/min", "-1/min"])
def test_a_malformed_rate_limit_is_refused_at_start(variable, rate):
    # DRF parses the rate at each request: a malformed one made every API request a 500.
    result = run(["-c", READ_SETTINGS], SECRET_KEY=random_secret_key(), **{variable: rate})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {variable} must be" in result.stderr


@pytest.mark.parametrize(
    "rate", ["5/s", "5/second", "5/m", "5/minute", "5/h", "5/hour", "5/d", "5/day", "0/min"]
)
def test_rate_limits_take_drfs_periods(rate):
    assert settings_with(API_RATE_LIMIT=rate)["throttle_rates"]["api_key"] == rate


def test_an_empty_rate_limit_means_the_default():
    rates = settings_with(API_RATE_LIMIT="", PUSH_RATE_LIMIT=" ")["throttle_rates"]
    assert rates == {"api_key": "600/min", "push": "120/min"}


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("CONN_MAX_AGE", "abc"),
        ("CONN_MAX_AGE", "-5"),
        ("TRUSTED_PROXY_COUNT", "one"),
        ("TRUSTED_PROXY_COUNT", "-1"),
        ("PUSH_LOG_RETENTION_DAYS", "-3"),
        ("PUSH_LOG_RETENTION_DAYS", "0"),
        ("DROPPED_REFERRERS_PER_CONNECTION", "-1"),
        ("CRAWL_DELAY_SECONDS", "nan"),
        ("CRAWL_DELAY_SECONDS", "-1"),
    ],
)
def test_a_number_out_of_range_is_refused_at_start(variable, raw):
    # A word was a bare ValueError traceback; a negative count or retention was taken as is
    # (PUSH_LOG_RETENTION_DAYS=-3 waited for prune to refuse it at night, a negative crawl delay
    # meant none).
    assert f"ImproperlyConfigured: {variable} must be" in refused(variable, raw)


def test_an_empty_number_means_the_default():
    values = settings_with(
        DATABASE_URL="postgres://referrals@db.internal/referrals",
        CONN_MAX_AGE="",
        TRUSTED_PROXY_COUNT=" ",
        PUSH_LOG_RETENTION_DAYS="",
        DROPPED_REFERRERS_PER_CONNECTION="",
        CRAWL_DELAY_SECONDS="",
    )
    assert values["database"]["CONN_MAX_AGE"] == 60
    assert values["trusted_proxy_count"] == 0
    assert values["retention"] == [90, 1000]
    assert values["crawl_delay"] == 0.25


def test_numbers_in_range_are_taken():
    values = settings_with(
        TRUSTED_PROXY_COUNT="2",
        PUSH_LOG_RETENTION_DAYS="30",
        DROPPED_REFERRERS_PER_CONNECTION="1",
        CRAWL_DELAY_SECONDS="0",
    )
    assert values["trusted_proxy_count"] == 2
    assert values["retention"] == [30, 1]
    assert values["crawl_delay"] == 0.0


@pytest.mark.parametrize(
    ("level", "log_format", "expected"),
    [
        ("debug", "JSON", ["DEBUG", "json"]),
        (" Warning ", "", ["WARNING", "plain"]),
        ("", " ", ["INFO", "plain"]),
    ],
)
def test_log_level_and_format_in_any_case_empty_the_default(level, log_format, expected):
    # LOG_LEVEL=debug (or LOG_LEVEL=) stopped every start with logging's "Unable to configure
    # root logger", which does not name the variable.
    assert settings_with(LOG_LEVEL=level, LOG_FORMAT=log_format)["log"] == expected
    result = run(["manage.py", "check"], SECRET_KEY=random_secret_key(), LOG_LEVEL=level)
    assert result.returncode == 0, result.stderr


def test_an_unknown_log_level_is_refused_at_start():
    result = run(["-c", READ_SETTINGS], SECRET_KEY=random_secret_key(), LOG_LEVEL="loud")
    assert result.returncode != 0
    assert "ImproperlyConfigured: LOG_LEVEL must be one of DEBUG, INFO, WARNING" in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"), [("s3cret ", "s3cret"), ("\ts3cret\n", "s3cret"), (" ", "")]
)
def test_the_metrics_token_is_read_without_surrounding_blanks(raw, expected):
    # The scrape's token is compared stripped: a token set with a trailing blank or newline (an
    # env file, `$(cat token)` kept verbatim) answered 401 to every scrape, and a blank one
    # turned /metrics on with no token that could ever match.
    assert settings_with(METRICS_TOKEN=raw)["metrics_token"] == expected


@pytest.mark.parametrize("hosts", ["https://referrals.example.com", "referrals.example.com/admin"])
def test_allowed_hosts_with_a_scheme_or_path_is_refused_at_start(hosts):
    # A URL where a host name goes matched no request: every page a 400, and nothing said why.
    result = run(["-c", READ_SETTINGS], SECRET_KEY=random_secret_key(), ALLOWED_HOSTS=hosts)
    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS takes host names" in result.stderr


def test_empty_allowed_hosts_means_the_default():
    # `ALLOWED_HOSTS=` was an empty list: every request a 400.
    assert settings_with(ALLOWED_HOSTS=" ")["allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]
