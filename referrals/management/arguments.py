"""Checks of the commands' free-text options, so bad input is a CommandError, never a traceback."""

from django.core.management.base import CommandError
from django.db.models import Model


def name_option(value: str, *, option: str, model: type[Model]) -> str:
    """`value` stripped, for the `name` of `model`; blank, longer than the column or holding
    NUL (which PostgreSQL refuses with an uncaught error, and SQLite would store) is a
    CommandError."""
    max_length = model._meta.get_field("name").max_length
    value = value.strip()
    if not value:
        raise CommandError(f"{option} must not be empty.")
    if len(value) > max_length:
        raise CommandError(f"{option} must be at most {max_length} characters.")
    if "\x00" in value:
        raise CommandError(f"{option} must not contain NUL characters.")
    return value
