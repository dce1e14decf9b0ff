"""The fetcher's address check: every address that is not globally reachable is private, including
IPv6 addresses that carry a private IPv4 one (issue 17: 6to4 and site-local used to pass)."""

from __future__ import annotations

import pytest

from availability import fetch as fetch_module
from availability.errors import FeedError


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("100.64.0.1", "shared address space (carrier-grade NAT)"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("192.0.2.10", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("240.0.0.1", "reserved"),
    ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique local"),
    ("fec0::1", "site-local (deprecated, still routed inside sites)"),
    ("2001:db8::1", "documentation"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo carrying 10.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("::7f00:1", "IPv4-compatible 127.0.0.1"),
    ("::808:808", "IPv4-compatible (deprecated, never routed)"),
    ("fe80::1%eth0", "link-local with a zone"),
])
def test_not_globally_reachable_addresses_are_refused(address, why):
    assert not fetch_module._public(address), why


@pytest.mark.parametrize("address", [
    "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "64:ff9b::808:808",  # NAT64 of a public address: the gateway connects to 8.8.8.8
    "2002:808:808::1",  # 6to4 of a public address
])
def test_public_addresses_are_allowed(address):
    assert fetch_module._public(address)


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "2002:a00:1::1", "fec0::1", "64:ff9b::a00:1"])
def test_a_host_resolving_to_an_embedded_private_address_is_refused_before_connecting(settings, monkeypatch, address):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = False
    import socket

    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    def no_connection(*args, **kwargs):
        raise AssertionError("connected although the address was refused")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(fetch_module, "_connect_checked", no_connection)
    with pytest.raises(FeedError, match="private or local"):
        fetch_module.fetch("https://calendar.example.org/x.ics")
