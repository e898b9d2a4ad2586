"""AI Traffic dashboard: access, view state, numbers, escaping, empty states, CSV, queries."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from referrals.dashboard import state as dashboard_state
from referrals.models import (
    AIPlatform,
    Brand,
    Connection,
    DroppedReferrer,
    PushLog,
)
from tests.factories import row, seed_example

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
EXPORT_URL = "/dashboard/export.csv"
WINDOW = {"start_date": "2026-05-01", "end_date": "2026-05-28"}
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def member(organization):
    user = get_user_model().objects.create_user("ana", password="pw-ana-123")
    organization.members.add(user)
    return user


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def staff_client(client, organization):
    """Staff, not a superuser: a member of Acme, as in the admin."""
    user = get_user_model().objects.create_user("sam", password="pw", is_staff=True)
    organization.members.add(user)
    client.force_login(user)
    return client


@pytest.fixture
def superuser_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


@pytest.fixture
def seeded(connection):
    seed_example(connection)
    # Rows of a disabled connection of the same website are kept but never read.
    old = Connection.objects.create(
        brand=connection.brand, website="example.com", provider="adobe_analytics", status="disabled"
    )
    row(old, "2026-05-05", "chatgpt", "/pricing", sessions=999, pageviews=999)
    return connection


def get(client, **params):
    return client.get(URL, params)


def body(response) -> str:
    return response.content.decode()


def strip_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def csv_text(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode("utf-8")


# Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, EXPORT_URL])
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_login_page_is_styled_and_logs_in(client, member):
    page = client.get("/accounts/login/?next=/dashboard/")
    assert page.status_code == 200
    assert "dashboard.css" in body(page) and 'name="csrfmiddlewaretoken"' in body(page)
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "pw-ana-123", "next": "/dashboard/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_login_form_shows_an_error_for_wrong_credentials(client, member):
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in body(response)


def test_logout_is_a_post_form_with_csrf_and_returns_to_login(member_client, brand):
    html = body(get(member_client))
    assert 'method="post" action="/accounts/logout/"' in html
    response = member_client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert get(member_client).status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/x/y/"],
)
def test_no_password_reset_by_email(client, member, path):
    """The service sends no mail: a reset form would accept an address and send nothing."""
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "ana@example.com"}).status_code == 404


def test_a_member_changes_their_password(member_client):
    page = member_client.get("/accounts/password_change/")
    assert page.status_code == 200
    response = member_client.post(
        "/accounts/password_change/",
        {
            "old_password": "pw-ana-123",
            "new_password1": "a-longer-Passphrase-42",
            "new_password2": "a-longer-Passphrase-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"


def test_the_login_and_logout_forms_refuse_a_post_without_the_csrf_token(member, brand):
    """The dashboard's forms (login, logout) are CSRF-protected: a forged post is a 403."""
    browser = Client(enforce_csrf_checks=True)
    forged = browser.post("/accounts/login/", {"username": "ana", "password": "pw-ana-123"})
    assert forged.status_code == 403
    assert "_auth_user_id" not in browser.session
    browser.force_login(member)
    assert browser.post("/accounts/logout/").status_code == 403
    assert get(browser).status_code == 200  # still logged in
    page = browser.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    browser.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert get(browser).status_code == 302


def test_members_see_only_their_organizations_brands(member_client, brand, other_brand):
    response = get(member_client)
    assert response.context["r"].brands == [brand]
    assert get(member_client, brand=other_brand.pk).status_code == 404


@pytest.mark.parametrize("value", ["abc", "0", "-1", "99999999", "1e3", "9" * 30, "١"])
def test_a_brand_that_is_not_visible_or_malformed_is_404(member_client, brand, value):
    assert get(member_client, brand=value).status_code == 404


def test_the_404_for_another_org_brand_matches_a_missing_brand(member_client, other_brand):
    hidden = get(member_client, brand=other_brand.pk)
    missing = get(member_client, brand=other_brand.pk + 1000)
    assert hidden.status_code == missing.status_code == 404
    # Same page either way (the CSRF token of the logout form is masked differently each time).
    assert strip_csrf(body(hidden)) == strip_csrf(body(missing))


def test_staff_see_only_their_organizations_brands(staff_client, brand, other_brand):
    response = get(staff_client)
    assert response.context["r"].brands == [brand]
    assert get(staff_client, brand=other_brand.pk).status_code == 404
    assert staff_client.get(EXPORT_URL, {"brand": other_brand.pk}).status_code == 404


