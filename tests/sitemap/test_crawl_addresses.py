"""The crawl connects to public internet addresses only: a customer names the website (and
its sitemaps and redirects name more), so without the check a crawl could be pointed at the
service's own network (cloud metadata at 169.254.169.254, databases, admin ports) and show
what answered in the dashboard. The tests' websites are on 127.0.0.1: the test run allows
private addresses (tests/secret_key.py), and these tests turn that off."""

import asyncio

import pytest
from django.core.management import CommandError, call_command

from referrals.models import WebsiteCrawl
from referrals.sitemap.crawl.fetch import Fetcher, address_public
from tests.sitemap.test_crawl import site  # noqa: F401 (the fixture)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4 inside IPv6
        ("::ffff:169.254.169.254", False),
    ],
)
def test_which_addresses_are_public(address, public):
    assert address_public(address) is public


def fetch(url: str):
    async def run():
        fetcher = Fetcher(concurrency=1, delay=0, timeout=2, max_bytes=10_000)
        try:
            return await fetcher.get(url)
        finally:
            await fetcher.close()

    return asyncio.run(run())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_before_connecting(site, settings, host):  # noqa: F811
    settings.CRAWL_PRIVATE_ADDRESSES = False
    url = site.url.replace("127.0.0.1", host) + "/robots.txt"
    fetched = fetch(url)
    assert fetched.status is None and fetched.error_kind == "network"
    assert "not a public internet address" in fetched.error
    assert site.requests_seen == []


def test_the_same_fetch_goes_through_when_private_addresses_are_allowed(site, settings):  # noqa: F811
    settings.CRAWL_PRIVATE_ADDRESSES = True
    assert fetch(site.url + "/robots.txt").status == 200
    assert [path for path, _ in site.requests_seen] == ["/robots.txt"]


@pytest.mark.django_db
def test_a_crawl_of_a_private_address_fails_and_says_why(brand, site, settings):  # noqa: F811
    settings.CRAWL_PRIVATE_ADDRESSES = False
    with pytest.raises(CommandError, match="robots.txt"):
        call_command(
            "crawl_site", "--brand", str(brand.pk), "--website", "example.com",
            "--base-url", site.url, "--timeout", "1",
        )  # fmt: skip
    state = WebsiteCrawl.objects.get(brand=brand)
    assert state.status == "failed" and "not a public internet address" in state.last_error
    assert site.requests_seen == []
