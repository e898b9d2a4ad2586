"""Fixtures of the admin tests."""

import pytest

from referrals.models import Connection
from tests.admin.builders import ROWS, SOME_ROWS, logs_create, rows_create


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # admin_user is a real user with a password; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def busy(connection):
    """The connection with ROWS rows, a push and a dropped referrer."""
    rows_create(connection, ROWS)
    logs_create(connection)
    return connection


@pytest.fixture
def some(connection):
    """The connection with SOME_ROWS rows, a push and a dropped referrer."""
    rows_create(connection, SOME_ROWS)
    logs_create(connection)
    return connection


@pytest.fixture
def quiet(other_brand):
    """Another organization's connection with a few rows: deleting the busy one keeps it."""
    quiet = Connection.objects.create(
        brand=other_brand, website="quiet.example", provider="adobe_analytics"
    )
    rows_create(quiet, 30)
    logs_create(quiet)
    return quiet
