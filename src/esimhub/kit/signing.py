"""HMAC signatures for URLs we hand out (expiring QR image links)."""

from __future__ import annotations

import hashlib
import hmac


def url_signature(secret: str, purpose: str, *parts: str | int) -> str:
    """64 hex characters binding ``parts`` to ``purpose`` under the server secret."""
    message = "|".join([purpose, *(str(p) for p in parts)]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
