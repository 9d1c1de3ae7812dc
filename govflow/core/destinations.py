"""Where outbound requests may go: the address policy and destination allowlists.

Pure rules, no I/O; :mod:`govflow.adapters.outbound` applies them to real requests (after DNS
resolution, on every connection and every redirect).

- :class:`AddressPolicy` decides on an IP address: public unicast addresses are allowed;
  loopback, private, link-local, shared (CGNAT), multicast, reserved, unspecified and
  documentation ranges are refused unless one of the policy's networks (the
  ``OUTBOUND_ALLOW_NETWORKS`` setting) contains them. An IPv6 address that carries an IPv4
  address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``) is judged as that IPv4
  address; 6to4 and Teredo addresses are judged on both.
- :class:`DestinationAllowlist` decides on a URL: an entry is a host pattern (``hooks.example.org``,
  ``*.example.org``, ``hooks.example.org:8443``, ``10.1.2.3:*``, ``*``) or a URL prefix
  (``https://hooks.example.org/services/``).
- :func:`ip_literal` reads a host that *is* an address in every spelling resolvers accept:
  ``127.0.0.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``[::1]``,
  ``::ffff:127.0.0.1``, with or without a trailing dot.

Error tree::

    DestinationNotAllowed   a destination is refused; ``str()`` is the same whatever the
                            cause, ``cause`` says why (for the server log only)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Final

import msgspec

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

NOT_ALLOWED: Final = "destination not allowed"
"""What a refused destination is called wherever a user can read it."""
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

_NAT64 = IPv6Network("64:ff9b::/96")
_SHARED = IPv4Network("100.64.0.0/10")


class DestinationNotAllowed(Exception):
    """The destination is not allowed.

    :ivar cause: why, for the server log (never shown to users: it would tell a prober which
        addresses exist and which are internal).
    """

    def __init__(self, cause: str) -> None:
        super().__init__(NOT_ALLOWED)
        self.cause = cause


# -- host spellings --------------------------------------------------------------------------


def _inet_aton(host: str) -> IPv4Address | None:
    """``host`` read as the C library's ``inet_aton`` reads it (1 to 4 parts, each decimal,
    ``0x`` hexadecimal or ``0`` octal; the last part fills the remaining bytes)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if part[:2] == "0x":
            digits, base = part[2:], 16
        elif len(part) > 1 and part[0] == "0":
            digits, base = part[1:], 8
        else:
            digits, base = part, 10
        if not digits or not digits.isascii() or not digits.isalnum():
            return None
        try:
            values.append(int(digits, base))
        except ValueError:
            return None
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for value in head:
        number = number * 256 + value
    return IPv4Address((number << (8 * (4 - len(head)))) | last)


def normalize_host(host: str) -> str:
    """``host`` lowercased, without brackets, IPv6 zone or trailing dot."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    name = name.split("%", 1)[0] if ":" in name else name
    return name[:-1] if name.endswith(".") else name


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` denotes by itself (no DNS), or ``None`` for a name."""
    name = normalize_host(host)
    if not name:
        return None
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return _inet_aton(name) if name[0].isdigit() else None


def canonical_host(host: str) -> str:
    """The form hosts are compared in: an address as ``ipaddress`` writes it, a name
    lowercased and IDNA-encoded, without trailing dot."""
    address = ip_literal(host)
    if address is not None:
        return str(address)
    name = normalize_host(host)
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


# -- addresses -------------------------------------------------------------------------------


