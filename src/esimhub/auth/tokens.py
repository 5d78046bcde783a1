"""Client secrets and access tokens.

Access tokens are JWTs (HS256) carrying the partner id, the partner's token generation and
``exp``: checking one costs a signature check, not a database read. Several stay valid at once;
rotating a partner's secret bumps its generation, which revokes every token issued before.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from esimhub.kit.signing import derived_key, partner_secret

ISSUER = "esimhub"
ALGORITHM = "HS256"


def new_client_id() -> str:
    # token_urlsafe draws from [A-Za-z0-9_-], the alphabet the Node SDK insists on. A leading "-"
    # would make `esimhub balance show <client_id>` read the id as an option, so draw again.
    while (client_id := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return client_id


def new_salt() -> str:
    return secrets.token_hex(16)


def client_secret(secret_key: str, salt: str) -> str:
    """The partner's client secret, recomputable from the server key and its salt (only its
    hash is stored: see ``kit.signing.partner_secret``)."""
    return partner_secret(secret_key, salt)


def hash_secret(secret: str) -> str:
    # Client secrets are 192-bit random values, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class TokenClaims:
    partner_id: int
    generation: int


def issue_token(
    secret_key: str,
    *,
    partner_id: int,
    client_id: str,
    generation: int,
    now: datetime,
    lifetime: int,
) -> str:
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "pid": partner_id,
        "gen": generation,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, derived_key(secret_key, "access-token"), algorithm=ALGORITHM)


def read_token(secret_key: str, token: str, *, now: datetime) -> TokenClaims | None:
    """The claims of a valid, unexpired token; ``None`` for anything else."""
    decoded = _verified(secret_key, token)
    if decoded is None:
        return None
    claims, expires = decoded
    # Expiry is checked against our clock, not the host's, so a moved sandbox clock applies.
    return claims if expires > now.timestamp() else None


@functools.lru_cache(maxsize=10_000)
def _verified(secret_key: str, token: str) -> tuple[TokenClaims, int] | None:
    """A token's signature checked and its claims read, once per token (a partner sends the
    same token for months): the claims and the expiry, or ``None`` if it is not one of ours."""
    try:
        claims = jwt.decode(
            token,
            derived_key(secret_key, "access-token"),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            # times are judged on our clock, not the host's (a sandbox clock may run ahead)
            options={"require": ["exp", "pid", "gen"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    fields = (claims.get("exp"), claims.get("pid"), claims.get("gen"))
    if not all(isinstance(value, int) for value in fields):
        return None
    return TokenClaims(partner_id=claims["pid"], generation=claims["gen"]), claims["exp"]