def test_staff_of_no_organization_see_no_brand(client, brand):
    client.force_login(get_user_model().objects.create_user("temp", is_staff=True))
    assert get(client).templates[0].name == "dashboard/no_brand.html"
    assert get(client, brand=brand.pk).status_code == 404


def test_superusers_see_every_brand(superuser_client, brand, other_brand):
    response = get(superuser_client)
    assert {b.pk for b in response.context["r"].brands} == {brand.pk, other_brand.pk}
    assert get(superuser_client, brand=other_brand.pk).status_code == 200


# Defaults and query-string state ------------------------------------------------------------


def test_defaults_first_brand_first_active_website_and_30_days_ending_at_latest_data(
    member_client, brand, seeded
):
    Connection.objects.create(brand=brand, website="zeta.example", provider="adobe_analytics")
    # A website whose only connection is disabled is listed but not the default.
    Connection.objects.create(
        brand=brand, website="aaa.example", provider="adobe_analytics", status="disabled"
    )
    response = get(member_client)
    assert response.status_code == 200
    state = response.context["state"]
    assert state.brand_id == brand.pk
    assert state.website == "example.com"
    assert (state.start, state.end) == (date(2026, 4, 29), date(2026, 5, 28))
    assert response.context["r"].websites == ["aaa.example", "example.com", "zeta.example"]


def test_default_window_ends_today_without_data(member_client, connection):
    state = get(member_client).context["state"]
    today = timezone.localdate()
    assert (state.start, state.end) == (today - timedelta(days=29), today)


def test_the_first_brand_by_name_is_the_default(member_client, organization, brand):
    first = Brand.objects.create(organization=organization, name="Aardvark")
    assert get(member_client).context["r"].brand == first


def test_state_comes_from_the_query_string_and_goes_back_into_links(member_client, seeded):
    response = get(
        member_client,
        brand=seeded.brand_id,
        website="https://WWW.Example.com/",
        start_date="2026-05-02",
        end_date="2026-05-10",
        sort="revenue",
    )
    state = response.context["state"]
    assert (state.website, state.start, state.end, state.sort) == (
        "example.com",
        date(2026, 5, 2),
        date(2026, 5, 10),
        "revenue",
    )
    html = body(response)
    assert 'name="start_date" value="2026-05-02"' in html
    assert 'name="end_date" value="2026-05-10"' in html
    assert '<option value="example.com" selected>' in html
    query = f"brand={seeded.brand_id}&amp;website=example.com&amp;start_date=2026-05-02"
    assert f'href="/dashboard/export.csv?{query}&amp;end_date=2026-05-10"' in html
    assert f"?{query}&amp;end_date=2026-05-10&amp;sort=pageviews" in html  # a sort link
    assert response.context["r"].messages == []


def test_one_date_follows_the_read_api_rules(member_client, seeded):
    # Only a start: up to the default end (the latest day with data); only an end: 30 days.
    state = get(member_client, start_date="2026-03-01").context["state"]
    assert (state.start, state.end) == (date(2026, 3, 1), date(2026, 5, 28))
    state = get(member_client, end_date="2026-03-28").context["state"]
    assert (state.start, state.end) == (date(2026, 2, 27), date(2026, 3, 28))


# Invalid parameters never 500 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "yesterday"}, "not a valid start date"),
        ({"end_date": "2026-02-30"}, "not a valid end date"),
        ({"start_date": "2026-5-1"}, "not a valid start date"),
        ({"start_date": "0001-01-01"}, "not a valid start date"),
        ({"end_date": "9999-12-31"}, "not a valid end date"),
        ({"start_date": "2026-W01-1"}, "not a valid start date"),
        ({"start_date": "2026-05-10", "end_date": "2026-05-01"}, "start date is after"),
        ({"website": "unknown.example"}, "no connection for"),
        ({"website": "not a host!"}, "no connection for"),
        ({"sort": "url"}, "cannot be sorted"),
        ({"page": "abc"}, "not a page number"),
        ({"page": "0"}, "not a page number"),
        ({"start_date": "\x00"}, "not a valid start date"),
    ],
)
def test_invalid_parameters_show_a_message_and_the_defaults(member_client, seeded, params, message):
    response = get(member_client, **params)
    assert response.status_code == 200
    assert any(message in m for m in response.context["r"].messages)
    assert message in body(response).replace("&#x27;", "'")
    state = response.context["state"]
    assert state.website == "example.com"
    if "date" in next(iter(params)):
        assert (state.start, state.end) == (date(2026, 4, 29), date(2026, 5, 28))


