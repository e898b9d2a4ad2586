"""Sitemap API: shapes, filters, ordering, totals, active-connection reads, series, exports."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from referrals.models import (
    AIPlatform,
    Brand,
    Connection,
    ReferralRow,
    SitemapPage,
    page_key,
)
from referrals.sitemap import api as sitemap_views
from referrals.sitemap import serializers as sitemap_serializers
from referrals.sitemap.selectors import BRAND_HAS_NO_WEBSITE
from referrals.tenancy.scoping import BRAND_NOT_FOUND, PAGE_NOT_FOUND
from tests.factories import PLAN_QUERIES

pytestmark = pytest.mark.django_db

D = date(2026, 5, 20)  # a Wednesday
WINDOW = {"start_date": "2026-05-01", "end_date": "2026-05-28"}
REFERRERS = {"chatgpt": "chatgpt.com", "perplexity": "perplexity.ai", "claude": "claude.ai"}


def pages_url(brand_id, page_id=None, suffix=""):
    base = f"/v1/{brand_id}/sitemap/pages"
    return f"{base}/{page_id}{suffix}" if page_id is not None else base


def export_url(brand_id):
    return f"/v1/{brand_id}/sitemap/export"


def make_page(brand, raw, website="example.com"):
    """As the ingest pipeline stores a page: url, path and depth computed from the raw value."""
    url = f"https://{website}{raw}" if raw.startswith("/") else raw
    path = raw.split("?")[0].split("#")[0] if raw.startswith("/") else ""
    return SitemapPage.objects.create(
        brand=brand,
        website=website,
        raw_page_value=raw,
        page_key=page_key(raw),
        url=url,
        path=path,
        depth=len([segment for segment in path.split("/") if segment]),
    )


def make_row(connection, page, day=D, platform="chatgpt", referrer=None, **metrics):
    return ReferralRow.objects.create(
        connection=connection,
        brand=connection.brand,
        date=day,
        raw_referrer_value=referrer or REFERRERS.get(platform, "chatgpt.com"),
        raw_page_value=page.raw_page_value,
        page=page,
        platform=AIPlatform.objects.get(slug=platform) if platform else None,
        updated_at=timezone.now(),
        **metrics,
    )


def get_items(client, brand, **params):
    response = client.get(pages_url(brand.pk), {**WINDOW, **params})
    assert response.status_code == 200, response.content
    return response.json()


def urls(body):
    return [item["url"].removeprefix("https://example.com") for item in body["items"]]


@pytest.fixture
def site(brand, connection):
    """Three pages of example.com; /blog/launch-notes has ChatGPT and Perplexity traffic."""
    pages = {raw: make_page(brand, raw) for raw in ["/", "/blog", "/blog/launch-notes"]}
    launch = pages["/blog/launch-notes"]
    make_row(connection, launch, pageviews=400, sessions=290, transactions=7)
    make_row(
        connection, launch, platform="chatgpt", referrer="chat.openai.com", pageviews=12,
        sessions=8, transactions=None, purchase_revenue=Decimal("1842.5000"),
    )  # fmt: skip
    make_row(connection, launch, D - timedelta(days=1), "perplexity", sessions=71, pageviews=None)
    make_row(connection, pages["/"], sessions=5, purchase_revenue=Decimal("0.0050"))
    return pages


def test_list_shape_and_totals(api_client, brand, site):
    body = get_items(api_client, brand)
    assert {k: v for k, v in body.items() if k != "items"} == {
        "total": 3,
        "offset": 0,
        "limit": 100,
        "domain": "example.com",
        "last_crawl_completed": None,
    }
    launch = body["items"][2]
    assert launch == {
        "id": site["/blog/launch-notes"].pk,
        "url": "https://example.com/blog/launch-notes",
        "title": None,
        "description": None,
        "depth": 2,
        "audit_score": None,
        "canonical_url": None,
        "is_priority": False,
        "has_optimized_content": False,
        "ai_referrals": {
            "pageviews": 412,
            "sessions": 369,
            "transactions": 7,
            "purchase_revenue": 1842.5,
            "count_by_platform": {"ChatGPT": 298, "Perplexity": 71},
        },
        "agent_traffic": {"hits": 0, "count_by_platform": {}},
    }
    assert list(launch["ai_referrals"]["count_by_platform"]) == ["ChatGPT", "Perplexity"]
    root, blog = body["items"][0], body["items"][1]
    assert root["ai_referrals"] == {
        "pageviews": 0,
        "sessions": 5,
        "transactions": 0,
        "purchase_revenue": 0.01,
        "count_by_platform": {"ChatGPT": 5},
    }
    # A page without traffic in the window is listed with zero totals.
    assert blog["ai_referrals"] == {
        "pageviews": 0,
        "sessions": 0,
        "transactions": 0,
        "purchase_revenue": 0.0,
        "count_by_platform": {},
    }


def test_rows_without_platform_or_sessions_do_not_show_in_count_by_platform(
    api_client, brand, connection, site
):
    blog = site["/blog"]
    make_row(connection, blog, platform=None, referrer="google.com", sessions=50, pageviews=50)
    make_row(connection, blog, platform="claude", sessions=0, pageviews=3)
    make_row(connection, blog, platform="perplexity", sessions=None, pageviews=2)
    item = get_items(api_client, brand, path_prefix="/blog", max_depth=1)["items"][0]
    assert item["ai_referrals"] == {
        "pageviews": 5,
        "sessions": 0,
        "transactions": 0,
        "purchase_revenue": 0.0,
        "count_by_platform": {},
    }


def test_revenue_sums_exactly_and_rounds_to_cents(api_client, brand, connection):
    page = make_page(brand, "/p")
    for day in range(10):
        make_row(connection, page, D - timedelta(days=day), purchase_revenue=Decimal("0.1000"))
    make_row(connection, page, D, "claude", purchase_revenue=Decimal("1000000000.0049"))
    revenue = get_items(api_client, brand)["items"][0]["ai_referrals"]["purchase_revenue"]
    assert revenue == 1000000001.0


def test_window_is_inclusive_on_both_ends(api_client, brand, connection):
    page = make_page(brand, "/p")
    for day, sessions in [(date(2026, 4, 30), 1), (date(2026, 5, 1), 10), (date(2026, 5, 28), 100)]:
        make_row(connection, page, day, sessions=sessions)
    make_row(connection, page, date(2026, 5, 29), sessions=1000)
    assert get_items(api_client, brand)["items"][0]["ai_referrals"]["sessions"] == 110
    one_day = {"start_date": "2026-05-28", "end_date": "2026-05-28"}
    assert get_items(api_client, brand, **one_day)["items"][0]["ai_referrals"]["sessions"] == 100


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 110),  # the 30 days ending today: 2026-04-29 .. 2026-05-28
        ({"end_date": "2026-05-27"}, 11),  # the 30 days ending then: 2026-04-28 ..
        ({"start_date": "2026-05-01"}, 100),  # .. until today
    ],
)
def test_default_window(api_client, brand, connection, monkeypatch, params, expected):
    monkeypatch.setattr(sitemap_serializers, "today_utc", lambda: date(2026, 5, 28))
    page = make_page(brand, "/p")
    for day, sessions in [((4, 27), 1000), ((4, 28), 1), ((4, 29), 10), ((5, 28), 100)]:
        make_row(connection, page, date(2026, *day), sessions=sessions)
    body = api_client.get(pages_url(brand.pk), params).json()
    assert body["items"][0]["ai_referrals"]["sessions"] == expected


def test_reads_follow_the_active_connection(api_client, brand, connection, site):
    launch = site["/blog/launch-notes"]
    Connection.objects.filter(pk=connection.pk).update(status="disabled")
    # Disabled: the pages stay listed (by domain: no default website now), the old rows stop
    # counting.
    body = get_items(api_client, brand, domain="example.com")
    assert body["total"] == 3
    assert all(item["ai_referrals"]["sessions"] == 0 for item in body["items"])
    # A re-registered connection starts empty and counts only what is pushed to it.
    fresh = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    assert get_items(api_client, brand)["items"][2]["ai_referrals"]["count_by_platform"] == {}
    make_row(fresh, launch, sessions=3)
    totals = get_items(api_client, brand)["items"][2]["ai_referrals"]
    assert totals["sessions"] == 3 and totals["count_by_platform"] == {"ChatGPT": 3}
    detail = api_client.get(pages_url(brand.pk, launch.pk), WINDOW).json()
    assert detail["ai_referrals"]["sessions"] == 3
    series = api_client.get(pages_url(brand.pk, launch.pk, "/metrics"), WINDOW).json()
    assert sum(sum(b["count_by_platform"].values()) for b in series["metrics"]["ai_referrals"]) == 3


def test_rows_of_another_website_connection_do_not_count(api_client, brand, connection):
    page = make_page(brand, "/p")
    other = Connection.objects.create(
        brand=brand, website="other.example", provider="adobe_analytics"
    )
    make_row(other, page, sessions=9)  # inconsistent data: the page is example.com's
    make_row(connection, page, sessions=1)
    assert get_items(api_client, brand)["items"][0]["ai_referrals"]["sessions"] == 1


def test_default_domain_is_the_oldest_active_connections_website(api_client, brand):
    for website in ["c.example", "b.example", "a.example"]:
        Connection.objects.create(brand=brand, website=website, provider="adobe_analytics")
        make_page(brand, "/", website=website)
    assert get_items(api_client, brand)["domain"] == "c.example"  # registered first
    Connection.objects.filter(website="c.example").update(status="disabled")
    assert get_items(api_client, brand)["domain"] == "b.example"
    # Registering another website never changes it.
    Connection.objects.create(brand=brand, website="0.example", provider="adobe_analytics")
    assert get_items(api_client, brand)["domain"] == "b.example"
    body = get_items(api_client, brand, domain="https://WWW.A.Example/x?y=1")
    assert body["domain"] == "a.example"
    assert [item["url"] for item in body["items"]] == ["https://a.example/"]
    # A disabled website is still read when named.
    assert get_items(api_client, brand, domain="c.example")["domain"] == "c.example"


def test_a_brand_with_only_disabled_connections_has_no_default_website(
    api_client, brand, connection
):
    Connection.objects.filter(pk=connection.pk).update(status="disabled")
    response = api_client.get(pages_url(brand.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": BRAND_HAS_NO_WEBSITE}


def test_unknown_domain_and_brand_without_website_are_404(api_client, brand, connection):
    response = api_client.get(pages_url(brand.pk), {"domain": "nowhere.example"})
    assert response.status_code == 404
    assert "nowhere.example" in response.json()["detail"]
    connection.delete()
    response = api_client.get(pages_url(brand.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": BRAND_HAS_NO_WEBSITE}
    assert api_client.get(export_url(brand.pk)).status_code == 404


@pytest.mark.parametrize("domain", ["example.com\x00", "\x00"])
def test_a_domain_with_a_nul_is_an_unknown_domain(api_client, brand, site, domain):
    """The published contract takes any string as `domain`: one no website can be (a NUL) is
    the 404 of an unknown domain, not a 422 (nor a 500 from PostgreSQL)."""
    for url in (pages_url(brand.pk), export_url(brand.pk)):
        response = api_client.get(url, {"domain": domain})
        assert response.status_code == 404, response.content
        assert isinstance(response.json()["detail"], str)


def test_max_depth(api_client, brand, site):
    assert urls(get_items(api_client, brand, max_depth=0)) == ["/"]
    assert urls(get_items(api_client, brand, max_depth=1)) == ["/", "/blog"]
    assert get_items(api_client, brand, max_depth=2)["total"] == 3


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/blog", ["/blog", "/blog/", "/blog/post", "/blog/post/deep"]),
        ("/blog/", ["/blog", "/blog/", "/blog/post", "/blog/post/deep"]),
        ("/blog/post", ["/blog/post", "/blog/post/deep"]),
        ("/Blog", []),
        ("/blo", []),
        ("/", ["/", "/blog", "/blog/", "/blogger", "/blog/post", "/blog/post/deep"]),
        ("/b%g", []),
        # The published contract takes any string: without its leading slash, as if it had one.
        ("blog", ["/blog", "/blog/", "/blog/post", "/blog/post/deep"]),
        ("blog/post", ["/blog/post", "/blog/post/deep"]),
    ],
)
def test_path_prefix_is_segment_aligned(api_client, brand, connection, prefix, expected):
    for raw in ["/", "/blog", "/blogger", "/blog/", "/blog/post", "/blog/post/deep", "Home"]:
        make_page(brand, raw)
    assert urls(get_items(api_client, brand, path_prefix=prefix)) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("BLOG", ["/blog", "/Blog/Post"]),
        ("post", ["/Blog/Post"]),
        ("%", ["/100%-real"]),
        ("_", ["/a_b"]),
        ("a_b", ["/a_b"]),
        ("\\", ["/back\\slash"]),
        ("https://EXAMPLE.com/1", ["/100%-real"]),
        ("Home Page", ["Home Page"]),
        ("zzz", []),
        ("été", []),  # only ASCII letters fold, on both databases
        ("Été", ["/Été"]),
        (
            "",
            [
                "/axb",
                "/a_b",
                "/blog",
                "/100%-real",
                "/Blog/Post",
                "/back\\slash",
                "Home Page",
                "/Été",
            ],
        ),
    ],
)
def test_search_is_a_case_insensitive_literal_substring(
    api_client, brand, connection, term, expected
):
    raws = [
        "/blog",
        "/Blog/Post",
        "/100%-real",
        "/a_b",
        "/axb",
        "/back\\slash",
        "Home Page",
        "/Été",
    ]
    for raw in raws:
        make_page(brand, raw)
    assert sorted(urls(get_items(api_client, brand, search=term))) == sorted(expected)


def test_default_ordering_is_depth_then_url_by_code_point(api_client, brand, connection):
    for raw in ["/ab", "/a/b", "/aB", "/a-b", "/a_b", "/", "Home"]:
        make_page(brand, raw)
    assert urls(get_items(api_client, brand)) == ["Home", "/", "/a-b", "/aB", "/a_b", "/ab", "/a/b"]


def test_ordering_by_ai_referrals_uses_all_filtered_pages(api_client, brand, connection):
    pages = {raw: make_page(brand, raw) for raw in ["/a", "/b", "/c", "/d", "/e/f"]}
    make_row(connection, pages["/d"], sessions=5)
    make_row(connection, pages["/b"], sessions=5)
    make_row(connection, pages["/e/f"], sessions=50)
    make_row(connection, pages["/c"], platform="claude", sessions=2)
    make_row(connection, pages["/c"], sessions=None, pageviews=100)
    make_row(connection, pages["/a"], date(2026, 6, 5), sessions=1000)  # outside the window
    ordering = {"ordering": "-ai_referrals"}
    assert urls(get_items(api_client, brand, **ordering)) == ["/e/f", "/b", "/d", "/c", "/a"]
    second = get_items(api_client, brand, **ordering, limit=2, offset=2)
    assert urls(second) == ["/d", "/c"]
    assert second["items"][0]["ai_referrals"]["sessions"] == 5
    assert urls(get_items(api_client, brand, **ordering, max_depth=1, limit=1)) == ["/b"]


def test_pagination(api_client, brand, connection):
    for i in range(5):
        make_page(brand, f"/p{i}")
    body = get_items(api_client, brand, limit=2, offset=1)
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    assert urls(body) == ["/p1", "/p2"]
    body = get_items(api_client, brand, limit=2, offset=4)
    assert urls(body) == ["/p4"]
    body = get_items(api_client, brand, offset=99)
    assert body["total"] == 5 and body["items"] == []
    assert get_items(api_client, brand, limit=1000)["limit"] == 1000


@pytest.mark.parametrize("huge", ["32768", str(2**31), str(2**63), "9" * 30])
def test_max_depth_and_offset_have_no_upper_bound_as_published(api_client, brand, site, huge):
    """The published contract declares max_depth and offset `minimum: 0` and nothing more: a
    larger integer is a valid request (every page; an empty page of results), not a 422."""
    body = get_items(api_client, brand, max_depth=huge)
    assert body["total"] == 3 and len(body["items"]) == 3
    body = get_items(api_client, brand, offset=huge)
    assert (body["total"], body["offset"], body["items"]) == (3, int(huge), [])
    response = api_client.get(export_url(brand.pk), {**WINDOW, "max_depth": huge})
    assert response.status_code == 200 and len(csv_rows(response)) == 4


@pytest.mark.parametrize("params", [{"search": "a\x00b"}, {"path_prefix": "/blog\x00"}])
def test_a_nul_in_search_or_path_prefix_matches_no_page(api_client, brand, site, params):
    """The published contract takes any string there; no page url holds a NUL (the push
    refuses one), so the answer is no page, not a 422 (nor a 500 from PostgreSQL)."""
    body = get_items(api_client, brand, **params)
    assert (body["total"], body["items"]) == (0, [])
    response = api_client.get(export_url(brand.pk), {**WINDOW, **params})
    assert response.status_code == 200 and len(csv_rows(response)) == 1


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": "9" * 30}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"max_depth": "-1"}, "max_depth"),
        ({"max_depth": "deep"}, "max_depth"),
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026/05/01"}, "end_date"),
        ({"end_date": "2026-02-30"}, "end_date"),
        ({"ordering": "url"}, "ordering"),
        ({"ordering": "ai_referrals"}, "ordering"),
        ({"path_prefix": "/" + "x" * 2048}, "path_prefix"),
        ({"search": "x" * 2049}, "search"),
        ({"is_priority": "maybe"}, "is_priority"),
        ({"is_priority": "AAA"}, "is_priority"),
        ({"has_optimized_content": "2"}, "has_optimized_content"),
    ],
)
def test_invalid_list_parameters_are_422_naming_the_parameter(
    api_client, brand, site, params, parameter
):
    for url in (pages_url(brand.pk), export_url(brand.pk)):
        if url == export_url(brand.pk) and parameter in ("limit", "offset"):
            continue  # the export has no pagination
        response = api_client.get(url, params)
        assert response.status_code == 422, response.content
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", parameter]
        assert error["msg"] and error["type"]


@pytest.mark.parametrize(
    ("params", "expected_type"),
    [
        ({"limit": "0"}, "greater_than_equal"),
        ({"limit": "1001"}, "less_than_equal"),
        ({"limit": "ten"}, "int_parsing"),
        ({"is_priority": "maybe"}, "bool_parsing"),
        ({"start_date": "2026-02-30"}, "date_from_datetime_parsing"),
        ({"ordering": "url"}, "enum"),
    ],
)
def test_parameter_error_types_follow_pydantic(api_client, brand, site, params, expected_type):
    response = api_client.get(pages_url(brand.pk), params)
    assert response.json()["detail"][0]["type"] == expected_type


def test_every_bad_parameter_is_listed(api_client, brand, site):
    response = api_client.get(pages_url(brand.pk), {"limit": "0", "offset": "x"})
    assert response.status_code == 422
    assert sorted(e["loc"][1] for e in response.json()["detail"]) == ["limit", "offset"]


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-05-02", "end_date": "2026-05-01"},
        {"start_date": "2025-05-01", "end_date": "2026-05-02"},  # 367 days
        {"start_date": "9999-12-31"},  # after today
    ],
)
def test_windows_the_service_refuses_are_400_with_a_plain_detail(api_client, brand, site, params):
    for url in (pages_url(brand.pk), export_url(brand.pk)):
        response = api_client.get(url, params)
        assert response.status_code == 400
        detail = response.json()["detail"]
        assert isinstance(detail, str) and not detail.startswith(("end_date:", "detail:"))


@pytest.mark.parametrize("domain", ["not a host", "localhost"])
def test_a_domain_that_is_not_a_hostname_is_an_unknown_domain(api_client, brand, site, domain):
    response = api_client.get(pages_url(brand.pk), {"domain": domain})
    assert response.status_code == 404
    assert domain in response.json()["detail"]


@pytest.mark.parametrize("suffix", ["", "/metrics"])
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start_date": "2026-05-32"}, 422),
        ({"start_date": "2026-05-02", "end_date": "2026-05-01"}, 400),
        ({"start_date": "2024-12-31", "end_date": "2026-01-01"}, 400),  # 367 days
    ],
)
def test_invalid_page_windows(api_client, brand, site, suffix, params, status):
    response = api_client.get(pages_url(brand.pk, site["/"].pk, suffix), params)
    assert response.status_code == status
    if status == 422:
        assert response.json()["detail"][0]["loc"] == ["query", "start_date"]


def test_a_window_of_366_days_is_allowed(api_client, brand, site):
    assert get_items(api_client, brand, start_date="2025-05-03", end_date="2026-05-03")["total"]


@pytest.mark.parametrize("ordering", ["depth,url", "-ai_referrals"])
def test_a_window_ending_on_the_last_calendar_day_is_served(api_client, brand, site, ordering):
    """December 9999 has no next month: the page ranking's month arithmetic answered 500."""
    response = api_client.get(
        pages_url(brand.pk),
        {"start_date": "9999-12-01", "end_date": "9999-12-31", "ordering": ordering},
    )
    assert response.status_code == 200, response.content
    assert {item["ai_referrals"]["sessions"] for item in response.json()["items"]} == {0}


