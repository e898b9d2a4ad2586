"""pytest plugin (`-p tests.secret_key`): a random SECRET_KEY for the run when none is set,
and the crawl allowed to reach private addresses (the tests' websites are on 127.0.0.1;
tests/sitemap/test_crawl_addresses.py turns it off).

Loaded before pytest-django reads the settings, which refuse to start without a key; the
subprocesses the tests start (gunicorn, manage.py) inherit both.
"""

import os
import secrets

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CRAWL_PRIVATE_ADDRESSES", "1")
