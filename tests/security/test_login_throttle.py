"""Login throttle: wrong passwords lock a username at one client address, for a bounded time."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from referrals.security.login import LOCKED_OUT, client_ip_address

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
WRONG = "wrong-password"
HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.9"
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password=PASSWORD, is_staff=True)


def sign_in(page: str, username: str, password: str, address: str = HOME, **headers):
    """One attempt from a fresh browser: (signed in?, response)."""
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(page, {"username": username, "password": password})
    return "_auth_user_id" in client.session, response


def lock_out(page: str, username: str = "alice", address: str = HOME, **headers):
    """Wrong passwords up to the limit; the last one's response is the lock-out page."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _, response = sign_in(page, username, WRONG, address, **headers)
    return response


def age_attempts(by: timedelta) -> None:
    """Move the recorded failures back in time, as if `by` had passed since."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - by)


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_thirty_wrong_passwords_then_the_right_one_is_refused(alice, page):
    statuses = [sign_in(page, "alice", WRONG)[1].status_code for _ in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == [200] * (limit - 1) + [429] * (31 - limit)
    signed_in, response = sign_in(page, "alice", PASSWORD)
    assert not signed_in
    assert response.status_code == 429


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_lockout_page_says_what_happened_and_when_to_retry(alice, page):
    response = lock_out(page)
    assert response.status_code == 429
    cool_off = settings.AXES_COOLOFF_TIME.total_seconds()
    assert cool_off - 10 <= int(response["Retry-After"]) <= cool_off
    retry_at = AccessAttempt.objects.get().attempt_time + settings.AXES_COOLOFF_TIME
    text = response.content.decode()
    assert LOCKED_OUT in text
    assert f"{retry_at:%H:%M} UTC" in text


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_lockout_ends_after_the_cool_off(alice, page):
    lock_out(page)
    assert not sign_in(page, "alice", PASSWORD)[0]
    age_attempts(settings.AXES_COOLOFF_TIME)
    assert sign_in(page, "alice", PASSWORD)[0]


def test_failures_during_the_lockout_do_not_extend_it(alice):
    lock_out(LOGIN_PAGES[0])
    age_attempts(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert sign_in(LOGIN_PAGES[0], "alice", WRONG)[1].status_code == 429  # still locked
    age_attempts(timedelta(minutes=2))  # the cool-off from the lock-out is now over
    assert sign_in(LOGIN_PAGES[0], "alice", PASSWORD)[0]


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_other_users_and_addresses_are_unaffected(alice, bob, page):
    lock_out(page, "alice", HOME)
    assert sign_in(page, "bob", PASSWORD, HOME)[0]
    assert sign_in(page, "alice", PASSWORD, ELSEWHERE)[0]
    assert not sign_in(page, "alice", PASSWORD, HOME)[0]


def test_both_login_pages_share_one_count(alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("/accounts/login/", "alice", WRONG)
    assert sign_in("/admin/login/", "alice", WRONG)[1].status_code == 429
    assert not sign_in("/accounts/login/", "alice", PASSWORD)[0]


def test_a_successful_sign_in_clears_the_count(alice):
    page = LOGIN_PAGES[0]
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert sign_in(page, "alice", WRONG)[1].status_code == 200
        assert sign_in(page, "alice", PASSWORD)[0]


def test_a_forged_forwarded_for_header_does_not_reset_the_count(alice):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN_PAGES[0], "alice", WRONG, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    forged = {"HTTP_X_FORWARDED_FOR": "192.0.2.200"}
    assert not sign_in(LOGIN_PAGES[0], "alice", PASSWORD, **forged)[0]


def test_behind_a_trusted_proxy_each_client_address_counts_apart(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "127.0.0.1"
    lock_out(LOGIN_PAGES[0], "alice", proxy, HTTP_X_FORWARDED_FOR=HOME)
    assert not sign_in(LOGIN_PAGES[0], "alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=HOME)[0]
    other = {"HTTP_X_FORWARDED_FOR": ELSEWHERE}
    assert sign_in(LOGIN_PAGES[0], "alice", PASSWORD, proxy, **other)[0]


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, None, "10.1.1.1"),
        (0, "192.0.2.1", "10.1.1.1"),  # nobody vouches for the header: not read
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),  # the client's own prefix is ignored
        (2, "6.6.6.6, 192.0.2.1, 10.2.2.2", "192.0.2.1"),
        (2, "192.0.2.1", "10.1.1.1"),  # fewer hops than proxies: not through them all
        (1, "", "10.1.1.1"),
        (1, "not-an-address", "10.1.1.1"),
    ],
)
def test_client_ip_address(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.1.1", **headers)
    assert client_ip_address(request) == expected


def test_the_test_clients_login_still_works(alice, client):
    """It authenticates without a request: nothing to count, nothing refused."""
    assert client.login(username="alice", password=PASSWORD)
    assert not client.login(username="alice", password=WRONG)


def test_bearer_api_is_unaffected(alice, api_client, brand):
    lock_out(LOGIN_PAGES[0], "alice", "127.0.0.1")
    path = f"/v1/{brand.pk}/ai-referrals/connections"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer air_wrongwrongwrongwrongwrongwrongwrong")
    assert {bad.get(path).status_code for _ in range(30)} == {401}
    assert api_client.get(path).status_code == 200
