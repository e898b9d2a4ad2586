"""The dashboard, the admin and the API docs in a real headless Chromium, under the site's
Content-Security-Policy: log in, read the pages, download the CSV, and no console errors.

Needs Debian's `chromium` and `chromium-driver` (scripts/ensure_chromium.sh installs them;
scripts/test.sh calls it). A missing browser is a failure, never a silent skip.
Screenshots go to a temporary directory; to refresh the committed ones in docs/, run
`DASHBOARD_SCREENSHOTS=docs .venv/bin/python -m pytest tests/dashboard/test_browser.py`
(the suite itself never rewrites tracked files).
"""

import os
import shutil
import tempfile
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from referrals.models import (
    Brand,
    Connection,
    DroppedReferrer,
    Organization,
    PushLog,
)
from referrals.reporting.window import DEFAULT_WINDOW_DAYS
from tests.factories import seed_demo_traffic

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MISSING_BROWSER = (
    "Chromium or chromedriver is missing ({missing}). Install them with "
    "scripts/ensure_chromium.sh (as root: apt-get install chromium chromium-driver); "
    "scripts/test.sh does this before running the suite."
)
PASSWORD = "correct-horse-battery"
END = date(2026, 5, 28)

# A live server needs committed data. No serialized_rollback: on PostgreSQL it collides with
# content types re-created (with new ids) after an earlier transactional test's flush.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(MISSING_BROWSER.format(missing=", ".join(missing)), pytrace=False)
    profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--window-size=1440,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    # The console, where Chromium reports what the Content-Security-Policy blocked.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot_dir(tmp_path):
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    if not target:
        return tmp_path
    path = Path(__file__).resolve().parent.parent / target
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def demo(db):
    organization = Organization.objects.create(name="Acme")
    brand = Brand.objects.create(organization=organization, name="Acme Outdoor")
    connection = Connection.objects.create(
        brand=brand, website="acme-outdoor.com", provider="adobe_analytics"
    )
    seed_demo_traffic(connection, end=END)
    now = timezone.now()
    connection.last_pushed_at = now - timedelta(hours=3)
    connection.save()
    for i, (code, accepted, rejected) in enumerate(
        [(200, 1840, 12), (200, 1795, 9), (422, 0, 0), (200, 1902, 15), (200, 1766, 7)]
    ):
        PushLog.objects.create(
            connection=connection,
            brand_id=connection.brand_id,
            status_code=code,
            batch_id=f"adobe-2026-05-{28 - i:02d}",
            received=accepted + rejected or 1800,
            accepted=accepted,
            rejected=rejected,
            duration_ms=180 + i * 23,
            error="event 12: pageviews must be >= 0" if code == 422 else "",
        )
    for value, count in [
        ("google.com", 5120),
        ("Typed/Bookmarked", 3307),
        ("https://www.bing.com/search?q=trail+runner", 894),
        ("chat.example-assistant.ai", 212),
        ("duckduckgo.com", 97),
    ]:
        DroppedReferrer.objects.create(
            connection=connection,
            brand_id=connection.brand_id,
            raw_referrer_value=value,
            count=count,
            first_seen_at=now - timedelta(days=30),
            last_seen_at=now - timedelta(hours=3),
        )
    user = get_user_model().objects.create_user("analyst", password=PASSWORD)
    organization.members.add(user)
    return brand


def at_path(path: str):
    """A wait_for_url condition: the page's path is `path`. Not `url.endswith(path)`: the login
    page's own URL (`/accounts/login/?next=/dashboard/`) ends with the page it leads to."""
    return lambda url: urlsplit(url).path == path


