"""Activation codes (GSMA SGP.22) and the QR images that carry them."""

from __future__ import annotations

import io

import segno


def lpa_string(smdp_address: str, matching_id: str) -> str:
    """The activation code a QR code carries: ``LPA:1$<SM-DP+>$<matching ID>``."""
    return f"LPA:1${smdp_address}${matching_id}"


def render(activation_code: str, kind: str) -> bytes:
    """The QR image of an activation code: ``png``, ``svg`` or ``pdf``."""
    code = segno.make(activation_code, error="m")
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=6, border=2, xmldecl=False, title="eSIM QR code")
    elif kind == "pdf":
        code.save(out, kind="pdf", scale=8, border=4)
    else:
        code.save(out, kind=kind, scale=8, border=2)
    return out.getvalue()
