"""Access-token verification and refresh-token rotation."""

from __future__ import annotations

import base64
import json
import time
import warnings

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from tests.integration.api.conftest import PASSWORD, Account, ApiHarness


def _claims(api: ApiHarness, user: Account, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": api.settings.jwt_issuer,
        "aud": api.settings.jwt_audience,
        "sub": str(user.id),
        "iat": now,
        "exp": now + 300,
        "jti": "j1",
        "role": user.role,
        "department": str(user.department_id),
        "tv": 0,
    }
    claims.update(overrides)
    return claims


def _sign(api: ApiHarness, claims: dict[str, object], algorithm: str = "HS256") -> str:
    secret = api.settings.jwt_secret or ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


async def _me(api: ApiHarness, token: str) -> int:
    response = await api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 401:
        assert response.json()["code"] == "UNAUTHORIZED"
        assert response.headers["www-authenticate"] == "Bearer"
    return response.status_code


async def test_a_valid_token_is_accepted(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    assert await _me(api, _sign(api, _claims(api, user))) == 200


async def test_expired_token_is_rejected(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    past = int(time.time()) - 3600
    assert await _me(api, _sign(api, _claims(api, user, iat=past, exp=past + 60))) == 401


async def test_expiry_has_a_small_leeway(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    now = int(time.time())
    assert await _me(api, _sign(api, _claims(api, user, exp=now - 3))) == 200
    assert await _me(api, _sign(api, _claims(api, user, exp=now - 30))) == 401


async def test_alg_none_is_rejected(api: ApiHarness) -> None:
    user = api.user("ADMIN")

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(_claims(api, user))}."
    assert await _me(api, token) == 401


async def test_other_algorithm_is_rejected(api: ApiHarness) -> None:
    user = api.user("ADMIN")
    assert await _me(api, _sign(api, _claims(api, user), algorithm="HS512")) == 401


async def test_wrong_issuer_or_audience_is_rejected(api: ApiHarness) -> None:
    user = api.user("ADMIN")
    assert await _me(api, _sign(api, _claims(api, user, iss="someone-else"))) == 401
    assert await _me(api, _sign(api, _claims(api, user, aud="another-api"))) == 401


async def test_missing_claims_are_rejected(api: ApiHarness) -> None:
    user = api.user("ADMIN")
    claims = _claims(api, user)
    del claims["tv"]
    assert await _me(api, _sign(api, claims)) == 401


async def test_tampered_token_is_rejected(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    header, payload, signature = user.token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["role"] = "ADMIN"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert await _me(api, f"{header}.{forged}.{signature}") == 401
    assert await _me(api, "not-a-jwt") == 401
    wrong_key = jwt.encode(_claims(api, user), "k" * 40, algorithm="HS256")
    assert await _me(api, wrong_key) == 401


async def test_token_version_revokes_access_tokens(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    assert await _me(api, user.token) == 200
    response = await api.client.post(
        f"/users/{user.id}/revoke-sessions", headers=api.headers("ADMIN")
    )
    assert response.status_code == 200, response.text
    assert await _me(api, user.token) == 401
    assert "USER_SESSIONS_REVOKED" in await api.audit_actions()


async def test_disabled_user_token_is_rejected(api: ApiHarness) -> None:
    user = await api.add_user("MANAGER", "A")
    await api.services.db.pool.execute("UPDATE users SET is_active = false WHERE id = $1", user.id)
    assert await _me(api, user.token) == 401


async def _login(api: ApiHarness, user: Account) -> dict[str, object]:
    response = await api.client.post(
        "/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()["data"]
    return data


async def _refresh(api: ApiHarness, token: object) -> int:
    response = await api.client.post("/auth/refresh", json={"refresh_token": token})
    return response.status_code


async def test_refresh_rotates_and_reuse_revokes_the_family(api: ApiHarness) -> None:
    user = api.user("MANAGER")
    first = await _login(api, user)
    response = await api.client.post(
        "/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert response.status_code == 200, response.text
    second = response.json()["data"]
    assert second["refresh_token"] != first["refresh_token"]
    assert await _me(api, str(second["access_token"])) == 200
    # The rotated token comes back: the whole family dies, access tokens too.
    assert await _refresh(api, first["refresh_token"]) == 401
    assert await _refresh(api, second["refresh_token"]) == 401
    assert await _me(api, str(second["access_token"])) == 401
    assert "REFRESH_TOKEN_REUSE_DETECTED" in await api.audit_actions()


async def test_logout_ends_every_session(api: ApiHarness) -> None:
    user = api.user("OPERATOR")
    tokens = await _login(api, user)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await api.client.post("/auth/logout", headers=headers)).status_code == 200
    assert await _me(api, str(tokens["access_token"])) == 401
    assert await _refresh(api, tokens["refresh_token"]) == 401


async def test_unknown_refresh_token_is_rejected(api: ApiHarness) -> None:
    assert await _refresh(api, "no-such-token") == 401