def test_a_website_for_a_brand_without_connections(member_client, brand):
    response = get(member_client, website="example.com")
    assert response.status_code == 200
    assert response.context["r"].messages == [
        dashboard_state.NO_WEBSITE.format(value="example.com")
    ]


def test_a_window_over_366_days_is_cut_to_366(member_client, seeded):
    response = get(member_client, start_date="2024-01-01", end_date="2026-05-28")
    state = response.context["state"]
    assert state.days == dashboard_state.MAX_WINDOW_DAYS
    assert state.end == date(2026, 5, 28)
    assert "at most 366 days" in response.context["r"].messages[0]
    assert len(response.context["chart"].columns) == 366


def test_a_366_day_window_is_accepted(member_client, seeded):
    response = get(member_client, start_date="2025-05-28", end_date="2026-05-28")
    assert response.context["r"].messages == []
    assert response.context["state"].days == 366


# Numbers ------------------------------------------------------------------------------------


def test_kpis_and_their_change_against_the_previous_period(member_client, seeded):
    response = get(member_client, **WINDOW)
    assert response.context["totals"].sessions == 51
    assert response.context["previous_period"] == (date(2026, 4, 3), date(2026, 4, 30))
    cards = {k.label: (k.value, k.previous, k.change_text) for k in response.context["kpis"]}
    assert cards == {
        "AI sessions": ("51", "40", "▲ 27.5%"),
        "Pageviews": ("166", "40", "▲ 315.0%"),
        "Transactions": ("4", "2", "▲ 100.0%"),
        "Revenue": ("350.00", "150.00", "▲ 133.3%"),
        "Conversion rate": ("7.84%", "5.00%", "▲ 56.9%"),
        "Revenue per session": ("6.86", "3.75", "▲ 83.0%"),
    }
    html = body(response)
    assert "▲ 27.5%" in html and "kpi-up" in html


def test_kpi_changes_going_down_and_without_a_previous_value(member_client, connection):
    row(connection, "2026-05-10", "chatgpt", "/", sessions=5, transactions=1, revenue="10")
    row(connection, "2026-05-01", "chatgpt", "/", sessions=10)  # the previous period
    response = get(member_client, start_date="2026-05-10", end_date="2026-05-18")
    cards = {k.label: (k.change_text, k.direction) for k in response.context["kpis"]}
    assert cards["AI sessions"] == ("▼ 50.0%", "down")
    assert cards["Transactions"] == ("—", "flat")  # previous 0: no percentage
    assert cards["Conversion rate"] == ("—", "flat")
    assert cards["Pageviews"] == ("—", "flat")


def test_null_metrics_count_as_zero(member_client, connection):
    row(connection, "2026-05-10", "chatgpt", "/", sessions=None, pageviews=None)
    response = get(member_client, start_date="2026-05-10", end_date="2026-05-10")
    assert response.status_code == 200
    cards = {k.label: k.value for k in response.context["kpis"]}
    assert cards["AI sessions"] == "0" and cards["Revenue"] == "0.00"
    assert cards["Conversion rate"] == "—"  # no sessions: no rate


def test_platform_table(member_client, seeded):
    platforms = get(member_client, **WINDOW).context["platforms"]
    assert [
        (
            p.name,
            p.totals.sessions,
            round(p.share * 100, 1),
            p.totals.pageviews,
            p.totals.transactions,
            p.totals.revenue,
            None if p.conversion is None else round(p.conversion * 100, 2),
        )
        for p in platforms
    ] == [
        ("ChatGPT", 40, Decimal("78.4"), 60, 3, Decimal("300.50"), Decimal("7.50")),
        ("Claude", 5, Decimal("9.8"), 6, 0, Decimal("0"), Decimal("0")),
        ("Perplexity", 5, Decimal("9.8"), 0, 1, Decimal("49.50"), Decimal("20.00")),
        ("Gemini", 1, Decimal("2.0"), 100, 0, Decimal("0"), Decimal("0")),
    ]
    html = body(get(member_client, **WINDOW))
    assert "78.4%" in html and "300.50" in html and "20.00%" in html