def test_page_detail(api_client, brand, site):
    launch = site["/blog/launch-notes"]
    body = api_client.get(pages_url(brand.pk, launch.pk), WINDOW).json()
    listed = get_items(api_client, brand)["items"][2]
    assert body == {
        **listed,
        "last_indexed": None,
        "content_updated_at": None,
        "audit_findings": [],
    }
    only_d = {"start_date": D.isoformat(), "end_date": D.isoformat()}
    body = api_client.get(pages_url(brand.pk, launch.pk), only_d).json()
    assert body["ai_referrals"]["count_by_platform"] == {"ChatGPT": 298}


@pytest.mark.parametrize("suffix", ["", "/metrics"])
@pytest.mark.parametrize("page_id", ["0", "-1", "9" * 19, "9" * 30])
def test_impossible_page_ids_are_404(api_client, brand, site, suffix, page_id):
    response = api_client.get(pages_url(brand.pk, page_id, suffix))
    assert response.status_code == 404
    assert response.json() == {"detail": PAGE_NOT_FOUND}


@pytest.mark.parametrize("suffix", ["", "/metrics"])
@pytest.mark.parametrize("page_id", ["abc", "1.0", "１", "1e3"])
def test_non_integer_page_ids_are_422(api_client, brand, site, suffix, page_id):
    response = api_client.get(pages_url(brand.pk, page_id, suffix))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["path", "page_id"] and error["type"] == "int_parsing"


