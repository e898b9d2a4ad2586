"""Agent traffic: the AI-agent list (seeded), agent connections, agent rows, dropped user agents.

Decisions:
- Agent-traffic connections are the existing Connection with a `kind` (`referral` or
  `agent`): the same ULID, connection object, API key scoping, push log, health panel and
  admin serve both, and the one-active rule becomes one active connection per (brand,
  website, kind) in the database. Providers are validated per kind in the service
  (PROVIDERS_BY_KIND); the column's choices hold both lists. Existing connections are
  referral connections (the default).
- AgentTrafficRow, its daily rollup DailyAgentTotal and DroppedUserAgent grow with traffic:
  brand-leading keys and primary keys ((brand_id, id); the rollup's is its natural key, as
  DailyPlatformTotal's since migration 0011), distributed by brand_id colocated with the
  pages (distribute_new_tables, run right after their CreateModel, before the foreign keys
  that Django adds at the end of the migration). AIAgent is small and shared: a reference
  table.
- The raw user agent (up to 1,024 characters) stands in the unique keys as its SHA-256
  (`user_agent_key`), as the page does for the raw page value: a btree entry holds ~2,700 bytes.
- The rollup has no triggers (see DailyAgentTotal): the push recomputes its batch's days.
- Seed: referrals.allow_list.agent_seed (at least 20 agents; new platforms for operators
  without an assistant in the referral allow-list). Reversing removes the seeded agents and
  the platforms this migration created.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

from referrals.allow_list.agent_seed import SEED_AGENT_PLATFORMS, SEED_AGENTS
from referrals.db.citus import distribute_new_tables


def distribute(apps, schema_editor):
    distribute_new_tables(
        db=schema_editor.connection,
        distributed=[
            "referrals_agenttrafficrow",
            "referrals_droppeduseragent",
            "referrals_dailyagenttotal",
        ],
        reference=["referrals_aiagent"],
    )


def seed(apps, schema_editor):
    AIPlatform = apps.get_model("referrals", "AIPlatform")
    AIAgent = apps.get_model("referrals", "AIAgent")
    for item in SEED_AGENT_PLATFORMS:
        AIPlatform.objects.get_or_create(slug=item["slug"], defaults={"name": item["name"]})
    platforms = dict(AIPlatform.objects.values_list("slug", "id"))
    for name, operator, purpose, slug, url in SEED_AGENTS:
        if slug not in platforms:  # an admin removed or renamed that platform: no agent for it
            continue
        AIAgent.objects.get_or_create(
            token=name,
            defaults={
                "name": name,
                "operator": operator,
                "purpose": purpose,
                "platform_id": platforms[slug],
                "documentation_url": url,
            },
        )


def unseed(apps, schema_editor):
    AIPlatform = apps.get_model("referrals", "AIPlatform")
    AIAgent = apps.get_model("referrals", "AIAgent")
    AIAgent.objects.filter(token__in=[agent[0] for agent in SEED_AGENTS]).delete()
    AIPlatform.objects.filter(
        slug__in=[item["slug"] for item in SEED_AGENT_PLATFORMS], agents__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0013_dropped_referrer_host_path")]

    operations = [
        migrations.CreateModel(
            name="AIAgent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("token", models.CharField(help_text="The user-agent token, matched case-insensitively at token boundaries (letters, digits, '-' and '_' make a token).", max_length=100, unique=True, validators=[django.core.validators.RegexValidator("^[A-Za-z0-9_-]+$", "A token holds letters, digits, '-' and '_' only.")])),
                ("operator", models.CharField(max_length=100)),
                ("purpose", models.CharField(choices=[("training", "training crawler"), ("search", "search indexer"), ("user", "fetcher for a user")], max_length=10)),
                ("platform", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="agents", to="referrals.aiplatform")),
                ("documentation_url", models.URLField(blank=True)),
                ("active", models.BooleanField(default=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "AI agent",
                "ordering": ["name"],
                "constraints": [models.CheckConstraint(condition=models.Q(("purpose__in", ["training", "search", "user"])), name="ai_agent_purpose_valid")],
            },
        ),
        migrations.CreateModel(
            name="AgentTrafficRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("connection", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="agent_rows", to="referrals.connection")),
                ("brand", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="referrals.brand")),
                ("date", models.DateField()),
                ("raw_user_agent", models.CharField(max_length=1024)),
                ("user_agent_key", models.CharField(editable=False, max_length=64)),
                ("raw_page_value", models.CharField(max_length=2048)),
                ("page", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="agent_rows", to="referrals.sitemappage")),
                ("agent", models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="referrals.aiagent")),
                ("hits", models.BigIntegerField()),
                ("verified", models.BooleanField(blank=True, null=True)),
                ("batch_id", models.CharField(blank=True, max_length=128, null=True)),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["brand", "page", "date"], name="agent_row_page_date"),
                    models.Index(fields=["brand", "connection", "date"], include=["page", "agent", "hits", "verified"], name="agent_row_window"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("brand", "connection", "date", "page", "user_agent_key"), name="agent_row_upsert_key"),
                    models.CheckConstraint(condition=models.Q(("hits__gte", 0)), name="agent_row_hits_non_negative"),
                ],
            },
        ),
        migrations.CreateModel(
            name="DroppedUserAgent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("connection", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="dropped_user_agents", to="referrals.connection")),
                ("brand", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="referrals.brand")),
                ("raw_user_agent", models.CharField(max_length=1024)),
                ("user_agent_key", models.CharField(editable=False, max_length=64)),
                ("count", models.BigIntegerField(default=0)),
                ("first_seen_at", models.DateTimeField()),
                ("last_seen_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["-count"],
                "indexes": [models.Index(fields=["-count", "-id"], name="dropped_user_agent_top")],
                "constraints": [models.UniqueConstraint(fields=("brand", "connection", "user_agent_key"), name="dropped_user_agent_unique")],
            },
        ),
        migrations.CreateModel(
            name="DailyAgentTotal",
            fields=[
                ("pk", models.CompositePrimaryKey("brand", "connection", "date", "agent", blank=True, editable=False, primary_key=True, serialize=False)),
                ("brand", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="referrals.brand")),
                ("connection", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="daily_agent_totals", to="referrals.connection")),
                ("date", models.DateField()),
                ("agent", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="referrals.aiagent")),
                ("row_count", models.IntegerField()),
                ("hits", models.BigIntegerField()),
                ("verified_hits", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(distribute, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="connection",
            name="one_active_connection_per_brand_website",
        ),
        migrations.AddField(
            model_name="connection",
            name="kind",
            field=models.CharField(choices=[("referral", "AI referrals"), ("agent", "agent traffic")], default="referral", max_length=10),
        ),
        migrations.AlterField(
            model_name="connection",
            name="provider",
            field=models.CharField(choices=[("adobe_analytics", "Adobe Analytics"), ("cloudflare", "Cloudflare"), ("fastly", "Fastly"), ("akamai", "Akamai"), ("vercel", "Vercel"), ("cloudfront", "Amazon CloudFront"), ("nginx", "nginx"), ("apache", "Apache"), ("other", "Other")], max_length=50),
        ),
        migrations.AddConstraint(
            model_name="connection",
            constraint=models.UniqueConstraint(condition=models.Q(("status", "active")), fields=("brand", "website", "kind"), name="one_active_connection_per_brand_website_kind"),
        ),
        migrations.AddConstraint(
            model_name="connection",
            constraint=models.CheckConstraint(condition=models.Q(("kind__in", ["referral", "agent"])), name="connection_kind_valid"),
        ),
        migrations.RunPython(seed, unseed),
    ]
