"""Android app ids as a kind of allow-list entry, seeded for the platforms that have an app."""

from django.db import migrations, models

from referrals.allow_list.referrers import SEED_PLATFORMS


def seed_apps(apps, schema_editor):
    AIPlatform = apps.get_model("referrals", "AIPlatform")
    AIPlatformEntry = apps.get_model("referrals", "AIPlatformEntry")
    for item in SEED_PLATFORMS:
        platform = AIPlatform.objects.filter(slug=item["slug"]).first()
        if platform is None:  # renamed in the admin: an admin adds its app id there
            continue
        for value in item.get("apps", []):
            AIPlatformEntry.objects.get_or_create(
                value=value, defaults={"platform": platform, "kind": "app"}
            )


def unseed_apps(apps, schema_editor):
    AIPlatformEntry = apps.get_model("referrals", "AIPlatformEntry")
    values = [value for item in SEED_PLATFORMS for value in item.get("apps", [])]
    AIPlatformEntry.objects.filter(kind="app", value__in=values).delete()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0006_admin_search_indexes")]

    operations = [
        migrations.AlterField(
            model_name="aiplatformentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("host", "hostname or host/path"),
                    ("alias", "alias (utm_source token)"),
                    ("app", "Android app id (android-app:// referrer)"),
                ],
                default="host",
                max_length=10,
            ),
        ),
        migrations.RunPython(seed_apps, unseed_apps),
    ]
