"""Settings read from the environment, refused at start when they cannot mean what was meant.

Shared by settings.py, gunicorn.conf.py and project/workers.py (neither of the last two may
import the settings). An empty or blank value means the default, as `VAR=` in an env file or a
compose file leaves it; a value that is not one the setting takes stops the start with a
message naming the variable, instead of a traceback or a silent default.
"""

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
