"""Fetch someone's calendar by its secret address, safely.

The URL comes from a user, and the server fetches it: without care that lets anyone make Visitdesk
read internal addresses (SSRF: cloud metadata at 169.254.169.254, admin consoles on 10.x, services on
localhost). So every hop:

* resolves the host name and refuses unless **every** address is public (not loopback, private,
  link-local, multicast, reserved, unspecified, or IPv4 mapped into one of those) — unless
  ``VISITDESK_BUSY_FETCH_ALLOW_PRIVATE=1`` (tests, local development);
* connects to the address it checked, not to a second lookup a DNS rebinding could change, while
  still sending the real ``Host`` and verifying TLS for the real name;
* follows at most five redirects, each checked again the same way;
* gives up after ``VISITDESK_BUSY_FETCH_TIMEOUT`` seconds and ``VISITDESK_BUSY_FETCH_MAX_BYTES`` bytes.

Conditional requests (``If-None-Match`` / ``If-Modified-Since``) make an unchanged feed a 304.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import cast
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from core.errors import ValidationFailed

from .errors import FeedError

MAX_REDIRECTS = 5
USER_AGENT = "Visitdesk busy-time import (+https://github.com/visitdesk)"


@dataclass(frozen=True)
class FetchResult:
    status: int  # 200 or 304
    body: bytes
    etag: str
    last_modified: str


def check_url_shape(url: str) -> str:
    """The URL as it will be fetched (``webcal://`` becomes ``https://``), or a 400 field error."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "webcal":
        url, scheme = "https" + url.strip()[len(parts.scheme):], "https"
        parts = urlsplit(url)
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("Give the calendar's http(s) or webcal address.", field="url")
    if parts.username or parts.password:
        raise ValidationFailed("Addresses with a user name or password are not supported.", field="url")
    return url.strip()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback
                                 or ip.is_private or ip.is_unspecified)


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses of ``host`` to connect to (in resolver order), after checking all of them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedError(f"The calendar's host {host!r} cannot be resolved.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FeedError(f"The calendar's host {host!r} has no address.")
    if not settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE:
        refused = [a for a in addresses if not _public(a)]
        if refused:
            raise FeedError(f"Refusing to fetch from {host!r}: it resolves to a private or local address.")
    return list(dict.fromkeys(addresses))


def _connect_checked(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """Connect to the first checked address that answers (a host may list IPv6 first on a machine
    without IPv6 routes); never to a name, which a second lookup could resolve elsewhere."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_checked(self._addresses, self.port, cast(float, self.timeout))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect_checked(self._addresses, self.port, cast(float, self.timeout))  # always given
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]  # http.client's own attribute
        self.sock = context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, *, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET ``url`` with the safety rules above; FeedError says what went wrong in words for the owner."""
    timeout = settings.VISITDESK_BUSY_FETCH_TIMEOUT
    limit = settings.VISITDESK_BUSY_FETCH_MAX_BYTES
    deadline = time.monotonic() + timeout
    url = check_url_shape(url)
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        port = parts.port or (443 if https else 80)
        addresses = resolve_checked(parts.hostname or "", port)
        connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        conn = connection_class(parts.hostname or "", port, addresses=addresses,
                                timeout=max(0.1, deadline - time.monotonic()))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5", "Accept-Encoding": "identity"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                response.close()
                if not location:
                    raise FeedError(f"The calendar server answered {response.status} without a Location.")
                url = check_url_shape(urljoin(url, location))
                continue
            if response.status == 304:
                return FetchResult(304, b"", response.getheader("ETag") or etag,
                                   response.getheader("Last-Modified") or last_modified)
            if response.status != 200:
                raise FeedError(f"The calendar server answered {response.status} {response.reason}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise FeedError(f"The calendar is larger than {limit // 1_000_000} MB.")
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise FeedError(f"The calendar took longer than {timeout} s to download.")
                chunk = response.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FeedError(f"The calendar is larger than {limit // 1_000_000} MB.")
                chunks.append(chunk)
            return FetchResult(200, b"".join(chunks), response.getheader("ETag") or "",
                               response.getheader("Last-Modified") or "")
        except TimeoutError as exc:
            raise FeedError(f"The calendar server did not answer within {timeout} s.") from exc
        except ssl.SSLError as exc:
            raise FeedError(f"TLS failed: {exc.reason or exc}.") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FeedError(f"The calendar could not be fetched: {type(exc).__name__}.") from exc
        finally:
            conn.close()
    raise FeedError(f"More than {MAX_REDIRECTS} redirects.")
