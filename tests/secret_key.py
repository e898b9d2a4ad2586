"""pytest plugin (`-p tests.secret_key`): a random SECRET_KEY for the run when none is set.

Loaded before pytest-django reads the settings, which refuse to start without a key; the
subprocesses the tests start (gunicorn, manage.py) inherit it.
"""

import os
import secrets

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
