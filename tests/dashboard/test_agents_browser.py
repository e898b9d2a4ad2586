"""The dashboard's AI agents section in a real headless Chromium (see test_browser.py)."""

import importlib
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from selenium.webdriver.common.by import By

from referrals.models import Brand, Connection, Organization
from referrals.tenancy.services import api_key_create
from tests.dashboard.test_browser import (  # noqa: F401 (the browser fixture)
    PASSWORD,
    at_path,
    browser,
    console_errors,
    wait_for_url,
)
from tests.factories import CHROME_UA, agent_event, agent_push

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WINDOW = "start_date=2026-05-01&end_date=2026-05-28"
UAS = [
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)",
    "Mozilla/5.0 (compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot)",
    "Mozilla/5.0 (compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)",
    CHROME_UA,
]


def seed_lists() -> None:
    """The seeded platforms and agents, as the data migrations left them: an earlier
    transactional test's flush empties every table (idempotent)."""
    from django.apps import apps

    for name in ("0002_seed_ai_platforms", "0014_agent_traffic"):
        importlib.import_module(f"referrals.migrations.{name}").seed(apps, None)


@pytest.fixture
def logs(db):
    seed_lists()
    organization = Organization.objects.create(name="Acme")
    brand = Brand.objects.create(organization=organization, name="Acme Outdoor")
    connection = Connection.objects.create(
        brand=brand, website="acme-outdoor.com", provider="cloudflare", kind="agent"
    )
    client = APIClient()
    token = api_key_create(organization=organization, name="logs", scopes=["configure"]).token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    events = [
        agent_event(
            date=f"2026-05-{day:02d}",
            raw_user_agent=ua,
            raw_page_value=f"/guides/{page}",
            hits=day + page * 3,
            verified=page % 2 == 0,
        )
        for day in range(1, 29)
        for page in range(6)
        for ua in UAS
    ]
    assert agent_push(client, connection, events).status_code == 200
    user = get_user_model().objects.create_user("analyst", password=PASSWORD)
    organization.members.add(user)
    return brand


def test_agents_section_in_a_real_browser(browser, live_server, logs):  # noqa: F811
    browser.get(f"{live_server.url}/accounts/login/")
    browser.find_element(By.NAME, "username").send_keys("analyst")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for_url(browser, at_path("/dashboard/"))
    browser.get(f"{live_server.url}/dashboard/?brand={logs.pk}&{WINDOW}")

    section = browser.find_element(By.ID, "ai-agents")
    assert section.is_displayed()
    chart = browser.find_element(By.ID, "agents-chart")
    assert chart.size["width"] > 600
    assert len(chart.find_elements(By.CSS_SELECTOR, "g.chart-day")) == 28
    assert len(chart.find_elements(By.CSS_SELECTOR, "g.chart-bars rect")) > 28
    platforms = browser.find_elements(By.CSS_SELECTOR, "#agent-platforms-table tbody th")
    assert [p.text for p in platforms] == ["ChatGPT", "Claude", "Perplexity"]
    purposes = browser.find_elements(By.CSS_SELECTOR, "#agent-purposes-table tbody th")
    assert {p.text for p in purposes} == {
        "training crawler",
        "search indexer",
        "fetcher for a user",
    }
    assert len(browser.find_elements(By.CSS_SELECTOR, "#agent-pages-table tbody tr")) == 6
    assert browser.find_element(By.ID, "agent-verified").text == "46.6%"  # 6,888 of 14,784
    assert len(browser.find_elements(By.CSS_SELECTOR, "#dropped-agents-table tbody tr")) == 1
    assert console_errors(browser) == []

    link = browser.find_element(By.LINK_TEXT, "Export agents CSV").get_attribute("href")
    assert link.startswith(f"{live_server.url}/dashboard/agents.csv?brand={logs.pk}&")
    cookie = browser.get_cookie("sessionid")["value"]
    request = urllib.request.Request(link, headers={"Cookie": f"sessionid={cookie}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = response.read().decode("utf-8").splitlines()
    assert lines[0] == "\ufeffdate,website,agent,purpose,platform,page,url,hits,verified_hits"
    assert len(lines) == 1 + 28 * 6 * 4
