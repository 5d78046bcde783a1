"""Request bodies as Airalo clients send them: JSON, multipart or form-urlencoded.

Form fields named ``key[]`` (or repeated) become lists, as PHP and Laravel read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from esimhub.errors import ValidationFailed, laravel_key
from esimhub.kit.validation import nul_message


async def read_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        # the standard library's parser: what Starlette's form parsing does, without building a
        # multipart parser for a one-line body (POST /token is a hot path)
        raw = await request.body()
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise ValidationFailed({"body": "The request body could not be read."}) from exc
        return _fields(pairs)
    if content_type == "multipart/form-data":
        try:
            form = await request.form()
        except Exception as exc:  # the multipart parser raises several unrelated types
            raise ValidationFailed({"body": "The request body could not be read."}) from exc
        return _fields((k, v) for k, v in form.multi_items() if isinstance(v, str))
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = parse_json(raw)
    except ValueError as exc:
        raise ValidationFailed({"body": "The request body is not valid JSON."}) from exc
    if not isinstance(parsed, dict):
        raise ValidationFailed({"body": "The request body must be a JSON object."})
    return parsed


def nul_in_query(query_string: bytes) -> dict[str, str]:
    """The query parameters holding a NUL (``%00``), with their Laravel keys and message."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    keys = (laravel_key(name) for name, value in pairs if "\x00" in name + value)
    return {key: nul_message(key) for key in keys}


def parse_json(raw: bytes | str) -> Any:
    """JSON as a client may send it, strictly: ``ValueError`` (never ``RecursionError``) for a
    document nested past the parser's depth, and for ``NaN`` and ``Infinity``."""
    try:
        return json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("the JSON document is nested too deeply") from None


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's parser takes them, JSON does not."""
    raise ValueError(f"{constant} is not JSON")


def _fields(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as Laravel reads them: ``key[]`` and repeated keys become lists."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    fields: dict[str, Any] = {}
    for key, values in grouped.items():
        if key.endswith("[]"):
            fields[key[:-2]] = values
        elif len(values) > 1:
            fields[key] = values
        else:
            fields[key] = values[0]
    return fields
