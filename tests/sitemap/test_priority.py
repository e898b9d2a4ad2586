"""Priority pages: rules matched in Python and SQL alike, the flag and the filter in the API."""

import pytest

from referrals.models import Connection, PriorityPath, SitemapPage
from referrals.sitemap.priority import Rule, priority_rule_parse
from tests.sitemap.test_api import WINDOW, csv_dicts, export_url, make_page, pages_url

pytestmark = pytest.mark.django_db

PATHS = ["/", "/pricing", "/pricing/team", "/pricing-old", "/blog", "/blog/a", "home:shoes"]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Rule("", "/pricing", exact=False), {"/pricing", "/pricing/team"}),
        (Rule("", "/pricing/", exact=False), {"/pricing", "/pricing/team"}),
        (Rule("", "/pricing", exact=True), {"/pricing"}),
        (Rule("", "/", exact=False), set(PATHS) - {"home:shoes"}),
        (Rule("", "/", exact=True), {"/"}),
        (Rule("other.example", "/blog", exact=False), set()),
        (Rule("example.com", "/blog", exact=False), {"/blog", "/blog/a"}),
        (Rule("", "/Blog", exact=False), set()),  # case-sensitive, as path_prefix
    ],
)
def test_rules_match_the_same_pages_in_python_and_in_sql(
    api_client, brand, connection, rule, expected
):
    pages = {raw: make_page(brand, raw) for raw in PATHS}
    assert {
        raw for raw, page in pages.items() if rule.matches(website=page.website, path=page.path)
    } == expected
    PriorityPath.objects.create(
        brand=brand,
        website=rule.website,
        path=rule.path,
        match=PriorityPath.MATCH_EXACT if rule.exact else PriorityPath.MATCH_PREFIX,
    )
    body = api_client.get(pages_url(brand.pk), {**WINDOW, "is_priority": "true"}).json()
    assert {item["url"].removeprefix("https://example.com") for item in body["items"]} == expected
    assert all(item["is_priority"] for item in body["items"])
    others = api_client.get(pages_url(brand.pk), {**WINDOW, "is_priority": "false"}).json()
    assert others["total"] == len(PATHS) - len(expected)
    assert not any(item["is_priority"] for item in others["items"])


def test_priority_flag_on_detail_and_export(api_client, brand, connection):
    pricing = make_page(brand, "/pricing")
    make_page(brand, "/about")
    PriorityPath.objects.create(brand=brand, path="/pricing", match="exact")
    assert api_client.get(pages_url(brand.pk, pricing.pk)).json()["is_priority"] is True
    rows = csv_dicts(api_client.get(export_url(brand.pk), {"is_priority": "1"}))
    assert [(row["path"], row["is_priority"]) for row in rows] == [("/pricing", "True")]


def test_rules_of_another_brand_do_not_count(api_client, brand, other_brand, connection):
    make_page(brand, "/pricing")
    PriorityPath.objects.create(brand=other_brand, path="/pricing")
    body = api_client.get(pages_url(brand.pk), {"is_priority": "true"}).json()
    assert body["total"] == 0


def test_no_rules_means_no_priority_page(api_client, brand, connection):
    make_page(brand, "/")
    assert api_client.get(pages_url(brand.pk), {"is_priority": "true"}).json()["total"] == 0
    assert api_client.get(pages_url(brand.pk), {"is_priority": "false"}).json()["total"] == 1


def test_has_optimized_content(api_client, brand, connection):
    make_page(brand, "/")
    assert (
        api_client.get(pages_url(brand.pk), {"has_optimized_content": "true"}).json()["total"] == 0
    )
    body = api_client.get(pages_url(brand.pk), {"has_optimized_content": "false"}).json()
    assert body["total"] == 1 and body["items"][0]["has_optimized_content"] is False


def test_an_export_filtered_to_nothing_is_a_header_only_file(api_client, brand, connection):
    # has_optimized_content=true filters to no page at all (an empty queryset): the export's
    # sums query was compiled from it and raised EmptyResultSet, a 500.
    make_page(brand, "/")
    params = {"has_optimized_content": "true", "include_metrics": "true", "format": "csv"}
    response = api_client.get(export_url(brand.pk), params)
    assert response.status_code == 200
    assert csv_dicts(response) == []


def test_search_matches_the_title(api_client, brand, connection):
    page = make_page(brand, "/p/1")
    # By brand: on Citus, a save() that rewrites brand_id is refused.
    SitemapPage.objects.filter(brand=brand, pk=page.pk).update(title="Spring Launch Notes")
    make_page(brand, "/p/2")
    body = api_client.get(pages_url(brand.pk), {"search": "launch"}).json()
    assert [item["id"] for item in body["items"]] == [page.pk]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/pricing", ("", "/pricing")),
        ("/pricing?x=1#top", ("", "/pricing")),
        ("https://WWW.Example.com/pricing", ("example.com", "/pricing")),
        ("https://example.com", ("example.com", "/")),
    ],
)
def test_priority_rule_parse(value, expected):
    assert priority_rule_parse(value) == expected


@pytest.mark.parametrize("value", ["pricing", "ftp://example.com/x", "https:///x"])
def test_priority_rule_parse_refuses(value):
    with pytest.raises(ValueError):
        priority_rule_parse(value)


@pytest.mark.admin_fan_out
def test_admin_adds_a_rule_from_a_url(admin_client, brand):
    Connection.objects.create(brand=brand, website="example.com", provider="adobe_analytics")
    response = admin_client.post(
        "/admin/referrals/prioritypath/add/",
        {"brand": brand.pk, "website": "", "match": "exact", "path": "https://www.example.com/x"},
    )
    assert response.status_code == 302, response.content
    rule = PriorityPath.objects.get()
    assert (rule.website, rule.path, rule.match) == ("example.com", "/x", "exact")


@pytest.mark.admin_fan_out
def test_admin_edits_a_rule_but_not_its_brand(admin_client, brand, other_brand):
    rule = PriorityPath.objects.create(brand=brand, path="/a")
    response = admin_client.post(
        f"/admin/referrals/prioritypath/{rule.pk}/change/",
        {"brand": other_brand.pk, "website": "", "match": "prefix", "path": "/b"},
    )
    assert response.status_code == 302, response.content
    rule.refresh_from_db()
    assert (rule.brand_id, rule.path) == (brand.pk, "/b")
