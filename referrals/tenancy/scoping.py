"""Tenant scoping in one place: every API read starts from the token's organization."""

import re

from rest_framework.exceptions import NotFound

from referrals.api.errors import PATH, RequestValidationError, error_item
from referrals.models import KIND_REFERRAL, Brand, Connection, SitemapPage

BRAND_NOT_FOUND = "Brand not found."
CONNECTION_NOT_FOUND = "Connection not found."
PAGE_NOT_FOUND = "Page not found."
MAX_BIGINT = 2**63 - 1
NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"
_INTEGER = re.compile(r"[+-]?[0-9]+")


def id_parse(value: str) -> int | None:
    """A positive bigint id written in ASCII digits, or None: such an id cannot exist, so
    callers answer 404 without a query. The length check keeps int() off huge strings."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    number = int(value)
    return number if 0 < number <= MAX_BIGINT else None


def path_id_parse(value: str, name: str) -> int | None:
    """A path id as the published contract types it (an integer): not an integer is a 422
    naming the parameter; an integer no row can have (0, negative, past bigint) is None."""
    if not _INTEGER.fullmatch(value):
        raise RequestValidationError([error_item(PATH, name, NOT_AN_INTEGER, "int_parsing")])
    return id_parse(value.lstrip("+"))


def brand_for_request(request, brand_id: str) -> Brand:
    """The brand if it belongs to the token's organization; the same 404 body otherwise."""
    pk = path_id_parse(brand_id, "brand_id")
    if pk is None:
        raise NotFound(BRAND_NOT_FOUND)
    brand = Brand.objects.filter(pk=pk, organization_id=request.auth.organization_id).first()
    if brand is None:
        raise NotFound(BRAND_NOT_FOUND)
    return brand


def connection_for_brand(brand: Brand, connection_id: str, kind: str = KIND_REFERRAL) -> Connection:
    """A connection of the brand, of the kind the URL names (an agent connection is not found
    under /ai-referrals/, nor a referral one under /agent-traffic/)."""
    # A ULID is 26 characters; anything else cannot exist, so skip the query.
    connection = (
        Connection.objects.filter(brand=brand, kind=kind, pk=connection_id.upper()).first()
        if len(connection_id) == 26
        else None
    )
    if connection is None:
        raise NotFound(CONNECTION_NOT_FOUND)
    return connection


def page_for_brand(brand: Brand, page_id: str) -> SitemapPage:
    """A sitemap page of the brand; ids that cannot exist (not a positive bigint) skip the query."""
    pk = path_id_parse(page_id, "page_id")
    page = SitemapPage.objects.filter(brand=brand, pk=pk).first() if pk is not None else None
    if page is None:
        raise NotFound(PAGE_NOT_FOUND)
    return page


class BrandScopedMixin:
    """Views under /v1/{brand_id}/...: resolves the brand once, after auth and scope checks."""

    _brand: Brand | None = None

    def get_brand(self) -> Brand:
        if self._brand is None:
            self._brand = brand_for_request(self.request, self.kwargs["brand_id"])
        return self._brand