def wait_for_url(driver, condition, timeout: float = 15) -> None:
    """A click that submits a form or follows a link returns before the next page loads."""
    WebDriverWait(driver, timeout).until(lambda d: condition(d.current_url))
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def console_errors(driver) -> list[str]:
    """Console errors since the last call: CSP violations, failed loads, script errors.

    The admin's pages name no icon, so Chromium asks for /favicon.ico, a 404: not counted.
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
    ]


def full_page_screenshot(driver, path: Path, *, width: int, mobile: bool = False) -> None:
    """Emulate a viewport `width` wide and as tall as the page, then capture it."""
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width, (
        f"the page is wider than a {width}px viewport"
    )
    path.write_bytes(driver.get_screenshot_as_png())
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_dashboard_in_a_real_browser(browser, live_server, demo, screenshot_dir):
    browser.get(f"{live_server.url}/dashboard/")
    assert "/accounts/login/" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("analyst")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for_url(browser, at_path("/dashboard/"))

    # The default view: the 30 days ending at the latest data.
    start = (END - timedelta(days=DEFAULT_WINDOW_DAYS - 1)).isoformat()
    assert browser.find_element(By.NAME, "start_date").get_attribute("value") == start
    assert browser.find_element(By.NAME, "end_date").get_attribute("value") == END.isoformat()
    assert "Acme Outdoor" in browser.find_element(By.TAG_NAME, "h1").text

    kpis = browser.find_elements(By.CSS_SELECTOR, ".kpi")
    assert len(kpis) == 6 and "AI sessions" in kpis[0].text
    svg = browser.find_element(By.CSS_SELECTOR, "svg.chart")
    assert svg.size["width"] > 600 and svg.size["height"] > 150
    days = browser.find_elements(By.CSS_SELECTOR, "svg.chart g.chart-day")
    assert len(days) == DEFAULT_WINDOW_DAYS
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart g.chart-bars rect")) > 100
    platforms = browser.find_elements(By.CSS_SELECTOR, "#platform-table tbody tr")
    assert platforms[0].find_element(By.TAG_NAME, "th").text == "ChatGPT"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pages-table tbody tr")) == 12
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pushes-table tbody tr")) == 5
    assert len(browser.find_elements(By.CSS_SELECTOR, "#dropped-table tbody tr")) == 5
    # The CSS loaded from our own static files (no CDN): the KPI grid is laid out.
    assert kpis[0].location["y"] == kpis[5].location["y"]
    # The split bars' widths and colours are style attributes the policy lets through.
    bar = browser.find_element(By.CSS_SELECTOR, "#platform-table .share-bar")
    assert bar.size["width"] > 0
    assert console_errors(browser) == []

    full_page_screenshot(browser, screenshot_dir / "dashboard.png", width=1440)
    full_page_screenshot(browser, screenshot_dir / "dashboard-mobile.png", width=390, mobile=True)
    assert (screenshot_dir / "dashboard.png").stat().st_size > 20_000

    # Sorting is a plain link that keeps the rest of the view.
    browser.find_element(By.LINK_TEXT, "Revenue").click()
    wait_for_url(browser, lambda url: "sort=revenue" in url)
    assert f"start_date={start}" in browser.current_url

    # The export link carries the same view; fetch it with the browser's session cookie.
    link = browser.find_element(By.LINK_TEXT, "Export CSV").get_attribute("href")
    assert link.startswith(f"{live_server.url}/dashboard/export.csv?brand={demo.pk}&")
    assert f"start_date={start}&end_date={END.isoformat()}" in link
    cookie = browser.get_cookie("sessionid")["value"]
    request = urllib.request.Request(link, headers={"Cookie": f"sessionid={cookie}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        data = response.read()
    lines = data.decode("utf-8").splitlines()
    assert (
        lines[0] == "\ufeffdate,website,platform,page,url,sessions,pageviews,transactions,revenue"
    )
    assert len(lines) > 100 and lines[1].startswith(f"{start},acme-outdoor.com,")

    # Signing out is a POST with the CSRF token; the dashboard then asks for a login again.
    browser.find_element(By.CSS_SELECTOR, ".topnav form button").click()
    wait_for_url(browser, lambda url: "/accounts/login/" in url)
    browser.get(f"{live_server.url}/dashboard/")
    assert "/accounts/login/" in browser.current_url


@pytest.mark.admin_fan_out
def test_admin_and_api_docs_in_a_real_browser(browser, live_server, demo):
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    browser.get(f"{live_server.url}/admin/")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_url(browser, at_path("/admin/"))
    for path, heading in [
        ("/admin/", "Site administration"),
        ("/admin/referrals/connection/", "Select connection to change"),
        ("/admin/referrals/connection/add/", "Add connection"),
        ("/admin/referrals/aiplatform/add/", "Add AI platform"),
    ]:
        browser.get(f"{live_server.url}{path}")
        assert heading in browser.find_element(By.CSS_SELECTOR, "#content h1").text
        assert console_errors(browser) == [], path
    # The inline formset's "Add another" link is the admin's own script at work.
    rows = len(browser.find_elements(By.CSS_SELECTOR, ".dynamic-entries"))
    browser.find_element(By.CSS_SELECTOR, ".add-row a").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, ".dynamic-entries")) == rows + 1

    # Swagger UI, from our own static files, renders every operation of the schema.
    browser.get(f"{live_server.url}/v1/docs")
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 9
    )
    browser.find_element(By.CSS_SELECTOR, ".opblock-summary").click()  # open an operation
    WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-body"))
    assert console_errors(browser) == []
