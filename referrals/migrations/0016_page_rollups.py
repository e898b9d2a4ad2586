"""The page rollups the page rankings read: per (brand, connection, day, page) and per
(brand, connection, month, page), kept by triggers on the rows like the daily rollup
(referrals/db/rollup.py) and filled from the rows with writes held off. Distributed on Citus
right after their CreateModel, before Django adds their foreign keys (referrals/db/citus.py).
"""

import django.db.models.deletion
from django.db import migrations, models

from referrals.db.citus import distribute_new_tables
from referrals.db.rollup import (
    rollup_fill,
    rollup_lock,
    rollup_spec,
    rollup_triggers_drop,
    rollup_triggers_install,
)

TABLES = ["referrals_dailypagetotal", "referrals_monthlypagetotal"]
MODELS = ["DailyPageTotal", "MonthlyPageTotal"]


def distribute(apps, schema_editor):
    distribute_new_tables(db=schema_editor.connection, distributed=TABLES)


def rollups_start(apps, schema_editor):
    """Triggers, then the fills, with writes held off: no push can land between the two."""
    rows = apps.get_model("referrals", "ReferralRow")
    db = schema_editor.connection
    for name in MODELS:
        totals = apps.get_model("referrals", name)
        rollup_lock(db=db, rows=rows, totals=totals)
        rollup_triggers_install(db=db, rows=rows, totals=totals)
        rollup_fill(db=db, rows=rows, totals=totals)


def rollups_stop(apps, schema_editor):
    rows = apps.get_model("referrals", "ReferralRow")
    for name in MODELS:
        rollup = rollup_spec(apps.get_model("referrals", name)).name
        rollup_triggers_drop(db=schema_editor.connection, rows=rows, rollup=rollup)


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0015_lean_referral_rows'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyPageTotal',
            fields=[
                ('row_count', models.IntegerField()),
                ('pageviews', models.BigIntegerField()),
                ('sessions', models.BigIntegerField()),
                ('transactions', models.BigIntegerField()),
                ('purchase_revenue', models.DecimalField(decimal_places=4, max_digits=24)),
                ('pk', models.CompositePrimaryKey('brand', 'connection', 'date', 'page', blank=True, editable=False, primary_key=True, serialize=False)),
                ('date', models.DateField()),
                ('brand', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='referrals.brand')),
                ('connection', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='referrals.connection')),
                ('page', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='referrals.sitemappage')),
            ],
        ),
        migrations.CreateModel(
            name='MonthlyPageTotal',
            fields=[
                ('row_count', models.IntegerField()),
                ('pageviews', models.BigIntegerField()),
                ('sessions', models.BigIntegerField()),
                ('transactions', models.BigIntegerField()),
                ('purchase_revenue', models.DecimalField(decimal_places=4, max_digits=24)),
                ('pk', models.CompositePrimaryKey('brand', 'connection', 'month', 'page', blank=True, editable=False, primary_key=True, serialize=False)),
                ('month', models.DateField()),
                ('brand', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='referrals.brand')),
                ('connection', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='referrals.connection')),
                ('page', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='referrals.sitemappage')),
            ],
        ),
        migrations.RunPython(distribute, migrations.RunPython.noop),
        migrations.RunPython(rollups_start, rollups_stop),
    ]
