"""System check: the rollups' triggers exist and match what the current models generate.

A `Tags.database` check, so it runs where a database is named: `manage.py check --database
default` (scripts/run.sh, before serving) and `migrate` (before migrating). Django leaves
database checks out of plain `check`, `runserver` and every other command, which must work
without a reachable database. `migrate` runs it before migrating, so it stays silent when the
tables do not exist yet or migrations are pending: those migrations and the post_migrate
reinstall (rollup.rollup_after_migrate) come first. With nothing pending, broken triggers stop
`migrate` with the same error: reinstalling them would not put back the writes they missed,
`rollup_repair` does.
"""

from django.apps import apps
from django.core.checks import CheckMessage, Error
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from referrals.db.rollup import rollup_models, rollups_problems, rollups_supported

E_ROLLUP_TRIGGERS = "referrals.E001"
ROLLUP_BROKEN = "The daily rollup's triggers are broken ({alias}): {problems}."
ROLLUP_HINT = (
    "Run `python manage.py rollup_repair`: it reinstalls the triggers and recomputes the "
    "rollup from the rows (writes made meanwhile are missing from it)."
)


def _migrated(alias: str) -> bool:
    executor = MigrationExecutor(connections[alias])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def rollup_triggers_check(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
    if app_configs is not None and not any(c.label == "referrals" for c in app_configs):
        return []
    rows = apps.get_model("referrals", "ReferralRow")
    errors = []
    for alias in databases or ():
        db = connections[alias]
        rollups = rollups_supported(db=db, rows=rows, rollups=rollup_models(apps))
        if not rollups or not _migrated(alias):
            continue
        problems = rollups_problems(db=db, rows=rows, rollups=rollups)
        if problems:
            message = "; ".join(problem.message for problem in problems)
            errors.append(
                Error(
                    ROLLUP_BROKEN.format(alias=alias, problems=message),
                    hint=ROLLUP_HINT,
                    id=E_ROLLUP_TRIGGERS,
                )
            )
    return errors
