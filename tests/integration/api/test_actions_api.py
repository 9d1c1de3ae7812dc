"""``/actions``: the catalogue of installed plugins and their actions."""

from __future__ import annotations

from tests.integration.api.conftest import ApiHarness


async def test_catalogue_lists_plugins_and_actions(api: ApiHarness) -> None:
    response = await api.client.get("/actions", headers=api.headers("OPERATOR"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    names = {action["name"] for action in data["actions"]}
    assert {"notification", "manual"} <= names
    plugin = next(
        p for p in data["plugins"] if any(a["name"] == "notification" for a in p["actions"])
    )
    assert plugin["name"]
    notification = next(a for a in data["actions"] if a["name"] == "notification")
    assert notification["idempotency"]
    assert notification["plugin"] == plugin["name"]
    assert "channel" in str(notification["inputs_schema"])


async def test_one_action_and_unknown_one(api: ApiHarness) -> None:
    found = await api.client.get("/actions/notification", headers=api.headers("MANAGER"))
    assert found.status_code == 200
    assert found.json()["data"]["name"] == "notification"
    missing = await api.client.get("/actions/nope", headers=api.headers("MANAGER"))
    assert missing.status_code == 404
    anonymous = await api.client.get("/actions")
    assert anonymous.status_code == 401
