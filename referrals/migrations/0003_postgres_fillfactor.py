"""PostgreSQL: leave room in referral-row pages so metric updates stay HOT (no index writes)."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE referrals_referralrow SET (fillfactor = 80)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE referrals_referralrow RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("referrals", "0002_seed_ai_platforms")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
