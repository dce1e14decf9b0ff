"""Fetch someone's calendar by its secret address, safely.

The URL comes from a user, and the server fetches it: without care that lets anyone make Visitdesk
read internal addresses (SSRF: cloud metadata at 169.254.169.254, admin consoles on 10.x, services on
localhost) or hold a worker for as long as a slow server likes. So every hop:

* resolves the host name and refuses unless **every** address is globally reachable
  (``ipaddress``' ``is_global``, and not loopback, private, link-local, multicast, reserved,
  unspecified or site-local) — and an IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64
  ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) only when the carried address is public too;
  IPv4-compatible ``::a.b.c.d`` and the local NAT64 prefix are never fetched. Unless
  ``VISITDESK_BUSY_FETCH_ALLOW_PRIVATE=1`` (tests, local development);
* connects to the address it checked, not to a second lookup a DNS rebinding could change, while
  still sending the real ``Host`` and verifying TLS for the real name;
* follows at most five redirects, each checked again the same way.

One wall-clock deadline (``VISITDESK_BUSY_FETCH_TIMEOUT``) covers the whole fetch — every hop's
connect, TLS handshake, request, headers and body — however the bytes arrive: before each blocking
socket call the socket's timeout is set to the time left (``_DeadlineSocket``, ``_DeadlineSSLSocket``),
so a server trickling one byte every two seconds ends at the deadline, not when it finishes. No
thread is involved. The body may hold ``VISITDESK_BUSY_FETCH_MAX_BYTES`` bytes; a server that
compresses although we asked for ``identity`` is decoded by a bounded decompressor (the limit
applies to the inflated bytes) for gzip and deflate, and refused for anything else.

Conditional requests (``If-None-Match`` / ``If-Modified-Since``) make an unchanged feed a 304.
Error messages are meant for the calendar's owner and never quote the body.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from core.errors import ValidationFailed

from .errors import FeedError

MAX_REDIRECTS = 5
USER_AGENT = "Visitdesk busy-time import (+https://github.com/visitdesk)"
#: Prefixes whose addresses carry an IPv4 address (RFC 6052) or are only locally meaningful (RFC 8215).
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


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


def _globally_reachable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback
                                 or ip.is_private or ip.is_unspecified)


def _public(address: str) -> bool:
    """Whether ``address`` may be fetched: globally reachable, and so is any IPv4 address it carries.

    ``is_global`` alone is not enough for IPv6: 6to4 (``2002:7f00:1::1`` is 127.0.0.1 behind a
    relay) and site-local ``fec0::/10`` count as global there.
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return _globally_reachable(ip)
    if ip.ipv4_mapped is not None:
        return _globally_reachable(ip.ipv4_mapped)
    if ip in NAT64_WELL_KNOWN:  # a NAT64 gateway connects to the IPv4 address in the last 32 bits
        return _globally_reachable(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in NAT64_LOCAL_USE or ip in IPV4_COMPATIBLE or ip.is_site_local:
        return False  # local translation, deprecated and never routed, or site-local
    # 6to4 and Teredo reach the IPv4 addresses they carry: those decide. (Whether the IPv6 ranges
    # themselves count as global changed between Python 3.11 patch releases.)
    if ip.sixtofour is not None:
        return _globally_reachable(ip.sixtofour)
    if ip.teredo is not None:
        return all(_globally_reachable(part) for part in ip.teredo)
    return _globally_reachable(ip)


def resolve_checked(host: str, port: int, *, what: str = "calendar") -> list[str]:
    """The addresses of ``host`` to connect to (in resolver order), after checking all of them.

    ``what`` names the address's use in the error (the calendar's host, the webhook's host)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedError(f"The {what}'s host {host[:100]!r} cannot be resolved.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FeedError(f"The {what}'s host {host[:100]!r} has no address.")
    if not settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE:
        refused = [a for a in addresses if not _public(a)]
        if refused:
            raise FeedError(f"Refusing to connect to {host[:100]!r}: it resolves to a private or local address.")
    return list(dict.fromkeys(addresses))


class DeadlinePassed(TimeoutError):
    """The fetch's one deadline has passed (raised before a blocking call, instead of making it)."""


class Deadline:
    """A point in time every blocking socket call of one fetch must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlinePassed(f"deadline of {self.seconds} s passed")
        return left


class _DeadlineSocket(socket.socket):
    """A TCP socket whose every receive and send may only take the time left before the deadline.

    ``http.client`` reads through ``makefile()``, whose raw reader calls ``recv_into`` once per
    buffer fill: setting the timeout to the time left before each call bounds the sum, not each call.
    """

    deadline: Deadline

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(self.deadline.remaining())
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.settimeout(self.deadline.remaining())
        return super().recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.settimeout(self.deadline.remaining())
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The same for TLS: the handshake and each ``read``/``send`` get the time left
    (CPython's ``_ssl`` bounds one call, including its internal retries, by the socket's timeout)."""

    deadline: Deadline

    def do_handshake(self, block: bool = False) -> None:
        self.settimeout(self.deadline.remaining())
        super().do_handshake(block)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:  # the signature of ssl.SSLSocket.read
        self.settimeout(self.deadline.remaining())
        return super().read(len, buffer)

    def send(self, data: Any, flags: int = 0) -> int:  # what sendall() calls per record
        self.settimeout(self.deadline.remaining())
        return super().send(data, flags)


def _connect_checked(addresses: list[str], port: int, deadline: Deadline) -> _DeadlineSocket:
    """Connect to the first checked address that answers (a host may list IPv6 first on a machine
    without IPv6 routes); never to a name, which a second lookup could resolve elsewhere."""
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = _DeadlineSocket(family, socket.SOCK_STREAM)
        sock.deadline = deadline
        try:
            sock.settimeout(deadline.remaining())
            sock.connect((address, port))
            return sock
        except DeadlinePassed:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], deadline: Deadline) -> None:
        super().__init__(host, port, timeout=deadline.remaining())
        self._addresses = addresses
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = _connect_checked(self._addresses, self.port, self._deadline)


