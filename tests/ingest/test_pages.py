"""Site-map pages created by pushes: one per (brand, website, raw page value)."""

import pytest

from referrals.models import Connection, ReferralRow, SitemapPage
from tests.factories import event, push

pytestmark = pytest.mark.django_db

WEBSITES = ("example.com", "shop.example")


@pytest.mark.parametrize("order", [WEBSITES, WEBSITES[::-1]])
def test_one_brand_pushing_the_same_page_to_two_websites_gets_a_page_on_each(
    api_client, brand, order
):
    connections = {
        website: Connection.objects.create(brand=brand, website=website, provider="adobe_analytics")
        for website in WEBSITES
    }
    sessions = {"example.com": 3, "shop.example": 40}
    for website in order:
        events = [event(raw_page_value="/pricing", sessions=sessions[website])]
        assert push(api_client, connections[website], events).json()["accepted"] == 1

    pages = SitemapPage.objects.filter(brand=brand)
    assert sorted(pages.values_list("website", "url")) == [
        ("example.com", "https://example.com/pricing"),
        ("shop.example", "https://shop.example/pricing"),
    ]
    for row in ReferralRow.objects.select_related("connection", "page"):
        assert (row.page.website, row.page.raw_page_value) == (row.connection.website, "/pricing")
    for website in WEBSITES:
        listing = api_client.get(
            f"/v1/{brand.pk}/sitemap/pages",
            {"domain": website, "start_date": "2026-05-20", "end_date": "2026-05-20"},
        ).json()
        assert [(item["url"], item["ai_referrals"]["sessions"]) for item in listing["items"]] == [
            (f"https://{website}/pricing", sessions[website])
        ]