def test_chart_has_every_day_zero_filled_and_stacks_per_platform(member_client, seeded):
    response = get(member_client, **WINDOW)
    chart, data = response.context["chart"], response.context["chart_data"]
    assert len(chart.columns) == 28
    assert data["days"][0] == "2026-05-01" and data["days"][-1] == "2026-05-28"
    series = {s["platform"]: s["sessions"] for s in data["series"]}
    assert series["ChatGPT"][:3] == [10, 20, 0] and series["ChatGPT"][27] == 10
    assert sum(series["ChatGPT"]) == 40 and sum(series["Gemini"]) == 1
    assert [c.total for c in chart.columns][:4] == [15, 20, 1, 0]
    html = body(response)
    assert html.count('class="chart-day"') == 28
    assert '<script id="chart-data" type="application/json">' in html
    assert "AI sessions" in html and "Daily AI sessions by platform" in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("sessions", ["/pricing", "/blog/a", "/launch"]),
        ("pageviews", ["/launch", "/pricing", "/blog/a"]),
        ("transactions", ["/blog/a", "/pricing", "/launch"]),  # tie: first-seen page first
        ("revenue", ["/pricing", "/blog/a", "/launch"]),
    ],
)
def test_top_pages_sort(member_client, seeded, sort, expected):
    response = get(member_client, sort=sort, **WINDOW)
    assert [p.raw_page_value for p, _ in response.context["pages"]] == expected
    assert 'aria-sort="descending"' in body(response)


def test_top_pages_totals_and_platform_split(member_client, seeded):
    pages = {
        p.raw_page_value: (p, split) for p, split in get(member_client, **WINDOW).context["pages"]
    }
    blog, split = pages["/blog/a"]
    assert (blog.totals.sessions, blog.totals.pageviews, blog.totals.transactions) == (20, 26, 2)
    assert blog.totals.revenue == Decimal("150")
    assert [(s.name, s.sessions, round(s.share * 100)) for s in split] == [
        ("ChatGPT", 10, 50),
        ("Claude", 5, 25),
        ("Perplexity", 5, 25),
    ]


def test_top_pages_pagination(member_client, seeded, monkeypatch):
    monkeypatch.setattr("referrals.dashboard.views.PAGE_SIZE", 2)
    first = get(member_client, **WINDOW)
    assert [p.raw_page_value for p, _ in first.context["pages"]] == ["/pricing", "/blog/a"]
    assert (first.context["top"].total, first.context["top"].pages) == (3, 2)
    assert "page=2" in body(first) and "1–2 of 3 pages" in body(first)
    second = get(member_client, page=2, **WINDOW)
    assert [p.raw_page_value for p, _ in second.context["pages"]] == ["/launch"]
    assert 'rel="prev"' in body(second)
    past_the_end = get(member_client, page=99, **WINDOW)
    assert past_the_end.context["state"].page == 2
    assert [p.raw_page_value for p, _ in past_the_end.context["pages"]] == ["/launch"]


def test_reads_follow_the_active_connection(member_client, brand, seeded):
    """The disabled connection's 999 sessions never count, nor do NULL-platform rows."""
    response = get(member_client, **WINDOW)
    assert response.context["totals"].sessions == 51
    assert response.context["chart_data"]["days"][4] == "2026-05-05"
    assert all(s["sessions"][4] == 0 for s in response.context["chart_data"]["series"])
    # Disable the active one and register a new connection: it starts empty.
    seeded.status = "disabled"
    seeded.save()
    fresh = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    response = get(member_client, **WINDOW)
    assert response.context["r"].connection == fresh
    assert response.context["has_data"] is False
    row(fresh, "2026-05-05", "claude", "/new", sessions=3)
    assert get(member_client, **WINDOW).context["totals"].sessions == 3


def test_a_website_with_only_a_disabled_connection_says_so(member_client, brand, seeded):
    seeded.status = "disabled"
    seeded.save()
    response = get(member_client, **WINDOW)
    assert response.context["r"].connection is None
    assert "kpis" not in response.context
    assert "is disabled" in body(response)
    assert response.context["health"]["label"] == "Disabled"


def test_brands_are_separate(member_client, organization, brand, seeded):
    sister = Brand.objects.create(organization=organization, name="Zed Brand")
    other = Connection.objects.create(
        brand=sister, website="example.com", provider="adobe_analytics"
    )
    row(other, "2026-05-10", "chatgpt", "/x", sessions=7)
    response = get(member_client, brand=sister.pk, **WINDOW)
    assert response.context["totals"].sessions == 7
    assert get(member_client, brand=brand.pk, **WINDOW).context["totals"].sessions == 51


