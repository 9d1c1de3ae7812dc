"""Access tokens (short JWTs, HS256 pinned) and opaque secrets (refresh and reset tokens).

An access token carries ``iss``, ``aud``, ``sub``, ``exp``, ``iat``, ``jti``, ``role``,
``department`` and ``tv`` (the user's token version). Verification pins the algorithm, requires
every claim, checks issuer, audience and expiry with a small leeway; the caller then compares
``tv`` and the user's state with the database.

A token must also not live longer than the tokens this server issues: one whose ``exp - iat``
exceeds the configured access TTL plus the leeway is refused even when correctly signed (a token
minted with a leaked or reused secret, or under an older, longer TTL, cannot outlast the policy).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from uuid import UUID

import jwt
import msgspec

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10
_REQUIRED = ["iss", "aud", "sub", "exp", "iat", "jti", "tv", "role"]


class InvalidToken(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    role: str
    department_id: UUID | None
    token_version: int
    jti: str
    expires_at: int


class AccessTokens:
    """Issue and verify access tokens with one secret."""

    def __init__(self, secret: str, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the JWT secret must be at least 32 bytes")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(
        self,
        user_id: UUID,
        *,
        role: str,
        department_id: UUID | None,
        token_version: int,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "iat": issued,
            "exp": issued + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "role": role,
            "department": str(department_id) if department_id else None,
            "tv": token_version,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token.

        :raises InvalidToken: for any defect; the reason is not disclosed to the caller.
        """
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED, "verify_signature": True},
            )
            _check_lifetime(claims["iat"], claims["exp"], self.ttl_seconds)
            department = claims.get("department")
            tv = claims["tv"]
            if not isinstance(tv, int) or isinstance(tv, bool):
                raise InvalidToken("bad token version")
            return AccessClaims(
                user_id=UUID(str(claims["sub"])),
                role=str(claims["role"]),
                department_id=UUID(str(department)) if department else None,
                token_version=tv,
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc)) from None


def _check_lifetime(issued: object, expires: object, ttl_seconds: int) -> None:
    """Refuse non-numeric times and a lifetime beyond ``ttl_seconds`` plus the leeway."""
    if (
        not isinstance(issued, int | float)
        or not isinstance(expires, int | float)
        or isinstance(issued, bool)
        or isinstance(expires, bool)
    ):
        raise InvalidToken("iat and exp must be numbers")
    if expires - issued > ttl_seconds + LEEWAY_SECONDS:
        raise InvalidToken("the token lives longer than the access token lifetime")


def new_opaque_token() -> str:
    """A random, URL-safe secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """The stored form of an opaque token: SHA-256, hex (high-entropy input needs no salt)."""
    return hashlib.sha256(token.encode()).hexdigest()
