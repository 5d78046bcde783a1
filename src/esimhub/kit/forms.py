"""Request bodies as Airalo clients send them: JSON, multipart or form-urlencoded.

Form fields named ``key[]`` (or repeated) become lists, as PHP and Laravel read them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from esimhub.errors import ValidationFailed


async def read_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        try:
            form = await request.form()
        except Exception as exc:  # the multipart parser raises several unrelated types
            raise ValidationFailed({"body": "The request body could not be read."}) from exc
        fields: dict[str, Any] = {}
        for key in form:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            if key.endswith("[]"):
                fields[key[:-2]] = values
            elif len(values) > 1:
                fields[key] = values
            elif values:
                fields[key] = values[0]
        return fields
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed({"body": "The request body is not valid JSON."}) from exc
    if not isinstance(parsed, dict):
        raise ValidationFailed({"body": "The request body must be a JSON object."})
    return parsed
