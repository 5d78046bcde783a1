"""Webhook bodies and their ``airalo-signature``.

The body is encoded the way PHP's ``json_encode`` would (compact, ``/`` as ``\\/``, non-ASCII as
``\\uXXXX``), which is what Airalo's verifiers re-encode a payload to; the signature is the
lowercase hex HMAC-SHA512 of exactly those bytes, keyed with the partner's client secret. So a
receiver that hashes the raw body and one that re-encodes the parsed payload (the official SDKs'
``check_signature``) agree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

HEADER = "airalo-signature"


def encode(payload: Any) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