# Escaping and long values -------------------------------------------------------------------


def assert_escaped(html: str) -> None:
    for raw in XSS:
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_user_strings_are_escaped_everywhere(member_client, connection):
    for value in XSS:
        row(connection, "2026-05-10", "chatgpt", "/" + value, sessions=3)
        row(connection, "2026-05-10", "claude", value, sessions=2)  # an Adobe page name
        DroppedReferrer.objects.create(
            connection=connection,
            brand_id=connection.brand_id,
            raw_referrer_value=value,
            count=4,
            first_seen_at=timezone.now(),
            last_seen_at=timezone.now(),
        )
        PushLog.objects.create(
            connection=connection,
            brand_id=connection.brand_id,
            status_code=422,
            batch_id=value,
            error=value,
        )
    connection.last_push_error = XSS[0] + XSS[1]
    connection.last_pushed_at = timezone.now()
    connection.save()
    # Platform names are edited in the admin: escaped too (legend, table, chart titles, JSON).
    AIPlatform.objects.filter(slug="claude").update(name="Claude " + XSS[0] + XSS[1])
    response = get(member_client, start_date="2026-05-10", end_date="2026-05-10")
    html = body(response)
    assert_escaped(html)
    assert "\\u003Cscript\\u003E" in html  # json_script escapes < > &
    # A page name that is not a path is not a link (it could be `javascript:...`).
    assert 'href="&lt;script' not in html and 'href="javascript' not in html


def test_user_strings_in_the_query_string_are_escaped(member_client, seeded):
    html = body(get(member_client, website=XSS[0] + XSS[1], sort=XSS[1], start_date=XSS[0]))
    for raw in XSS:
        assert raw not in html


def test_long_page_paths_are_truncated_with_the_full_value_in_the_title(member_client, connection):
    long_path = "/" + "segment-" * 255 + "x"
    assert len(long_path) == 2042
    row(connection, "2026-05-10", "chatgpt", long_path, sessions=1)
    html = body(get(member_client, start_date="2026-05-10", end_date="2026-05-10"))
    assert f'title="https://example.com{long_path}"' in html
    assert 'class="page-path"' in html  # the CSS ellipsis class


# Empty states ---------------------------------------------------------------------------------


def test_no_brand_visible(member_client):
    response = get(member_client)
    assert response.status_code == 200
    assert "No brand to show yet" in body(response)
    assert "Ask your administrator" in body(response)


def test_no_connection_yet_explains_how_to_register_one(member_client, brand):
    response = get(member_client)
    html = body(response)
    assert "Connect a website to start" in html
    assert f"http://testserver/v1/{brand.pk}/ai-referrals/connections" in html
    assert "adobe_analytics" in html and "Export CSV" not in html


def test_no_data_in_the_window(member_client, seeded):
    seeded.last_pushed_at = timezone.now()
    seeded.save()
    response = get(member_client, start_date="2025-01-01", end_date="2025-01-28")
    html = body(response)
    assert response.context["has_data"] is False
    assert "No AI referrals between" in html and "Show its latest 30 days" in html
    assert "Connection health" in html


def test_nothing_pushed_yet_shows_the_events_url(member_client, connection):
    html = body(get(member_client))
    assert f"/ai-referrals/connections/{connection.pk}/events" in html
    assert "Waiting for first push" in html


# Connection health --------------------------------------------------------------------------


def test_health_shows_status_last_push_error_recent_pushes_and_dropped_referrers(
    member_client, seeded
):
    now = timezone.now()
    seeded.last_pushed_at = now
    seeded.last_push_error = "event 3: pageviews must be >= 0"
    seeded.save()
    for i in range(12):
        PushLog.objects.create(
            connection=seeded,
            brand_id=seeded.brand_id,
            status_code=200,
            batch_id=f"b{i}",
            accepted=i,
        )
    for value, times in [("google.com", 40), ("(direct)", 90), ("bing.com", 5)]:
        DroppedReferrer.objects.create(
            connection=seeded,
            brand_id=seeded.brand_id,
            raw_referrer_value=value,
            count=times,
            first_seen_at=now,
            last_seen_at=now,
        )
    response = get(member_client, **WINDOW)
    assert response.context["health"] == {"label": "Last push failed", "tone": "bad"}
    assert [p.batch_id for p in response.context["pushes"]] == [f"b{i}" for i in range(11, 1, -1)]
    assert [(d.raw_referrer_value, d.count) for d in response.context["dropped"]] == [
        ("(direct)", 90),
        ("google.com", 40),
        ("bing.com", 5),
    ]
    html = body(response)
    assert "pageviews must be &gt;= 0" in html and "allow-list" in html


