"""The outbound address policy and destination allowlists (pure rules)."""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit

import pytest

from govflow.core.destinations import (
    NOT_ALLOWED,
    AddressPolicy,
    Destination,
    DestinationAllowlist,
    DestinationNotAllowed,
    canonical_host,
    ip_literal,
)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("169.254.169.254", "169.254.169.254"),
    ],
)
def test_every_spelling_of_an_address_is_read(host: str, address: str) -> None:
    assert ip_literal(host) == ip_address(address)


@pytest.mark.parametrize(
    "host", ["localhost", "example.org", "1password.com", "08.1.1.1", "1.2.3.4.5", "4294967296"]
)
def test_names_are_not_addresses(host: str) -> None:
    assert ip_literal(host) is None


def test_canonical_hosts() -> None:
    assert canonical_host("Hooks.Example.ORG.") == "hooks.example.org"
    assert canonical_host("0x7f000001") == "127.0.0.1"
    assert canonical_host("bücher.de") == "xn--bcher-kva.de"
    assert canonical_host("[::1]") == "::1"


STRICT = AddressPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("192.0.2.10", "private"),
        ("fec0::1", "site-local"),
        ("::7f00:1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),
    ],
)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    cause = STRICT.refusal(ip_address(address))
    assert cause is not None
    assert f"a {kind} address" in cause
    with pytest.raises(DestinationNotAllowed) as caught:
        STRICT.check(ip_address(address))
    assert str(caught.value) == NOT_ALLOWED


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal(ip_address(address)) is None


def test_allowed_networks_open_exactly_what_they_contain() -> None:
    policy = AddressPolicy.parse(["127.0.0.0/8", "10.20.0.0/16", "fd00::/64"])
    for allowed in ("127.0.0.1", "::ffff:127.0.0.1", "10.20.3.4", "fd00::5"):
        assert policy.refusal(ip_address(allowed)) is None, allowed
    for refused in ("::1", "10.21.0.1", "169.254.169.254", "fd00:0:0:1::5"):
        assert policy.refusal(ip_address(refused)) is not None, refused


def test_malformed_networks_are_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an IP network"):
        AddressPolicy.parse(["10.0.0.0/33"])


def dest(url: str) -> Destination:
    parts = urlsplit(url)
    return Destination.of(parts.scheme, parts.hostname or "", parts.port, parts.path)


@pytest.mark.parametrize(
    ("entry", "allowed", "refused"),
    [
        (
            "hooks.example.org",
            [
                "https://hooks.example.org/x",
                "http://HOOKS.example.org./",
                "http://hooks.example.org:80/",
            ],
            [
                "https://hooks.example.org:8443/",
                "https://a.hooks.example.org/",
                "https://example.org/",
            ],
        ),
        (
            "*.example.org",
            ["https://a.example.org/", "https://b.a.example.org/"],
            ["https://example.org/", "https://evilexample.org/", "https://a.example.org.evil.com/"],
        ),
        (
            "hooks.example.org:8443",
            ["https://hooks.example.org:8443/"],
            ["https://hooks.example.org/"],
        ),
        (
            "127.0.0.1:*",
            ["http://127.0.0.1:9/", "http://0x7f000001:8080/"],
            ["http://127.0.0.2:9/"],
        ),
        ("[::1]:*", ["http://[::1]:9/"], ["http://127.0.0.1:9/"]),
        (
            "https://hooks.example.org/services/",
            ["https://hooks.example.org/services/a", "https://hooks.example.org/services/"],
            [
                "http://hooks.example.org/services/a",
                "https://hooks.example.org/servicesX",
                "https://hooks.example.org/other",
                "https://hooks.example.org:444/services/a",
            ],
        ),
        (
            "https://hooks.example.org/api",
            ["https://hooks.example.org/api", "https://hooks.example.org/api/v1"],
            ["https://hooks.example.org/api2"],
        ),
        (
            "*",
            ["https://anything.example/", "http://10.0.0.1/"],
            ["https://anything.example:8443/"],
        ),
    ],
)
def test_allowlist_entries(entry: str, allowed: list[str], refused: list[str]) -> None:
    allowlist = DestinationAllowlist.parse([entry])
    for url in allowed:
        assert allowlist.permits(dest(url)), url
    for url in refused:
        assert not allowlist.permits(dest(url)), url


def test_an_empty_allowlist_allows_nothing() -> None:
    allowlist = DestinationAllowlist.parse(["", " "])
    with pytest.raises(DestinationNotAllowed) as caught:
        allowlist.check(dest("https://hooks.example.org/"))
    assert str(caught.value) == NOT_ALLOWED
    assert "not on the allowlist" in caught.value.cause


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("ftp://files.example.org/", "only http:// and https://"),
        ("hooks.example.org/path", "a path needs a URL prefix"),
        ("hooks.example.org:0", "the port must be"),
        ("hooks.example.org:http", "the port must be"),
        ("ho*ks.example.org", "malformed host"),
        ("*example.org", "a wildcard must be"),
        ("https://user@hooks.example.org/", "malformed host"),
        ("https://hooks.example.org/?q=1", "no query or fragment"),
    ],
)
def test_malformed_entries_are_named(entry: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        DestinationAllowlist.parse([entry])
    assert repr(entry) in str(caught.value)


def test_only_http_and_https() -> None:
    with pytest.raises(DestinationNotAllowed, match=NOT_ALLOWED):
        Destination.of("file", "", None, "/etc/passwd")
