"""Wire shapes of usage: the usage ``data`` object and package-history items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from esimhub.kit import wire
from esimhub.kit.clock import format_datetime
from esimhub.kit.money import wire_number
from esimhub.models import SimPackage
from esimhub.usage import lifecycle

# sic: Airalo's usage endpoint answers with this untranslated, misspelt key
USAGE_META = {"message": "api.succes"}


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with offset, as package history answers (``2023-01-09T10:30:45+00:00``)."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def usage_data(report: lifecycle.Report, *, with_voice: bool) -> dict[str, Any]:
    """The ``data`` object: MB, minutes and SMS of the package the status describes."""
    package = report.package
    if package is None:  # RECYCLED or UNKNOWN: zeros and nulls, as Airalo's recycled example
        data: dict[str, Any] = {
            "remaining": 0,
            "total": 0,
            "expired_at": None,
            "is_unlimited": None,
            "status": report.status,
        }
        voice = {"remaining_voice": 0, "remaining_text": 0, "total_voice": 0, "total_text": 0}
    else:
        data = {
            "remaining": lifecycle.remaining_mb(package),
            "total": 0 if package.is_unlimited else package.amount_mb,
            "expired_at": format_datetime(package.expired_at) if package.expired_at else None,
            "is_unlimited": package.is_unlimited,
            "status": report.status,
        }
        voice = {
            "remaining_voice": lifecycle.remaining_voice(package),
            "remaining_text": lifecycle.remaining_text(package),
            "total_voice": package.voice_minutes or 0,
            "total_text": package.sms or 0,
        }
    return {**data, **voice} if with_voice else data


def usage_body(report: lifecycle.Report, *, with_voice: bool) -> bytes:
    """The whole usage answer, compact, as cached and sent."""
    data = usage_data(report, with_voice=with_voice)
    return json.dumps({"data": data, "meta": USAGE_META}, separators=(",", ":")).encode()


def history_item(item: SimPackage, *, net: bool) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "remaining": lifecycle.remaining_mb(item),
        "activated_at": iso(item.activated_at),
        "expired_at": iso(item.expired_at),
        "finished_at": iso(item.finished_at),
        "package": {
            "id": item.package_id,
            "type": item.type,
            "price": wire_number(item.price_cents),
            "net_price": wire_number(item.net_price_cents) if net else None,
            "amount": item.amount_mb,
            "day": item.days,
            "is_unlimited": item.is_unlimited,
            "title": item.title,
            "data": item.data_label,
            "short_info": item.short_info,
        },
    }


# -- what /openapi.json says of these bodies --------------------------------------------------


class Usage(wire.Wire):
    """MB, minutes and SMS of the package the status describes (v1: no voice or text)."""

    remaining: int
    total: int
    expired_at: str | None
    is_unlimited: bool | None
    status: str = Field(
        json_schema_extra={
            "enum": ["NOT_ACTIVE", "ACTIVE", "FINISHED", "EXPIRED", "UNKNOWN", "RECYCLED"]
        }
    )
    remaining_voice: int | None = None
    remaining_text: int | None = None
    total_voice: int | None = None
    total_text: int | None = None


class UsageResponse(wire.Envelope[Usage]):
    """``meta.message`` is ``api.succes`` (sic), as on Airalo."""


class HistoryItem(wire.Wire):
    id: int
    status: str
    remaining: int | None
    activated_at: str | None
    expired_at: str | None
    finished_at: str | None
    package: dict[str, Any]


class PackageHistoryResponse(wire.Wire):
    pricing: dict[str, Any]
    data: list[HistoryItem]
