"""create_brand --org "Acme" --name "Acme Shoes" [--id 1234]: prints the brand id."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from referrals.management.arguments import name_option
from referrals.models import Brand, Organization
from referrals.tenancy.services import brand_create


class Command(BaseCommand):
    help = "Create a brand (and its organization if needed); prints the brand id."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name (created if missing).")
        parser.add_argument("--name", required=True, help="Brand name.")
        parser.add_argument("--id", type=int, default=None, help="Explicit brand id.")

    def handle(self, *args, org: str, name: str, id: int | None, **options):
        org = name_option(org, option="--org", model=Organization)
        name = name_option(name, option="--name", model=Brand)
        if id is not None and (id <= 0 or id > 2**63 - 1):
            raise CommandError("--id must be a positive 64-bit integer.")
        if id is not None and Brand.objects.filter(pk=id).exists():
            raise CommandError(f"Brand {id} already exists.")
        try:
            brand = brand_create(org_name=org, name=name, brand_id=id)
        except IntegrityError as exc:
            raise CommandError(f"Could not create the brand: {exc}") from None
        self.stdout.write(str(brand.pk))
