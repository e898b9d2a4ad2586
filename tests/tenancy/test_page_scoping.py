"""A sitemap page id only opens a page of the brand in the URL, even on a shared website."""

import pytest

from referrals.models import Brand, Connection
from referrals.tenancy.scoping import PAGE_NOT_FOUND
from tests.factories import row

pytestmark = pytest.mark.django_db

WINDOW = {"start_date": "2026-05-01", "end_date": "2026-05-31"}


@pytest.fixture
def shared_website(brand, organization, other_brand):
    """Three brands (two of the token's organization, one of another) with an active
    connection for example.com each, and each a /pricing page with its own sessions."""
    sister = Brand.objects.create(organization=organization, name="Acme Socks")
    pages = {}
    for name, owner, sessions in [
        ("own", brand, 7),
        ("sister", sister, 1001),
        ("other_org", other_brand, 2002),
    ]:
        connection = Connection.objects.create(
            brand=owner, website="example.com", provider="adobe_analytics"
        )
        pages[name] = row(connection, "2026-05-20", "chatgpt", "/pricing", sessions=sessions).page
    return pages


@pytest.mark.parametrize("suffix", ["", "/metrics"])
@pytest.mark.parametrize("owner", ["sister", "other_org"])
def test_a_page_of_another_brand_on_the_same_website_is_404(
    api_client, brand, shared_website, owner, suffix
):
    theirs = shared_website[owner]
    assert theirs.website == shared_website["own"].website  # same website, other brand
    own = api_client.get(f"/v1/{brand.pk}/sitemap/pages/{shared_website['own'].pk}{suffix}", WINDOW)
    assert own.status_code == 200  # the brand, its connection and the window are all fine
    assert "ChatGPT" in own.content.decode()

    response = api_client.get(f"/v1/{brand.pk}/sitemap/pages/{theirs.pk}{suffix}", WINDOW)

    assert response.status_code == 404, response.content
    assert response.json() == {"detail": PAGE_NOT_FOUND}
