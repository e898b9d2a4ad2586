"""A matcher built from a list in the database, kept per process and rebuilt only when the
list changes (a cheap fingerprint query says so)."""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection

Matcher = TypeVar("Matcher")


def table_fingerprint(*aggregates: str) -> tuple:
    """One query of scalar subqueries (`SELECT COUNT(*) FROM t`, ...): the list's fingerprint."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"({aggregate})" for aggregate in aggregates))
        return tuple(cursor.fetchone())


class MatcherCache(Generic[Matcher]):
    """The matcher of `build()`, per database alias, until `fingerprint()` changes."""

    def __init__(self, *, fingerprint: Callable[[], tuple], build: Callable[[], Matcher]):
        self._fingerprint = fingerprint
        self._build = build
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple, Matcher]] = {}

    def current(self) -> Matcher:
        fingerprint = self._fingerprint()
        cached = self._cache.get(connection.alias)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        with self._lock:
            matcher = self._build()
            self._cache[connection.alias] = (fingerprint, matcher)
        return matcher
