"""APN settings as the wire shows them: ``{"apn_type", "apn_value"}`` per OS.

An automatic APN needs no value on the device, and catalogues often name none; what such an
APN shows as ``apn_value`` is the operator's choice (``ESIMHUB_AUTOMATIC_APN_VALUE``, see
docs/compatibility.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AUTOMATIC = "automatic"
SYSTEMS = ("ios", "android")


def wire_apn(entry: Mapping[str, Any] | None, automatic_value: str | None) -> dict[str, Any]:
    """One OS's APN; an automatic one without a value shows ``automatic_value``."""
    apn_type = (entry or {}).get("apn_type") or AUTOMATIC
    value = (entry or {}).get("apn_value")
    if value is None and apn_type == AUTOMATIC:
        value = automatic_value
    return {"apn_type": apn_type, "apn_value": value}


def wire_apns(
    apn: Mapping[str, Any] | None, automatic_value: str | None
) -> dict[str, dict[str, Any]] | None:
    """The ``apn`` object (``ios`` and ``android``), or ``None`` where none is stored."""
    if not apn:
        return None
    return {system: wire_apn(apn.get(system), automatic_value) for system in SYSTEMS}