def _meanings(address: IPAddress) -> list[IPAddress]:
    """The addresses a packet to ``address`` may end up at."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return [address.ipv4_mapped]
        if address in _NAT64:
            return [IPv4Address(int(address) & 0xFFFFFFFF)]
        if address.sixtofour is not None:
            return [address, address.sixtofour]
        if address.teredo is not None:
            return [address, *address.teredo]
    return [address]


def _special(address: IPAddress) -> str | None:
    """What makes ``address`` not a public unicast address, or ``None``."""
    checks: list[tuple[bool, str]] = [
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, IPv4Address) and address in _SHARED, "shared (CGNAT)"),
        (isinstance(address, IPv6Address) and address.is_site_local, "site-local"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    ]
    return next((name for flagged, name in checks if flagged), None)


class AddressPolicy(msgspec.Struct, frozen=True):
    """Which IP addresses outbound connections may reach.

    :ivar networks: non-public networks that are allowed anyway (``OUTBOUND_ALLOW_NETWORKS``).
    """

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, networks: Iterable[str]) -> AddressPolicy:
        """A policy allowing ``networks`` (CIDR blocks or single addresses) besides the public
        internet.

        :raises ValueError: an entry is not a network; the message names it.
        """
        parsed: list[IPNetwork] = []
        for entry in networks:
            try:
                parsed.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP network (e.g. 10.20.0.0/16)") from None
        return cls(tuple(parsed))

    def _listed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)

    def refusal(self, address: IPAddress) -> str | None:
        """Why a connection to ``address`` is refused, or ``None`` when it is allowed."""
        if self._listed(address):
            return None
        for meaning in _meanings(address):
            if self._listed(meaning):
                continue
            special = _special(meaning)
            if special is not None:
                shown = f"{address}" if meaning == address else f"{address} (= {meaning})"
                return f"{shown} is a {special} address outside OUTBOUND_ALLOW_NETWORKS"
        return None

    def check(self, address: IPAddress) -> None:
        """:raises DestinationNotAllowed: ``address`` is refused."""
        cause = self.refusal(address)
        if cause is not None:
            raise DestinationNotAllowed(cause)


# -- URLs ------------------------------------------------------------------------------------


class Destination(msgspec.Struct, frozen=True):
    """A request's target as compared with an allowlist.

    :ivar scheme: ``http`` or ``https``.
    :ivar host: in :func:`canonical_host` form.
    :ivar port: the effective port (the scheme's default when the URL names none).
    :ivar path: the path as sent (percent-encoded), without the query.
    """

    scheme: str
    host: str
    port: int
    path: str = "/"

    @classmethod
    def of(cls, scheme: str, host: str, port: int | None, path: str) -> Destination:
        """A destination from the parts of a parsed URL.

        :raises DestinationNotAllowed: the scheme is not ``http``/``https``.
        """
        scheme = scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise DestinationNotAllowed(f"scheme {scheme!r} is not http or https")
        return cls(scheme, canonical_host(host), port or DEFAULT_PORTS[scheme], path or "/")


ANY_PORT: Final = -1


def _host_matches(pattern: str, host: str) -> bool:
    """``*`` matches any host, ``*.<domain>`` any name under the domain, else equality."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return ip_literal(host) is None and host.endswith(pattern[1:])
    return host == pattern


class AllowlistEntry(msgspec.Struct, frozen=True):
    """One entry of a :class:`DestinationAllowlist` (see :meth:`DestinationAllowlist.parse`).

    :ivar scheme: the only scheme allowed, or ``None`` for http and https.
    :ivar host: ``*`` (any), ``*.<domain>`` (any subdomain of it) or a host in canonical form.
    :ivar port: the only port, ``ANY_PORT``, or ``None`` for the scheme's default port.
    :ivar path: a path prefix (whole segments), ``/`` for any path.
    """

    scheme: str | None
    host: str
    port: int | None
    path: str = "/"

    def permits(self, target: Destination) -> bool:
        """Whether ``target`` falls under this entry."""
        if self.scheme is not None and target.scheme != self.scheme:
            return False
        if not _host_matches(self.host, target.host):
            return False
        if self.port is None:
            if target.port != DEFAULT_PORTS[target.scheme]:
                return False
        elif self.port != ANY_PORT and target.port != self.port:
            return False
        if self.path == "/":
            return True
        prefix = self.path if self.path.endswith("/") else self.path + "/"
        return target.path == self.path or target.path.startswith(prefix)


def _split_authority(authority: str, entry: str) -> tuple[str, int | None]:
    """``host[:port]`` or ``[v6][:port]``; ``port`` may be ``*``."""
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and port_text is None:
            raise ValueError(f"{entry!r}: malformed host")
    elif authority.count(":") == 1:
        host, port_text = authority.split(":")
    else:
        host, port_text = authority, None
    if not host or any(c in host for c in "/@?#\\ ") or (host != "*" and "*" in host[1:]):
        raise ValueError(f"{entry!r}: malformed host")
    if host.startswith("*") and host != "*" and not host.startswith("*."):
        raise ValueError(f"{entry!r}: a wildcard must be '*' or '*.<domain>'")
    if port_text is None:
        return host, None
    if port_text == "*":
        return host, ANY_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{entry!r}: the port must be 1-65535 or *")
    return host, int(port_text)


def _canonical_pattern(host: str) -> str:
    if host == "*":
        return host
    if host.startswith("*."):
        return "*." + canonical_host(host[2:])
    return canonical_host(host)


def _parse_entry(raw: str) -> AllowlistEntry:
    entry = raw.strip()
    scheme: str | None = None
    path = "/"
    rest = entry
    if "://" in entry:
        scheme, _, rest = entry.partition("://")
        scheme = scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"{entry!r}: only http:// and https:// URLs")
        authority, slash, tail = rest.partition("/")
        if any(c in tail for c in "?#"):
            raise ValueError(f"{entry!r}: a URL prefix has no query or fragment")
        path = slash + tail or "/"
        rest = authority
    elif "/" in entry:
        raise ValueError(f"{entry!r}: a path needs a URL prefix (https://host/path)")
    host, port = _split_authority(rest, entry)
    return AllowlistEntry(scheme, _canonical_pattern(host), port, path)


class DestinationAllowlist(msgspec.Struct, frozen=True):
    """The destinations a kind of request may go to; empty allows nothing."""

    entries: tuple[AllowlistEntry, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> DestinationAllowlist:
        """An allowlist from its text entries.

        Host patterns: ``hooks.example.org`` (http or https on the default port),
        ``hooks.example.org:8443``, ``*.example.org`` (subdomains only), ``10.1.2.3:*`` (any
        port), ``[fd00::5]``, ``*`` (any host: only the address policy applies). URL prefixes:
        ``https://hooks.example.org/services/`` (that scheme, host and port, paths under it).

        :raises ValueError: an entry is malformed; the message names it.
        """
        return cls(tuple(_parse_entry(entry) for entry in entries if entry.strip()))

    def permits(self, target: Destination) -> bool:
        """Whether any entry allows ``target``."""
        return any(entry.permits(target) for entry in self.entries)

    def check(self, target: Destination) -> None:
        """:raises DestinationNotAllowed: no entry allows ``target``."""
        if not self.permits(target):
            raise DestinationNotAllowed(
                f"{target.scheme}://{target.host}:{target.port}{target.path} is not on the "
                "allowlist"
            )
