"""App configuration."""

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate

from referrals.db.checks import rollup_triggers_check
from referrals.db.rollup import rollup_after_migrate


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "AI Referrals"

    def ready(self) -> None:
        checks.register(rollup_triggers_check, checks.Tags.database)
        post_migrate.connect(rollup_after_migrate, sender=self)