def _tls_context() -> ssl.SSLContext:
    """The system's trust store, certificate and host name checked (tests trust their own CA here)."""
    return ssl.create_default_context()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], deadline: Deadline) -> None:
        context = _tls_context()
        context.sslsocket_class = _DeadlineSSLSocket
        super().__init__(host, port, timeout=deadline.remaining(), context=context)
        self._addresses = addresses
        self._deadline = deadline
        self._tls = context

    def connect(self) -> None:
        sock = _connect_checked(self._addresses, self.port, self._deadline)
        tls = self._tls.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        if not isinstance(tls, _DeadlineSSLSocket):  # sslsocket_class above; never without the deadline
            raise TypeError("TLS socket without a deadline")
        tls.deadline = self._deadline
        self.sock = tls
        tls.do_handshake()


def _size(limit: int) -> str:
    return f"{limit / 1_048_576:.3g} MB" if limit >= 1_048_576 else f"{limit:,} bytes"


class _Body:
    """Collects the body up to ``limit`` bytes, inflating gzip/deflate with the limit on the output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self.inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.inflater = zlib.decompressobj()
        else:
            raise FeedError(f"The calendar server sent a compressed body ({encoding[:30]}) Visitdesk cannot read; "
                            "it asked for an uncompressed one.")

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise FeedError(f"The calendar is larger than {_size(self.limit)}.")
        self.parts.append(data)

    def add(self, chunk: bytes) -> None:
        if self.inflater is None:
            self._keep(chunk)
            return
        try:
            data = self.inflater.decompress(chunk, self.limit - self.size + 1)
            self._keep(data)
            while self.inflater.unconsumed_tail:
                self._keep(self.inflater.decompress(self.inflater.unconsumed_tail, self.limit - self.size + 1))
        except zlib.error as exc:
            raise FeedError("The calendar server sent a compressed body that cannot be decompressed.") from exc

    def finish(self) -> bytes:
        if self.inflater is not None:
            try:
                self._keep(self.inflater.flush())
            except zlib.error as exc:
                raise FeedError("The calendar server sent a compressed body that cannot be decompressed.") from exc
        return b"".join(self.parts)


def fetch(url: str, *, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET ``url`` with the safety rules above; FeedError says what went wrong in words for the owner."""
    timeout = settings.VISITDESK_BUSY_FETCH_TIMEOUT
    limit = settings.VISITDESK_BUSY_FETCH_MAX_BYTES
    deadline = Deadline(timeout)
    url = check_url_shape(url)
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        port = parts.port or (443 if https else 80)
        addresses = resolve_checked(parts.hostname or "", port)
        connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        answered = False
        try:
            conn = connection_class(parts.hostname or "", port, addresses=addresses, deadline=deadline)
        except DeadlinePassed as exc:
            raise FeedError(f"The calendar server did not answer within {timeout:g} s.") from exc
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5", "Accept-Encoding": "identity"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            answered = True
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
                raise FeedError(f"The calendar server answered {response.status} {str(response.reason)[:60]}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise FeedError(f"The calendar is larger than {_size(limit)}.")
            body = _Body(response.getheader("Content-Encoding") or "", limit)
            while chunk := response.read1(65536):
                body.add(chunk)
            return FetchResult(200, body.finish(), response.getheader("ETag") or "",
                               response.getheader("Last-Modified") or "")
        except TimeoutError as exc:  # DeadlinePassed, or a socket timeout (also bounded by the deadline)
            if answered:
                raise FeedError(f"The calendar took longer than {timeout:g} s to download.") from exc
            raise FeedError(f"The calendar server did not answer within {timeout:g} s.") from exc
        except ssl.SSLError as exc:
            raise FeedError(f"TLS failed: {str(exc.reason or type(exc).__name__)[:100]}.") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FeedError(f"The calendar could not be fetched: {type(exc).__name__}.") from exc
        finally:
            conn.close()
    raise FeedError(f"More than {MAX_REDIRECTS} redirects.")


@dataclass(frozen=True)
class PostResult:
    status: int
    reason: str


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float, what: str = "webhook") -> PostResult:
    """POST ``body`` to ``url`` under the same rules as a calendar fetch — every address checked, the
    connection pinned to the checked address, TLS verified for the real name, one deadline for the
    whole exchange — and no redirect followed (a 3xx is the answer). At most 64 KiB of the answer's
    body are read and dropped: only the status matters. FeedError says what went wrong in words."""
    deadline = Deadline(timeout)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(f"The {what}'s address is not an http(s) URL.")
    https = scheme == "https"
    port = parts.port or (443 if https else 80)
    addresses = resolve_checked(parts.hostname, port, what=what)
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    try:
        conn = connection_class(parts.hostname, port, addresses=addresses, deadline=deadline)
    except DeadlinePassed as exc:
        raise FeedError(f"The {what}'s server did not answer within {timeout:g} s.") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={"Content-Length": str(len(body)), **headers})
        response = conn.getresponse()
        response.read(65536)
        return PostResult(response.status, str(response.reason)[:60])
    except TimeoutError as exc:
        raise FeedError(f"The {what}'s server did not answer within {timeout:g} s.") from exc
    except ssl.SSLError as exc:
        raise FeedError(f"TLS failed: {str(exc.reason or type(exc).__name__)[:100]}.") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FeedError(f"The {what}'s server could not be reached: {type(exc).__name__}.") from exc
    finally:
        conn.close()
