"""Tenant scoping in one place: every API read starts from the token's organization."""

from rest_framework.exceptions import NotFound

from ..models import Brand, Connection

BRAND_NOT_FOUND = "Brand not found."
CONNECTION_NOT_FOUND = "Connection not found."
MAX_BIGINT = 2**63 - 1


def brand_for_request(request, brand_id: str) -> Brand:
    """The brand if it belongs to the token's organization; the same 404 body otherwise."""
    if not brand_id.isascii() or not brand_id.isdigit() or not 0 < int(brand_id) <= MAX_BIGINT:
        raise NotFound(BRAND_NOT_FOUND)
    brand = Brand.objects.filter(
        pk=int(brand_id), organization_id=request.auth.organization_id
    ).first()
    if brand is None:
        raise NotFound(BRAND_NOT_FOUND)
    return brand


def connection_for_brand(brand: Brand, connection_id: str) -> Connection:
    # A ULID is 26 characters; anything else cannot exist, so skip the query.
    connection = (
        Connection.objects.filter(brand=brand, pk=connection_id.upper()).first()
        if len(connection_id) == 26
        else None
    )
    if connection is None:
        raise NotFound(CONNECTION_NOT_FOUND)
    return connection


class BrandScopedMixin:
    """Views under /v1/{brand_id}/...: resolves the brand once, after auth and scope checks."""

    _brand: Brand | None = None

    def get_brand(self) -> Brand:
        if self._brand is None:
            self._brand = brand_for_request(self.request, self.kwargs["brand_id"])
        return self._brand
