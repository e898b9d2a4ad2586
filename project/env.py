"""Settings read from the environment, refused at start when they cannot mean what was meant.

Shared by settings.py, gunicorn.conf.py and project/workers.py (neither of the last two may
import the settings). An empty or blank value means the default, as `VAR=` in an env file or a
compose file leaves it; a value that is not one the setting takes stops the start with a
message naming the variable, instead of a traceback or a silent default.
"""

import math
import os

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def env_value(name: str) -> str:
    """The variable's value, stripped; empty when unset or blank."""
    return os.environ.get(name, "").strip()


def env_bool(name: str, default: bool) -> bool:
    """true/1/yes/on or false/0/no/off, in any case. Anything else (SECURE_DEPLOY=ture) is
    refused: read as false, it would run without what the operator asked for."""
    value = env_value(name).lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be true or false (1/0, yes/no, on/off), not {os.environ[name]!r}."
    )


def env_int(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    """A whole number within [minimum, maximum]."""
    value = env_value(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ImproperlyConfigured(f"{name} must be a whole number {bounds}, not {value!r}.")
    return number


def env_seconds(name: str, default: float, *, minimum: float, allow_minimum: bool) -> float:
    """A finite number of seconds above minimum (or equal to it, with allow_minimum)."""
    value = env_value(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if (
        not math.isfinite(seconds)
        or seconds < minimum
        or (seconds == minimum and not allow_minimum)
    ):
        bound = f"at least {minimum:g}" if allow_minimum else f"more than {minimum:g}"
        raise ImproperlyConfigured(f"{name} must be a number of seconds {bound}, not {value!r}.")
    return seconds
