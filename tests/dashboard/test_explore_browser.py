"""Exploring in a real headless Chromium: platform -> section -> page -> back, each view's
numbers against a GROUP BY of the rows, and axe-core (selenium-axe-python) on the dashboard and
the page view: no serious or critical accessibility violation."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium_axe_python import Axe

from referrals.models import ReferralRow
from referrals.reporting.window import DEFAULT_WINDOW_DAYS
from tests.dashboard import test_browser
from tests.dashboard.test_browser import (
    END,
    PASSWORD,
    at_path,
    console_errors,
    full_page_screenshot,
    wait_for_url,
)

# The fixtures, shared.
browser, demo, screenshot_dir = test_browser.browser, test_browser.demo, test_browser.screenshot_dir
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
START = END - timedelta(days=DEFAULT_WINDOW_DAYS - 1)


def sessions(brand, **filters) -> int:
    """The GROUP BY the views must equal: counted rows of the window."""
    rows = ReferralRow.objects.filter(
        brand=brand, platform__isnull=False, date__range=(START, END), **filters
    )
    return rows.aggregate(n=Sum("sessions"))["n"] or 0


def kpi_sessions(driver) -> int:
    return int(driver.find_element(By.CSS_SELECTOR, ".kpi .kpi-value").text.replace(",", ""))


def assert_accessible(driver) -> None:
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, axe.report(bad)


def test_platform_then_section_then_page_then_back(browser, live_server, demo, screenshot_dir):
    browser.get(f"{live_server.url}/dashboard/")
    browser.find_element(By.NAME, "username").send_keys("analyst")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for_url(browser, at_path("/dashboard/"))
    assert kpi_sessions(browser) == sessions(demo)
    assert_accessible(browser)

    # A click on a platform of the table: every panel narrows to it, a chip says so.
    browser.find_element(By.CSS_SELECTOR, '#platform-table a[data-platform="chatgpt"]').click()
    wait_for_url(browser, lambda url: "platform=chatgpt" in url)
    assert kpi_sessions(browser) == sessions(demo, platform__slug="chatgpt")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#platform-table tbody tr")) == 1
    assert "Platform: ChatGPT" in browser.find_element(By.CSS_SELECTOR, ".filter-chips").text

    # A click on a page's section: the section's pages only, the platform kept.
    chip = browser.find_element(
        By.CSS_SELECTOR, '#pages-table a.section-filter[data-prefix="/blog"]'
    )
    chip.click()
    wait_for_url(browser, lambda url: "path_prefix=%2Fblog" in url)
    assert "platform=chatgpt" in browser.current_url
    in_blog = sessions(demo, platform__slug="chatgpt", page__path__startswith="/blog/")
    assert kpi_sessions(browser) == in_blog
    rows = browser.find_elements(By.CSS_SELECTOR, "#pages-table tbody tr")
    assert rows and all("/blog/" in r.text for r in rows)
    filtered_url = browser.current_url
    assert_accessible(browser)
    # On a phone the chips, the breadcrumb and the compare button fit the width.
    full_page_screenshot(browser, screenshot_dir / "explore-mobile.png", width=390, mobile=True)

    # The previous period overlays the chart; its table equivalent opens.
    browser.find_element(By.ID, "compare-toggle").click()
    wait_for_url(browser, lambda url: "compare=1" in url)
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart polyline.chart-overlay")
    browser.find_element(By.CSS_SELECTOR, "details.chart-table summary").click()
    table_rows = browser.find_elements(By.CSS_SELECTOR, "#chart-table tbody tr")
    assert len(table_rows) == DEFAULT_WINDOW_DAYS
    browser.back()
    wait_for_url(browser, lambda url: url == filtered_url)

    # A page of the list: its own view, every platform of that page.
    link = browser.find_element(By.CSS_SELECTOR, "#pages-table a[data-page-view]")
    path = link.text
    link.click()
    wait_for_url(browser, lambda url: "/dashboard/page/" in url)
    assert browser.find_element(By.ID, "page-title").text == path
    assert kpi_sessions(browser) == sessions(demo, page__raw_page_value=path)
    assert browser.find_element(By.ID, "live-url").get_attribute("href").endswith(path)
    assert_accessible(browser)
    assert console_errors(browser) == []
    full_page_screenshot(browser, screenshot_dir / "page.png", width=1440)
    full_page_screenshot(browser, screenshot_dir / "page-mobile.png", width=390, mobile=True)

    # Back: the filtered dashboard again, the same numbers.
    browser.back()
    wait_for_url(browser, lambda url: url == filtered_url)
    assert kpi_sessions(browser) == in_blog
    # Removing a chip is one click, or one key press from the keyboard.
    chip = browser.find_element(
        By.CSS_SELECTOR, 'a.chip-filter[aria-label^="Remove filter Platform"]'
    )
    chip.send_keys(Keys.ENTER)
    wait_for_url(browser, lambda url: "platform=" not in url)
    assert kpi_sessions(browser) == sessions(demo, page__path__startswith="/blog/")
