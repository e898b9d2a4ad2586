"""The rows (referral and agent traffic) keep no FK constraint to their connection.

PostgreSQL checked it for every inserted row: 25-45 ms of a 10,000-row push (EXPLAIN
ANALYZE, 7,400 checks). A deletion takes the connection's lock before deleting the rows, as
a push does before writing them (referrals.admin.deletion), so no rows outlive their
connection. On PostgreSQL this drops the constraint (no table rewrite).
"""

import django.db.models.deletion
from django.db import migrations, models

from referrals.db.rollup import rollup_after_migrate


def triggers_back(apps, schema_editor):
    """SQLite rebuilds the rows table for an AlterField, and its triggers go with the old one:
    put them back now (post_migrate would too, but not every migration run sends it)."""
    if schema_editor.connection.vendor == "sqlite":
        rollup_after_migrate(using=schema_editor.connection.alias, apps=apps)


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0017_drop_daily_page_rollup'),
    ]

    operations = [
        migrations.AlterField(
            model_name='agenttrafficrow',
            name='connection',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='agent_rows', to='referrals.connection'),
        ),
        migrations.AlterField(
            model_name='referralrow',
            name='connection',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='rows', to='referrals.connection'),
        ),
        migrations.RunPython(triggers_back, migrations.RunPython.noop),
    ]
