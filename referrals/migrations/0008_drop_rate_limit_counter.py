"""Rate limits count in Django's cache now (DRF throttles): the counter table goes, and the
database cache's table (CACHES, the default without CACHE_URL) is made here, so that
`migrate` alone readies a database. With Redis or Memcached configured there is no table to
make; switching to the database cache later needs `manage.py createcachetable`.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0007_app_referrer_entries"),
    ]

    operations = [
        migrations.DeleteModel(name="RateLimitCounter"),
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop),
    ]