@pytest.mark.parametrize(
    ("hours_ago", "error", "label"),
    [(1, None, "Healthy"), (72, None, "Stale"), (1, "boom", "Last push failed")],
)
def test_health_verdict(member_client, connection, hours_ago, error, label):
    connection.last_pushed_at = timezone.now() - timedelta(hours=hours_ago)
    connection.last_push_error = error
    connection.save()
    assert get(member_client).context["health"]["label"] == label


# CSV export ---------------------------------------------------------------------------------


def export(client, **params):
    return client.get(EXPORT_URL, params)


def test_csv_export_of_the_current_view(member_client, seeded):
    response = export(member_client, brand=seeded.brand_id, website="example.com", **WINDOW)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="ai-traffic-{seeded.brand_id}-example.com-2026-05-01-2026-05-28.csv"'
    )
    text = csv_text(response)
    assert text.startswith("\ufeffdate,website,platform,page,url,sessions,pageviews,")
    lines = text.removeprefix("\ufeff").splitlines()
    assert lines[0] == "date,website,platform,page,url,sessions,pageviews,transactions,revenue"
    assert lines[1:] == [
        "2026-05-01,example.com,ChatGPT,/blog/a,https://example.com/blog/a,10,20,1,100.5",
        "2026-05-01,example.com,Claude,/blog/a,https://example.com/blog/a,5,6,0,0",
        "2026-05-02,example.com,ChatGPT,/pricing,https://example.com/pricing,20,30,2,200",
        "2026-05-03,example.com,Gemini,/launch,https://example.com/launch,1,100,0,0",
        "2026-05-28,example.com,ChatGPT,/pricing,https://example.com/pricing,10,10,0,0",
        "2026-05-28,example.com,Perplexity,/blog/a,https://example.com/blog/a,5,0,1,49.5",
    ]


def test_csv_adds_up_referrers_of_one_platform(member_client, connection):
    row(connection, "2026-05-10", "chatgpt", "/", referrer="chatgpt.com", sessions=2)
    row(connection, "2026-05-10", "chatgpt", "/", referrer="chat.openai.com", sessions=3)
    lines = csv_text(export(member_client, start_date="2026-05-10", end_date="2026-05-10"))
    assert lines.splitlines()[1:] == [
        "2026-05-10,example.com,ChatGPT,/,https://example.com/,5,0,0,0"
    ]


def test_the_page_links_to_the_export_with_the_same_query(member_client, seeded):
    html = body(get(member_client, sort="revenue", **WINDOW))
    assert (
        f'href="/dashboard/export.csv?brand={seeded.brand_id}&amp;website=example.com'
        '&amp;start_date=2026-05-01&amp;end_date=2026-05-28"' in html
    )


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)", "\tx"])
def test_csv_guards_against_formula_injection(member_client, connection, value):
    row(connection, "2026-05-10", "chatgpt", value, sessions=1)
    text = csv_text(export(member_client, start_date="2026-05-10", end_date="2026-05-10"))
    cells = text.splitlines()[1].split(",")
    assert cells[3].strip('"') == "'" + value.replace('"', '""')
    assert cells[4].strip('"').startswith("'")


def test_csv_keeps_markup_and_unicode_as_data(member_client, connection):
    row(connection, "2026-05-10", "chatgpt", "/café/" + XSS[0], sessions=1)
    text = csv_text(export(member_client, start_date="2026-05-10", end_date="2026-05-10"))
    assert "/café/<script>alert(1)</script>" in text


def test_csv_of_another_organizations_brand_is_404(member_client, brand, other_brand):
    assert export(member_client, brand=other_brand.pk).status_code == 404
    assert export(member_client, brand="nope").status_code == 404


def test_csv_with_a_bad_parameter_is_400_with_the_reason(member_client, seeded):
    response = export(member_client, start_date="2026-13-01")
    assert response.status_code == 400
    text = response.content.decode()
    assert text.startswith("No CSV was made")
    assert "\n- “2026-13-01” is not a valid start date" in text


