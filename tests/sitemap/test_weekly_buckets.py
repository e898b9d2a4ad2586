"""Weekly buckets end on Sunday: the first one too, in Window and in the export's change column."""

import csv
import io
from datetime import date

import pytest

from referrals.reporting.window import Window
from tests.factories import row, sitemap_page

MON, WED, SUN = date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 11)
NEXT_MON = date(2026, 1, 12)
END = date(2026, 6, 30)  # a Tuesday; every window below is over 90 days, so weekly


@pytest.mark.parametrize(
    ("start", "end", "first"),
    [
        (MON, END, (MON, SUN)),  # a whole week
        (WED, END, (WED, SUN)),  # mid-week: Wednesday to Sunday
        (SUN, END, (SUN, SUN)),  # the last day of its week alone
        (MON, date(2026, 4, 30), (MON, SUN)),
        (MON, MON, (MON, MON)),  # daily: the first day alone
        (WED, date(2026, 4, 5), (WED, WED)),  # 89 days: still daily
    ],
    ids=["monday", "wednesday", "sunday", "monday-april", "one-day", "89-days"],
)
def test_window_first_bucket_is_the_windows_days_of_the_first_week(start, end, first):
    assert Window(start=start, end=end).first_bucket() == first


def change_pct(response, page_id: int) -> str:
    assert response.status_code == 200, response.content
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    by_id = {r[header.index("id")]: r for r in rows}
    return by_id[str(page_id)][header.index("ai_referrals_change_pct")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (MON, "50.0"),  # first week 01-05..01-11: 10 + 10 sessions, last week 30
        (WED, "200.0"),  # first week 01-07..01-11: 10 sessions, last week 30
    ],
    ids=["monday", "wednesday"],
)
def test_export_change_compares_the_first_week_without_the_day_after_it(
    api_client, brand, connection, start, expected
):
    for day, sessions in [
        (MON, 10),  # counted only when the window starts on Monday
        (SUN, 10),  # the first week's last day
        (NEXT_MON, 1000),  # the day after the first week: in no first bucket
        (date(2026, 6, 28), 2000),  # the Sunday before the last week
        (date(2026, 6, 29), 25),  # the last week: Monday 06-29 and Tuesday 06-30
        (END, 5),
    ]:
        row(connection, day, "chatgpt", "/pricing", sessions=sessions)
    page = sitemap_page(brand, "example.com", "/pricing")

    response = api_client.get(
        f"/v1/{brand.pk}/sitemap/export",
        {"format": "csv", "start_date": start.isoformat(), "end_date": END.isoformat()},
    )

    assert change_pct(response, page.pk) == expected
