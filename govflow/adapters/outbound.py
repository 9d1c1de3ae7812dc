"""Outbound HTTP that cannot be pointed inside the network (SSRF guard).

Every connection an action makes goes through :class:`GuardedTransport`:

1. the URL must be ``http``/``https``; when the request carries an allowlist (the request
   extension :data:`ALLOWLIST_EXTENSION`, kept by httpx on redirects) the URL must be on it;
2. the host is resolved **once**, every address it resolves to is checked against the
   :class:`~govflow.core.destinations.AddressPolicy` (one internal address refuses the whole
   name), and the connection is opened to a checked address: a DNS answer that changes
   between the check and the connection (DNS rebinding) cannot swap it;
3. the ``Host`` header, TLS SNI and certificate check still use the name from the URL (the
   connection pool is keyed by it), and environment proxies are ignored (``trust_env=False``).

A refusal raises :class:`~govflow.core.destinations.DestinationNotAllowed` (not an
``httpx.HTTPError``: a retry cannot fix it) whose text is always ``destination not allowed``;
the cause is logged here, at WARNING, for operators. Redirects are checked the same way on
every hop, since each hop is a new request through this transport.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final

import anyio
import httpcore
import httpx

from govflow.core.destinations import (
    AddressPolicy,
    Destination,
    DestinationAllowlist,
    DestinationNotAllowed,
    IPAddress,
    ip_literal,
)

log = logging.getLogger("govflow.outbound")

ALLOWLIST_EXTENSION: Final = "govflow.allowlist"
"""Request extension holding a :class:`DestinationAllowlist` the URL must be on."""

DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Resolves a host name and port to its addresses (for tests: a fixed answer)."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for a TCP connection, in the resolver's order.

    :raises OSError: the name does not resolve.
    """
    answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ip_literal(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OSError(f"{host} resolved to no address")
    return addresses


def destination_of(url: httpx.URL) -> Destination:
    """The parts of ``url`` an allowlist is checked on, as httpx will send it.

    :raises DestinationNotAllowed: the scheme is not ``http``/``https``.
    """
    path = url.raw_path.split(b"?", 1)[0].decode("ascii")
    return Destination.of(url.scheme, url.raw_host.decode("ascii"), url.port, path)


def check_url(url: httpx.URL | str, allowlist: DestinationAllowlist) -> Destination:
    """Check ``url`` against ``allowlist`` (no DNS: the transport checks addresses).

    :raises DestinationNotAllowed: not http/https, unparseable, or not on the allowlist.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DestinationNotAllowed(f"the URL cannot be parsed: {exc}") from None
    if not parsed.raw_host:
        raise DestinationNotAllowed("the URL has no host")
    target = destination_of(parsed)
    allowlist.check(target)
    return target


def refused(exc: DestinationNotAllowed, url: httpx.URL | str) -> None:
    """Log why a request to ``url`` was refused (the user only sees ``destination not
    allowed``)."""
    shown = url.copy_with(username=None, password=None) if isinstance(url, httpx.URL) else url
    log.warning("outbound request refused: %s (%s)", exc.cause, shown)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between resolution and connection."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = ip_literal(host)
        if literal is not None:
            addresses: Sequence[IPAddress] = [literal]
        else:
            try:
                addresses = await self._resolver(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        for address in addresses:
            cause = self._policy.refusal(address)
            if cause is not None:
                shown = cause if literal is not None else f"{host}: {cause}"
                raise DestinationNotAllowed(shown)
        return list(addresses)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host``, refuse it unless every address is allowed, connect to the first
        address that answers."""
        try:
            with anyio.fail_after(timeout):
                addresses = await self._addresses(host, port)
                failure: Exception | None = None
                for address in addresses:
                    try:
                        return await self._inner.connect_tcp(
                            str(address),
                            port,
                            timeout=None,
                            local_address=local_address,
                            socket_options=socket_options,
                        )
                    except httpcore.ConnectError as exc:
                        failure = exc
                assert failure is not None
                raise failure
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refused: outbound requests go over TCP only."""
        raise DestinationNotAllowed(f"unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An ``httpx`` transport that refuses destinations outside ``policy`` (see the module
    docstring); otherwise httpx's own HTTP/1.1 transport."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        resolver: Resolver = resolve,
    ) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            target = destination_of(request.url)
            allowlist = request.extensions.get(ALLOWLIST_EXTENSION)
            if isinstance(allowlist, DestinationAllowlist):
                allowlist.check(target)
            return await super().handle_async_request(request)
        except DestinationNotAllowed as exc:
            refused(exc, request.url)
            raise


def guarded_client(
    policy: AddressPolicy,
    *,
    timeout: httpx.Timeout | float = 30.0,
    resolver: Resolver = resolve,
    verify: ssl.SSLContext | str | bool = True,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request goes through :class:`GuardedTransport`;
    redirects are not followed unless a request asks (``follow_redirects=True``), and then at
    most 5 hops, each checked."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, verify=verify, resolver=resolver),
        timeout=timeout,
        follow_redirects=False,
        max_redirects=5,
        trust_env=False,
    )
