"""Airalo's response envelope: ``{"data": ..., "meta": {"message": "success"}}``."""

from __future__ import annotations

from typing import Any

SUCCESS: dict[str, str] = {"message": "success"}


def ok(data: Any) -> dict[str, Any]:
    """A successful answer carrying ``data``."""
    return {"data": data, "meta": dict(SUCCESS)}
