"""Polite HTTP for the crawl: one user agent, bounded concurrency, a delay per host, a
deadline per request, a size cap read from the stream (a large page is never held whole), and
public internet addresses only."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

TIMED_OUT = "timed out after {seconds:g} s"
NOT_PUBLIC = "refused: {host} resolves to {address}, not a public internet address"


def address_public(address: str) -> bool:
    """A global unicast address: not private, loopback, link-local (cloud metadata at
    169.254.169.254), shared (100.64/10), reserved or multicast; IPv4 inside IPv6 judged as
    IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Connects to public addresses only. The crawl fetches a website a customer named, and
    the redirects and links it finds: none may reach the service's own network. The host is
    resolved here and the address checked is the one connected to, so a second DNS answer
    cannot slip in between (TLS still verifies the host's name)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in found))
        for address in addresses:
            if not address_public(address):
                raise httpcore.ConnectError(NOT_PUBLIC.format(host=host, address=address))
        return await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("refused: the crawl connects to internet addresses only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def crawler_user_agent() -> str:
    """`AIReferralsBot/1.0 (+contact URL)`: robots.txt rules for AIReferralsBot apply to us."""
    return f"{settings.CRAWL_USER_AGENT_TOKEN}/1.0 (+{settings.CRAWL_CONTACT_URL})"


@dataclass
class Fetched:
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    too_large: bool = False
    error: str | None = None  # a timeout or a network error: no answer
    error_kind: str | None = None  # "timeout" or "network" when `error` (the crawl's metrics)

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.too_large

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        return self.body.decode(_charset(self.headers.get("content-type", "")), "replace")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                "".encode(value.strip("\"'"))
                return value.strip("\"'")
            except LookupError:
                break
    return "utf-8"


class Fetcher:
    """GETs with at most `concurrency` requests in flight, request starts at least `delay`
    seconds apart per host, each request done within `timeout` seconds (connect, headers and
    body together) and bodies cut at `max_bytes` (decoded: a gzip bomb stops there too).
    Redirects are not followed: the crawl decides whether a target is one of the site's."""

    def __init__(self, *, concurrency: int, delay: float, timeout: float, max_bytes: int):
        self.delay = delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._slots = asyncio.Semaphore(concurrency)
        self._next_start: dict[str, float] = {}
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": crawler_user_agent(),
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            },
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            trust_env=False,  # no proxy from the environment: the crawl goes where it says
        )
        if not settings.CRAWL_PRIVATE_ADDRESSES:
            # httpx takes no network backend; its transport's connection pool does.
            self._client._transport._pool._network_backend = PublicOnlyBackend()

    async def close(self) -> None:
        await self._client.aclose()

    def slow_down(self, delay: float) -> None:
        """robots.txt's Crawl-delay, when it asks for more than ours."""
        self.delay = max(self.delay, delay)

    async def _my_turn(self, host: str) -> None:
        if self.delay <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + self.delay
        await asyncio.sleep(start - now)

    async def get(self, url: str) -> Fetched:
        async with self._slots:
            await self._my_turn(urlsplit(url).netloc)
            try:
                return await asyncio.wait_for(self._get(url), self.timeout)
            except (TimeoutError, httpx.TimeoutException):
                error = TIMED_OUT.format(seconds=self.timeout)
                return Fetched(url=url, error=error, error_kind="timeout")
            except (httpx.HTTPError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                return Fetched(url=url, error=error, error_kind="network")

    async def _get(self, url: str) -> Fetched:
        async with self._client.stream("GET", url) as response:
            fetched = Fetched(
                url=url,
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
            )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                fetched.too_large = True
                return fetched
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    fetched.too_large = True
                    return fetched
                chunks.append(chunk)
            fetched.body = b"".join(chunks)
            return fetched
