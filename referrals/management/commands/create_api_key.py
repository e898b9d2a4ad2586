"""create_api_key --org "Acme" --scopes configure,query [--name etl]: prints the token alone."""

from django.core.management.base import BaseCommand, CommandError

from referrals.management.arguments import name_option
from referrals.models import SCOPES, ApiKey, Organization
from referrals.tenancy.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; prints the token alone on stdout (it is never shown again)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name (must exist).")
        parser.add_argument(
            "--scopes", required=True, help=f"Comma-separated scopes: {','.join(SCOPES)}."
        )
        parser.add_argument("--name", default="cli", help="A name to recognise the key by.")

    def handle(self, *args, org: str, scopes: str, name: str, **options):
        org = name_option(org, option="--org", model=Organization)
        name = name_option(name, option="--name", model=ApiKey)
        organization = Organization.objects.filter(name=org).first()
        if organization is None:
            raise CommandError(f"Organization {org!r} does not exist; create a brand first.")
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        if not wanted:
            raise CommandError("--scopes needs at least one scope.")
        try:
            new_key = api_key_create(organization=organization, name=name, scopes=wanted)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(new_key.token)
