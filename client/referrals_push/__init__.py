"""referrals-push: push daily AI-referral and AI-agent rows to the AI Referrals service."""

from referrals_push.logs import summarize_logs
from referrals_push.push import (
    EXIT_CLIENT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    PushFailed,
    PushResult,
    push_rows,
)
from referrals_push.readers import read_rows
from referrals_push.records import AGENTS, REFERRALS, BadRow, Row
from referrals_push.version import __version__

__all__ = [
    "__version__",
    "AGENTS",
    "EXIT_CLIENT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "REFERRALS",
    "BadRow",
    "PushFailed",
    "PushResult",
    "Row",
    "push_rows",
    "read_rows",
    "summarize_logs",
]
