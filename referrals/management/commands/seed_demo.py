"""seed_demo: a demo organization, brand, connections (AI referrals and agent traffic), admin
user and API key for the run command, and once, 90 days of sample traffic of both kinds pushed
through the push client and the real API, so that a newcomer's first dashboard is a full one
(its AI agents section included)."""

import shlex

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from referrals.connections.services import connection_register
from referrals.management.demo_data import demo_agent_rows, demo_referral_rows
from referrals.models import KIND_AGENT, KIND_REFERRAL, Brand, Connection, Organization
from referrals.tenancy.services import api_key_create

DEMO_ORG = "Demo Org"
DEMO_BRAND = "Demo Brand"
DEMO_WEBSITE = "example.com"
DEMO_AGENT_PROVIDER = "cloudflare"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def demo_push(*, base_url: str, connection: Connection, token: str):
    """The sample of the connection's kind through the push client (referrals-push's
    push_rows, kind "referrals" or "agents") into this process's own WSGI application: the
    real API, the real pipeline, no server needed yet."""
    import httpx
    from django.core.wsgi import get_wsgi_application
    from referrals_push import push_rows

    agents = connection.kind == KIND_AGENT
    transport = httpx.WSGITransport(app=get_wsgi_application())
    # The requests share this command's database connection (one thread): Django must not
    # close it at their start and end, as its test client does not (inside a transaction it
    # would, the autocommit setting differing).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        with httpx.Client(transport=transport, timeout=120) as http:
            return push_rows(
                demo_agent_rows() if agents else demo_referral_rows(),
                kind="agents" if agents else "referrals",
                base_url=base_url,
                brand=connection.brand_id,
                connection=connection.pk,
                token=token,
                http=http,
            )
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def demo_connection(*, brand: Brand, kind: str, provider: str) -> Connection:
    """The demo website's active connection of a kind, registered on the first run."""
    return Connection.objects.filter(
        brand=brand, website=DEMO_WEBSITE, kind=kind, status=Connection.STATUS_ACTIVE
    ).first() or connection_register(
        brand=brand, website=DEMO_WEBSITE, provider=provider, kind=kind
    )


class Command(BaseCommand):
    help = "Create (once) a demo organization, brand, connection and admin; print a new API key."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo", help="Password of the demo admin.")
        parser.add_argument(
            "--no-data", action="store_true", help="Do not push the 90-day traffic sample."
        )
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"Server address in the printed examples (default {DEFAULT_BASE_URL}).",
        )

    def handle(self, *args, password: str, base_url: str, no_data: bool, **options):
        organization, _ = Organization.objects.get_or_create(name=DEMO_ORG)
        brand, _ = Brand.objects.get_or_create(organization=organization, name=DEMO_BRAND)
        connection = demo_connection(brand=brand, kind=KIND_REFERRAL, provider="adobe_analytics")
        agent_connection = demo_connection(
            brand=brand, kind=KIND_AGENT, provider=DEMO_AGENT_PROVIDER
        )
        User = get_user_model()
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User.objects.create_superuser("admin", "admin@example.com", password)
        organization.members.add(admin)
        # The token is never stored in clear, so every run issues a new one.
        token = api_key_create(
            organization=organization, name="demo", scopes=["configure", "query"]
        ).token
        base = base_url.rstrip("/")
        if not no_data and not connection.rows.exists():
            result = demo_push(base_url=base, connection=connection, token=token)
            self.stdout.write(
                f"Sample data:   {result.accepted:,} rows of 90 days pushed through the push "
                f"client ({result.rejected:,} from referrers that are no AI assistant)\n"
            )
        if not no_data and not agent_connection.agent_rows.exists():
            result = demo_push(base_url=base, connection=agent_connection, token=token)
            self.stdout.write(
                f"Agent traffic: {result.accepted:,} rows of 90 days pushed through the push "
                f"client ({result.rejected:,} from user agents that are no AI agent)\n"
            )
        connections = base + reverse("connections", kwargs={"brand_id": brand.pk})
        events = base + reverse(
            "push-events", kwargs={"brand_id": brand.pk, "connection_id": connection.pk}
        )
        auth = shlex.quote(f"Authorization: Bearer {token}")
        register_body = shlex.quote(
            '{"website": "https://www.shop.example.com/", "provider": "adobe_analytics"}'
        )
        self.stdout.write(
            f"Organization:  {organization.name}\n"
            f"Brand:         {brand.name} (brand_id {brand.pk})\n"
            f"Connection:    {connection.pk} ({connection.website})\n"
            f"Agent traffic: {agent_connection.pk} ({agent_connection.website}, "
            f"{agent_connection.provider} logs)\n"
            f"Admin login:   admin / {password}  ->  {base}/admin/  and  {base}/dashboard/\n"
            f"API key:       {token}\n\n"
            "List the active connections:\n"
            f"  curl -sS '{connections}?status=active' -H {auth}\n\n"
            "Register another website:\n"
            f"  curl -sS -X POST {connections} -H {auth} \\\n"
            f"    -H 'Content-Type: application/json' -d {register_body}\n\n"
            "Push two rows:\n"
            f"  curl -sS -X POST {events} \\\n"
            f"    -H {auth} -H 'Content-Type: application/x-ndjson' \\\n"
            "    --data-binary $'"
            '{"date":"2026-05-20","raw_referrer_value":"chatgpt.com",'
            '"raw_page_value":"/blog/launch","sessions":12,"pageviews":20}\\n'
            '{"date":"2026-05-20","raw_referrer_value":"https://www.perplexity.ai/search?q=x",'
            '"raw_page_value":"/","sessions":3}'
            "'\n"
        )
