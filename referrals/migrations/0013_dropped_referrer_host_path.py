"""Fold the dropped-referrer tally onto host + path (referrer_tally_key), summing counts.

Pushes now count a dropped referrer under its host and path, without the query string; rows
stored before kept the full value, one per distinct query. For each connection, the rows that
share a key become one: the row already named by the key is kept (or the oldest), it gets the
summed count, the earliest first_seen_at and the latest last_seen_at, and the others are
deleted first (in the group's transaction), so the unique key (brand, connection, raw_referrer_value) holds at every step.
Every statement names the brand (one shard on Citus). The key function is imported, not
copied: it is pure, and a later change to it should fold the same way.
"""

from collections import defaultdict

from django.db import migrations, transaction

from referrals.allow_list.referrers import referrer_tally_key

BATCH = 500


def fold(apps, schema_editor):
    Connection = apps.get_model("referrals", "Connection")
    DroppedReferrer = apps.get_model("referrals", "DroppedReferrer")
    db = schema_editor.connection.alias
    for brand_id, connection_id in Connection.objects.using(db).values_list("brand_id", "id"):
        scope = DroppedReferrer.objects.using(db).filter(
            brand_id=brand_id, connection_id=connection_id
        )
        groups = defaultdict(list)
        for row in scope.values_list(
            "id", "raw_referrer_value", "count", "first_seen_at", "last_seen_at"
        ).iterator(chunk_size=5000):
            groups[referrer_tally_key(row[1])].append(row)
        for key, members in groups.items():
            if len(members) == 1 and members[0][1] == key:
                continue
            keeper = next((m for m in members if m[1] == key), min(members))
            others = [m[0] for m in members if m is not keeper]
            with transaction.atomic(using=db):  # one group at a time: short row locks
                for start in range(0, len(others), BATCH):
                    scope.filter(id__in=others[start : start + BATCH]).delete()
                scope.filter(id=keeper[0]).update(
                    raw_referrer_value=key,
                    count=sum(m[2] for m in members),
                    first_seen_at=min(m[3] for m in members),
                    last_seen_at=max(m[4] for m in members),
                )


class Migration(migrations.Migration):
    # Not one long transaction over the whole tally while pushes run: each group is folded in
    # its own, and a run stopped part-way folds the rest when `migrate` runs again.
    atomic = False
    dependencies = [("referrals", "0012_priority_paths_and_crawl")]

    operations = [migrations.RunPython(fold, migrations.RunPython.noop)]
