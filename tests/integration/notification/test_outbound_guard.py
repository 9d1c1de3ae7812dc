"""The guarded outbound HTTP client against real listeners on loopback: addresses are checked
after resolution, the connection goes to the checked address (Host and TLS name kept), and
every redirect hop is checked again."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from govflow.adapters.outbound import ALLOWLIST_EXTENSION, guarded_client
from govflow.core.destinations import (
    NOT_ALLOWED,
    AddressPolicy,
    DestinationAllowlist,
    DestinationNotAllowed,
    IPAddress,
    ip_literal,
)
from tests.support.outbound_peers import listening, named_certificate
from tests.support.peers import closed_port

ONLY_127_0_0_2 = AddressPolicy.parse(["127.0.0.2/32"])


class FixedResolver:
    """Answers each name from a table (one answer per call, the last one repeats); counts
    calls."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        answers = self.answers[host]
        answer = answers[min(self.calls.count(host), len(answers) - 1)]
        self.calls.append(host)
        return [address for text in answer if (address := ip_literal(text)) is not None]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "0x7f000001", "2130706433", "127.1", "[::ffff:127.0.0.1]"],
)
async def test_loopback_in_any_spelling_never_sees_a_connection(host: str) -> None:
    async with listening() as target, guarded_client(ONLY_127_0_0_2) as client:
        with pytest.raises(DestinationNotAllowed) as caught:
            await client.post(f"http://{host}:{target.port}/x", json={})
        assert str(caught.value) == NOT_ALLOWED
        assert target.connections == 0


async def test_the_refusal_is_the_same_for_an_open_and_a_closed_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with listening() as target, guarded_client(AddressPolicy()) as client:
        answers = []
        for port in (target.port, closed_port()):
            with pytest.raises(DestinationNotAllowed) as caught:
                await client.post(f"http://127.0.0.1:{port}/", json={})
            answers.append((type(caught.value), str(caught.value)))
        assert answers[0] == answers[1] == (DestinationNotAllowed, NOT_ALLOWED)
        assert target.connections == 0
    assert "127.0.0.1 is a loopback address" in caplog.text


async def test_a_redirect_to_loopback_is_refused_at_the_hop() -> None:
    async with (
        listening(host="127.0.0.1") as inside,
        listening(host="127.0.0.2", status=307) as receiver,
        guarded_client(ONLY_127_0_0_2) as client,
    ):
        receiver.headers["Location"] = f"http://127.0.0.1:{inside.port}/admin"
        not_followed = await client.post(receiver.url, json={})
        assert not_followed.status_code == 307
        with pytest.raises(DestinationNotAllowed):
            await client.post(receiver.url, json={}, follow_redirects=True)
        assert len(receiver.requests) == 2
        assert inside.connections == 0


async def test_a_redirect_off_the_allowlist_is_refused_even_to_an_allowed_address() -> None:
    allowlist = DestinationAllowlist.parse(["127.0.0.2:*"])
    async with (
        listening(host="127.0.0.3") as other,
        listening(host="127.0.0.2", status=308) as receiver,
        guarded_client(AddressPolicy.parse(["127.0.0.0/8"])) as client,
    ):
        receiver.headers["Location"] = other.url
        with pytest.raises(DestinationNotAllowed):
            await client.post(
                receiver.url,
                json={},
                follow_redirects=True,
                extensions={ALLOWLIST_EXTENSION: allowlist},
            )
        assert len(receiver.requests) == 1
        assert other.connections == 0


async def test_one_internal_address_refuses_the_whole_name() -> None:
    resolver = FixedResolver({"hooks.govflow.test": [["127.0.0.2", "127.0.0.1"]]})
    async with (
        listening(host="127.0.0.2") as allowed,
        listening(host="127.0.0.1") as inside,
        guarded_client(ONLY_127_0_0_2, resolver=resolver) as client,
    ):
        for port in (allowed.port, inside.port):
            with pytest.raises(DestinationNotAllowed):
                await client.post(f"http://hooks.govflow.test:{port}/", json={})
        assert allowed.connections == inside.connections == 0


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept() -> None:
    """A resolver that answers an allowed address, then loopback (DNS rebinding): the name is
    resolved once per connection and the connection goes to what was checked."""
    resolver = FixedResolver({"hooks.govflow.test": [["127.0.0.2"], ["127.0.0.1"]]})
    async with (
        listening(host="127.0.0.2") as allowed,
        listening(host="127.0.0.1", port=allowed.port) as inside,
        guarded_client(ONLY_127_0_0_2, resolver=resolver) as client,
    ):
        response = await client.post(f"http://hooks.govflow.test:{allowed.port}/hook", json={})
        assert response.status_code == 202
        (request,) = allowed.requests
        assert request.headers["host"] == f"hooks.govflow.test:{allowed.port}"
        assert request.target == "/hook"
        assert resolver.calls == ["hooks.govflow.test"]
        assert inside.connections == 0


async def test_tls_verifies_the_name_not_the_address(tmp_path: Path) -> None:
    certificate = named_certificate(tmp_path, "hooks.govflow.test")
    resolver = FixedResolver({"hooks.govflow.test": [["127.0.0.2"]]})
    async with (
        listening(host="127.0.0.2", tls=certificate.server_context()) as receiver,
        guarded_client(
            ONLY_127_0_0_2, resolver=resolver, verify=certificate.client_context()
        ) as client,
    ):
        response = await client.post(f"https://hooks.govflow.test:{receiver.port}/", json={})
        assert response.status_code == 202
        assert receiver.requests[0].headers["host"] == f"hooks.govflow.test:{receiver.port}"
        with pytest.raises(httpx.ConnectError):  # the certificate names no address
            await client.post(f"https://127.0.0.2:{receiver.port}/", json={})


async def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    async with guarded_client(AddressPolicy()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("http://does-not-exist.invalid/", json={})


async def test_allowed_networks_are_reached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "govflow.outbound")
    async with (
        listening(host="::1") as v6,
        guarded_client(AddressPolicy.parse(["::1/128"])) as client,
    ):
        response = await client.post(v6.url, json={})
        assert response.status_code == 202
    assert caplog.records == []
