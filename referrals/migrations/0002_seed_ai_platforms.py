"""Seed the AI-platform allow-list (idempotent; reversing removes the seeded platforms)."""

from django.db import migrations

from referrals.allow_list.referrers import SEED_PLATFORMS


def seed(apps, schema_editor):
    AIPlatform = apps.get_model("referrals", "AIPlatform")
    AIPlatformEntry = apps.get_model("referrals", "AIPlatformEntry")
    for item in SEED_PLATFORMS:
        platform, _ = AIPlatform.objects.get_or_create(
            slug=item["slug"], defaults={"name": item["name"]}
        )
        for kind, values in (("host", item["hosts"]), ("alias", item["aliases"])):
            for value in values:
                AIPlatformEntry.objects.get_or_create(
                    value=value, defaults={"platform": platform, "kind": kind}
                )


def unseed(apps, schema_editor):
    AIPlatform = apps.get_model("referrals", "AIPlatform")
    AIPlatform.objects.filter(slug__in=[item["slug"] for item in SEED_PLATFORMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