def test_csv_of_a_website_the_brand_does_not_have_is_400_and_says_so(member_client, seeded):
    response = export(member_client, website="elsewhere.example")
    assert response.status_code == 400
    text = response.content.decode()
    assert text.startswith("No CSV was made") and "no connection for “elsewhere.example”" in text


def test_csv_without_a_connection_is_just_the_header(member_client, brand):
    text = csv_text(export(member_client))
    assert (
        text == "\ufeffdate,website,platform,page,url,sessions,pageviews,transactions,revenue\r\n"
    )


def test_csv_streams_big_windows_in_chunks(member_client, connection):
    start = date(2025, 6, 1)
    for i in range(200):
        row(connection, start + timedelta(days=i), "chatgpt", f"/p/{'x' * 300}/{i}", sessions=i)
    response = export(member_client, start_date="2025-06-01", end_date="2026-05-31")
    chunks = list(response.streaming_content)
    assert len(chunks) > 2  # BOM + header, then chunks of about 64 KiB
    assert b"".join(chunks).decode().count("\r\n") == 201


# Query counts -------------------------------------------------------------------------------

# session + user, brands, connections, series and previous totals (daily rollup), priority
# rules, page ranking, the slice's pages and their totals per platform, recent pushes, dropped
# referrers, the website's crawl; +1 for the latest date by default.
FULL_PAGE_QUERIES = 13


def test_query_count_of_the_dashboard_does_not_grow_with_the_data(
    member_client, seeded, django_assert_num_queries
):
    with django_assert_num_queries(FULL_PAGE_QUERIES):
        get(member_client, **WINDOW)
    with django_assert_num_queries(FULL_PAGE_QUERIES + 1):
        get(member_client)
    for i in range(40):
        row(seeded, "2026-05-07", ["chatgpt", "claude", "grok"][i % 3], f"/more/{i}", sessions=i)
    with django_assert_num_queries(FULL_PAGE_QUERIES):
        get(member_client, page=2, **WINDOW)


def test_query_count_without_data_or_connection(member_client, brand, django_assert_num_queries):
    with django_assert_num_queries(4):  # session + user, brands, connections
        get(member_client)
    Connection.objects.create(brand=brand, website="example.com", provider="adobe_analytics")
    # + latest date, series (empty: nothing else), pushes, dropped referrers, crawl
    with django_assert_num_queries(9):
        get(member_client)


def test_query_count_of_the_export(member_client, seeded, django_assert_num_queries):
    with django_assert_num_queries(5):  # session + user, brands, connections, rows
        csv_text(export(member_client, **WINDOW))


def test_the_page_needs_no_external_assets(member_client, seeded):
    html = body(get(member_client, **WINDOW))
    links = re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert [href for href in links if not href.startswith("data:")] == ["/static/css/dashboard.css"]
    assert "<script src" not in html and "@import" not in html
    assert finders.find("css/dashboard.css")  # collected and served by WhiteNoise


def test_head_and_post(member_client, seeded):
    assert member_client.head(URL).status_code == 200
    assert member_client.post(URL).status_code == 405


def test_priority_pages_are_marked_and_filtered(member_client, seeded):
    from referrals.models import PriorityPath

    PriorityPath.objects.create(brand=seeded.brand, path="/pricing")
    html = body(get(member_client, **WINDOW))
    assert "★ priority" in html and "Priority pages only" in html
    only = get(member_client, priority="1", **WINDOW)
    top = only.context["top"]
    assert top.total == 1 and top.items[0].raw_page_value == "/pricing"
    assert top.items[0].is_priority
    assert "priority=1" in only.context["next_page_query"]
    assert "Show all pages" in body(only)


def test_the_websites_crawl_shows_robots_policy_and_llms_txt(member_client, seeded):
    from referrals.models import WebsiteCrawl

    assert "AI readiness" not in body(get(member_client, **WINDOW))
    WebsiteCrawl.objects.create(
        brand=seeded.brand,
        website="example.com",
        status="done",
        robots_policy={"GPTBot": False, "ClaudeBot": True},
        llms_txt=True,
        robots_txt_status=200,
    )
    html = body(get(member_client, **WINDOW))
    assert "AI readiness of example.com" in html
    assert "<td>GPTBot</td><td><strong>no</strong></td>" in html
    assert '<dd id="llms-txt">served</dd>' in html