@pytest.mark.parametrize("brand_id", ["0", "9" * 19, "9" * 5000])
def test_impossible_brand_ids_are_404(api_client, brand_id):
    response = api_client.get(pages_url(brand_id))
    assert response.status_code == 404
    assert response.json() == {"detail": BRAND_NOT_FOUND}


@pytest.mark.parametrize("brand_id", ["abc", "1.5", "٣"])
def test_non_integer_brand_ids_are_422(api_client, brand_id):
    response = api_client.get(pages_url(brand_id))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "brand_id"]


@pytest.mark.parametrize("suffix", ["", "/metrics"])
def test_page_of_another_brand_is_404(api_client, brand, organization, other_brand, suffix):
    sister = Brand.objects.create(organization=organization, name="Acme Socks")
    for other in (sister, other_brand):
        page = make_page(other, "/")
        for brand_id in (brand.pk, other.pk):
            response = api_client.get(pages_url(brand_id, page.pk, suffix))
            expected = 200 if other == sister and brand_id == sister.pk else 404
            assert response.status_code == expected


@pytest.mark.parametrize(
    "path", ["/sitemap/pages", "/sitemap/pages/1", "/sitemap/pages/1/metrics", "/sitemap/export"]
)
def test_tenancy_and_scopes(client_with_scopes, brand, other_brand, site, path):
    page_path = path.replace("/1", f"/{site['/'].pk}")
    query_client = client_with_scopes("query")
    assert query_client.get(f"/v1/{brand.pk}{page_path}").status_code == 200
    hidden = query_client.get(f"/v1/{other_brand.pk}{page_path}")
    missing = query_client.get(f"/v1/999999{page_path}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": BRAND_NOT_FOUND}
    response = client_with_scopes("configure").get(f"/v1/{brand.pk}{page_path}")
    assert response.status_code == 403 and "query" in response.json()["detail"]
    assert client_with_scopes("configure").get(f"/v1/999999{page_path}").status_code == 403
    response = APIClient().get(f"/v1/{brand.pk}{page_path}")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def series(client, brand, page, start, end):
    response = client.get(
        pages_url(brand.pk, page.pk, "/metrics"), {"start_date": start, "end_date": end}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_metrics_daily_buckets_are_zero_filled(api_client, brand, site):
    body = series(api_client, brand, site["/blog/launch-notes"], "2026-05-17", "2026-05-21")
    assert body == {
        "granularity": "daily",
        "metrics": {
            "citations": [],
            "agent_traffic": [
                {"date": f"2026-05-{day}", "hits": 0, "count_by_platform": {}}
                for day in range(17, 22)
            ],
            "ai_referrals": [
                {"date": "2026-05-17", "count_by_platform": {}},
                {"date": "2026-05-18", "count_by_platform": {}},
                {"date": "2026-05-19", "count_by_platform": {"Perplexity": 71}},
                {"date": "2026-05-20", "count_by_platform": {"ChatGPT": 298}},
                {"date": "2026-05-21", "count_by_platform": {}},
            ],
        },
    }


def test_metrics_granularity_switches_to_weekly_after_90_days(api_client, brand, site):
    page = site["/"]
    daily = series(api_client, brand, page, "2026-03-01", "2026-05-29")  # 90 days
    assert daily["granularity"] == "daily" and len(daily["metrics"]["ai_referrals"]) == 90
    weekly = series(api_client, brand, page, "2026-02-28", "2026-05-29")  # 91 days, Sat..Fri
    assert weekly["granularity"] == "weekly"
    dates = [bucket["date"] for bucket in weekly["metrics"]["ai_referrals"]]
    assert dates[0] == "2026-02-23" and dates[-1] == "2026-05-25"
    assert len(dates) == 14
    assert all(date.fromisoformat(day).weekday() == 0 for day in dates)


def test_metrics_weekly_buckets_sum_their_days(api_client, brand, connection):
    page = make_page(brand, "/w")
    # Sunday 2026-05-17 belongs to the week of Monday 2026-05-11; Monday 05-18 starts a new one.
    for day, platform, sessions in [
        ((5, 11), "chatgpt", 1),
        ((5, 17), "chatgpt", 2),
        ((5, 17), "claude", 4),
        ((5, 18), "chatgpt", 8),
        ((1, 4), "chatgpt", 16),  # Sunday before the window: not counted
        ((1, 5), "chatgpt", 32),  # first day of the window
    ]:
        make_row(connection, page, date(2026, *day), platform, sessions=sessions)
    body = series(api_client, brand, page, "2026-01-05", "2026-12-31")  # 361 days
    buckets = {b["date"]: b["count_by_platform"] for b in body["metrics"]["ai_referrals"]}
    assert len(buckets) == 52
    assert buckets["2026-01-05"] == {"ChatGPT": 32}
    assert buckets["2026-05-11"] == {"Claude": 4, "ChatGPT": 3}
    assert buckets["2026-05-18"] == {"ChatGPT": 8}
    assert buckets["2026-12-28"] == {}
    assert sum(n for counts in buckets.values() for n in counts.values()) == 47


def csv_rows(response):
    content = response.content
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def csv_dicts(response):
    rows = csv_rows(response)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_export_csv(api_client, brand, connection, site, monkeypatch):
    monkeypatch.setattr(sitemap_views, "today_utc", lambda: date(2026, 6, 1))
    launch = site["/blog/launch-notes"]
    make_row(connection, launch, date(2026, 5, 1), "claude", sessions=40)  # first bucket
    make_row(connection, launch, date(2026, 5, 28), "claude", sessions=50)  # last bucket
    response = api_client.get(export_url(brand.pk), {**WINDOW, "limit": 1, "offset": 5})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="sitemap-{brand.pk}-2026-06-01.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == [
        *sitemap_views.EXPORT_COLUMNS,
        "sessions: ChatGPT", "sessions: Claude", "sessions: Perplexity",
    ]  # fmt: skip
    rows = csv_dicts(response)
    assert [row["url"] for row in rows] == [
        "https://example.com/",
        "https://example.com/blog",
        "https://example.com/blog/launch-notes",
    ]
    metrics = [
        "pageviews", "sessions", "transactions", "purchase_revenue",
        "ai_referrals", "ai_referrals_change_pct",
        "agent_traffic", "agent_traffic_change_pct", "citations", "citations_change_pct",
        "sessions: ChatGPT", "sessions: Claude", "sessions: Perplexity",
    ]  # fmt: skip
    assert rows[2]["id"] == str(launch.pk) and rows[2]["path"] == "/blog/launch-notes"
    assert rows[2]["depth"] == "2" and rows[2]["is_priority"] == "False"
    assert rows[2]["title"] == "" and rows[2]["has_optimized_content"] == "False"
    assert [rows[2][c] for c in metrics] == [
        "412", "459", "7", "1842.5", "459", "25.0", "0", "", "0", "", "298", "90", "71",
    ]  # fmt: skip
    assert rows[0]["ai_referrals_change_pct"] == ""
    assert [rows[1][c] for c in metrics[:6]] == ["0", "0", "0", "0.0", "0", ""]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_names_the_specs_three_metrics_each_with_its_change(
    api_client, brand, connection, site, file_format
):
    """SPEC "Export columns": the window's totals of `ai_referrals` (sessions), `agent_traffic`
    and `citations`, each with its percent change: a column per metric named as the spec names
    it, its change beside it (`{metric}_change_pct`), as a reader of the spec looks them up."""
    launch = site["/blog/launch-notes"]
    make_row(connection, launch, date(2026, 5, 1), "claude", sessions=40)  # first bucket
    make_row(connection, launch, date(2026, 5, 28), "claude", sessions=50)  # last bucket
    response = api_client.get(export_url(brand.pk), {**WINDOW, "format": file_format})
    if file_format == "csv":
        header, *rows = csv_rows(response)
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    for metric in ("ai_referrals", "agent_traffic", "citations"):
        assert header[header.index(metric) + 1] == f"{metric}_change_pct"
    by_url = {row[header.index("url")]: dict(zip(header, row, strict=True)) for row in rows}
    row = by_url["https://example.com/blog/launch-notes"]
    assert row["ai_referrals"] == row["sessions"] == ("459" if file_format == "csv" else 459)
    assert row["ai_referrals_change_pct"] == ("25.0" if file_format == "csv" else 25)
    assert by_url["https://example.com/blog"]["ai_referrals_change_pct"] in ("", None)


