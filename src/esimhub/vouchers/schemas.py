"""Wire shapes of the voucher endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from esimhub.kit import wire


class VoucherLineBody(wire.RequestBody):
    package_id: wire.RequiredText
    quantity: int = Field(ge=1, le=100)
    booking_reference: wire.Text | None = None


class EsimVoucherBody(wire.RequestBody):
    vouchers: list[VoucherLineBody] = Field(min_length=1)


class AirmoneyVoucherBody(wire.RequestBody):
    amount: int = Field(ge=1, le=100_000, description="US dollars")
    quantity: int = Field(ge=1, le=100)
    usage_limit: int | None = Field(default=None, ge=1, le=100_000)
    is_paid: bool | Literal[0, 1] | None = None  # Laravel's boolean takes 0 and 1
    voucher_code: wire.Text | None = None


class EsimVoucher(wire.Wire):
    package_id: str
    codes: list[str]
    booking_reference: str | None = None


class EsimVouchersResponse(wire.Envelope[list[EsimVoucher]]):
    pass


class AirmoneyVoucher(wire.Wire):
    id: int
    code: str
    usage_limit: int
    amount: int
    is_paid: bool
    created_at: str


class AirmoneyVouchersResponse(wire.Envelope[AirmoneyVoucher | list[AirmoneyVoucher]]):
    """One voucher as an object, several as a list (as Airalo answers)."""
