"""An index of the rows by (brand, connection, platform, date): the dashboard's platform filter.

Its top pages rank one platform's rows of the window; without this index that read every row
of the window. On a large table, build it by hand first with CREATE INDEX CONCURRENTLY (no
write lock; docs/operations.md, "Migrations that lock") and then `migrate --fake` this one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0018_rows_connection_without_constraint'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='referralrow',
            index=models.Index(fields=['brand', 'connection', 'platform', 'date'], name='referral_row_platform'),
        ),
    ]