def test_export_without_metrics_has_only_the_pages_fields(api_client, brand, site):
    response = api_client.get(export_url(brand.pk), {**WINDOW, "include_metrics": "false"})
    rows = csv_rows(response)
    assert rows[0] == list(sitemap_views.EXPORT_PAGE_COLUMNS) and len(rows) == 4


@pytest.mark.parametrize("value", ["abc", "1.5"])
def test_export_mapped_site_id_must_be_an_integer(api_client, brand, site, value):
    response = api_client.get(export_url(brand.pk), {"mapped_site_id": value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "mapped_site_id"]
    assert api_client.get(export_url(brand.pk), {"mapped_site_id": "7"}).status_code == 200


def test_export_filters_ordering_and_weekly_change(api_client, brand, connection, site):
    blog = site["/blog"]
    make_row(connection, blog, date(2026, 1, 7), sessions=10)  # week of Mon 01-05
    make_row(connection, blog, date(2026, 1, 5), "claude", sessions=10)
    make_row(connection, blog, date(2026, 1, 4), sessions=999)  # before the window
    make_row(connection, blog, date(2026, 6, 29), sessions=5)  # week of Mon 06-29, last bucket
    params = {
        "start_date": "2026-01-05",
        "end_date": "2026-06-30",
        "path_prefix": "/blog",
        "ordering": "-ai_referrals",
    }
    rows = csv_dicts(api_client.get(export_url(brand.pk), params))
    assert [row["path"] for row in rows] == ["/blog/launch-notes", "/blog"]
    assert rows[1]["sessions"] == "25" and rows[1]["ai_referrals_change_pct"] == "-75.0"


def test_export_neutralizes_formulas(api_client, brand, connection):
    for raw in ['=HYPERLINK("http://evil.example")', "+1+1", "-2", "@SUM(A1)", "\tx", "plain"]:
        make_row(connection, make_page(brand, raw), sessions=1)
    rows = csv_rows(api_client.get(export_url(brand.pk), {**WINDOW, "format": "csv"}))
    assert sorted(row[1] for row in rows[1:]) == sorted(
        ['\'=HYPERLINK("http://evil.example")', "'+1+1", "'-2", "'@SUM(A1)", "'\tx", "plain"]
    )


def test_export_xlsx(api_client, brand, connection, site):
    make_page(brand, "=1+1")
    response = api_client.get(export_url(brand.pk), {**WINDOW, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Sitemap"]
    sheet = workbook.active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    columns = list(sitemap_views.EXPORT_COLUMNS)
    assert rows[0][: len(columns)] == columns
    formula = next(sheet.iter_rows(min_row=2))[1]  # "=" sorts before "h"
    assert formula.value == "'=1+1" and formula.data_type == "s"
    root = dict(zip(rows[0], rows[2], strict=True))
    assert [root[c] for c in ("url", "path", "depth", "pageviews", "sessions")] == [
        "https://example.com/", "/", 0, 0, 5,
    ]  # fmt: skip
    assert root["purchase_revenue"] == 0.01 and root["ai_referrals_change_pct"] is None
    launch = dict(zip(rows[0], rows[4], strict=True))
    assert launch["url"] == "https://example.com/blog/launch-notes"
    assert [launch[c] for c in ("pageviews", "sessions", "transactions")] == [412, 369, 7]
    assert launch["purchase_revenue"] == 1842.5


@pytest.mark.parametrize("accept", ["text/csv", "application/json", "*/*"])
def test_export_ignores_content_negotiation(api_client, brand, site, accept):
    response = api_client.get(export_url(brand.pk), {"format": "xlsx"}, HTTP_ACCEPT=accept)
    assert response.status_code == 200
    response = api_client.get(export_url(brand.pk), {"format": "pdf"}, HTTP_ACCEPT=accept)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "format"]


def test_export_without_format_is_csv(api_client, brand, site):
    assert api_client.get(export_url(brand.pk))["Content-Type"].startswith("text/csv")


def test_export_row_limit(api_client, brand, connection, monkeypatch):
    for i in range(3):
        make_page(brand, f"/p{i}")
    monkeypatch.setattr(sitemap_views, "EXPORT_MAX_ROWS", 3)
    assert len(csv_rows(api_client.get(export_url(brand.pk)))) == 4
    monkeypatch.setattr(sitemap_views, "EXPORT_MAX_ROWS", 2)
    response = api_client.get(export_url(brand.pk))
    assert response.status_code == 400
    assert "more than 2 rows" in response.json()["detail"]
    # Filters narrow the export under the limit.
    assert api_client.get(export_url(brand.pk), {"search": "p1"}).status_code == 200


def test_export_over_10000_rows_is_400(api_client, brand, connection):
    SitemapPage.objects.bulk_create(
        SitemapPage(brand=brand, website="example.com", raw_page_value=f"/p{i}",
                    page_key=page_key(f"/p{i}"), url=f"https://example.com/p{i}",
                    path=f"/p{i}", depth=1)
        for i in range(10_001)
    )  # fmt: skip
    response = api_client.get(export_url(brand.pk))
    assert response.status_code == 400
    assert "10000" in response.json()["detail"]


@pytest.fixture
def busy_site(brand, connection):
    """Twelve pages with traffic from two platforms on several days."""
    for i in range(12):
        page = make_page(brand, f"/p/{i}")
        for day in range(3):
            make_row(connection, page, D - timedelta(days=day), "chatgpt", sessions=i)
            make_row(connection, page, D - timedelta(days=day), "claude", sessions=1)


@pytest.mark.usefixtures("one_rate_limit_window")
@pytest.mark.parametrize("ordering", ["depth,url", "-ai_referrals"])
def test_query_counts_are_pinned(api_client, brand, busy_site, django_assert_num_queries, ordering):
    api_client.get(pages_url(brand.pk))  # records last_used_at on the key, starts the window
    # auth + rate-limit counter (read + compare-and-set) + brand + website + priority rules +
    # count + pages + their totals + the last crawl; ordering by AI referrals ranks the pages'
    # ids first (+1: their window sums from the page rollups, ordered and sliced in SQL)
    ranked = 1 if ordering == "-ai_referrals" else 0
    with django_assert_num_queries(10 + ranked + PLAN_QUERIES):
        body = get_items(api_client, brand, ordering=ordering, limit=10)
    assert len(body["items"]) == 10
    assert body["items"][0]["ai_referrals"]["count_by_platform"]
    # auth + rate-limit counter (2) + brand + website + rules + count + the pages' sums (with
    # their platform split) + pages + the platforms' names: ordered by AI referrals in Python
    with django_assert_num_queries(10 + PLAN_QUERIES):
        response = api_client.get(export_url(brand.pk), {**WINDOW, "ordering": ordering})
    assert len(csv_rows(response)) == 13
    page_id = body["items"][0]["id"]
    # auth + rate-limit counter (2) + brand + page + its website's active connection
    # (resolved in Python, not as a subquery of every row read) + totals (or series); the
    # page's priority rules (+1, not for the series)
    with django_assert_num_queries(8 + PLAN_QUERIES):
        assert api_client.get(pages_url(brand.pk, page_id), WINDOW).status_code == 200
    with django_assert_num_queries(7 + PLAN_QUERIES):
        assert api_client.get(pages_url(brand.pk, page_id, "/metrics")).status_code == 200


def test_schema_documents_the_sitemap_operations(client):
    schema = client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    expected = {
        "/v1/{brand_id}/sitemap/pages": {"limit", "offset", "domain", "ordering", "search"},
        "/v1/{brand_id}/sitemap/pages/{page_id}": {"page_id", "start_date", "end_date"},
        "/v1/{brand_id}/sitemap/pages/{page_id}/metrics": {"page_id", "start_date", "end_date"},
        "/v1/{brand_id}/sitemap/export": {"format", "path_prefix", "max_depth"},
    }
    for path, parameters in expected.items():
        operation = schema["paths"][path]["get"]
        assert parameters <= {parameter["name"] for parameter in operation["parameters"]}
        assert {"200", "400", "401", "403", "404", "422"} <= set(operation["responses"])
    export_ok = schema["paths"]["/v1/{brand_id}/sitemap/export"]["get"]["responses"]["200"]
    assert len(export_ok["content"]) == 2


@pytest.mark.parametrize(
    "window",
    [("9999-01-01", "9999-12-31"), ("9999-12-20", "9999-12-31"), ("0001-01-01", "0001-12-31")],
)
def test_windows_at_the_ends_of_the_calendar_are_answered(api_client, brand, site, window):
    """Any two valid dates at most 366 days apart are a window: the -ai_referrals ordering
    was a 500 in December 9999 (its month split stepped past date.max)."""
    params = dict(zip(("start_date", "end_date"), window, strict=True))
    page = site["/blog/launch-notes"]
    for url, extra in [
        (pages_url(brand.pk), {}),
        (pages_url(brand.pk), {"ordering": "-ai_referrals"}),
        (pages_url(brand.pk, page.pk), {}),
        (pages_url(brand.pk, page.pk, "/metrics"), {}),
        (export_url(brand.pk), {}),
        (export_url(brand.pk), {"ordering": "-ai_referrals", "format": "xlsx"}),
    ]:
        response = api_client.get(url, {**params, **extra})
        assert response.status_code == 200, (url, extra, response.content[:300])
