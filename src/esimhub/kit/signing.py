"""HMAC signatures: URLs we hand out (expiring QR image links) and keys derived from the server
secret."""

from __future__ import annotations

import hashlib
import hmac


def url_signature(secret: str, purpose: str, *parts: str | int) -> str:
    """64 hex characters binding ``parts`` to ``purpose`` under the server secret."""
    message = "|".join([purpose, *(str(p) for p in parts)]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def derived_key(secret: str, purpose: str) -> bytes:
    """A key for one ``purpose``, derived from the server secret."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def partner_secret(secret: str, salt: str) -> str:
    """A partner's client secret, recomputable from the server secret and the partner's salt.

    Only its hash is stored; it is derived again where it is needed as the HMAC key of webhook
    signatures, so a database dump alone reveals no secret.
    """
    digest = hmac.new(derived_key(secret, "client-secret"), salt.encode(), hashlib.sha256)
    return digest.hexdigest()[:48]
