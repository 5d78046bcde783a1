"""``POST /voucher/esim`` and ``POST /voucher/airmoney``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from esimhub.auth.dependencies import CurrentPartner
from esimhub.catalogue.dependencies import PartnerCatalogueDep
from esimhub.db import SessionDep
from esimhub.deps import ClockDep, SettingsDep
from esimhub.errors import ValidationFailed
from esimhub.idempotency.http import HEADER_PARAMETER, money_write
from esimhub.kit import wire
from esimhub.kit.clock import format_datetime
from esimhub.kit.envelope import SUCCESS
from esimhub.kit.forms import read_body
from esimhub.kit.validation import Fields
from esimhub.vouchers import schemas, service

router = APIRouter(tags=["orders"])


def parse_voucher_lines(body: dict[str, Any]) -> list[service.VoucherLine]:
    raw = body.get("vouchers")
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed({"vouchers": "The vouchers field is required."})
    errors: dict[str, str] = {}
    lines: list[service.VoucherLine] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors[f"vouchers.{index}"] = f"The vouchers.{index} must be an object."
            continue
        fields = Fields(item)
        package_id = fields.string(
            "package_id", required=True, label=f"vouchers.{index}.package_id"
        )
        quantity = fields.integer(
            "quantity", required=True, minimum=1, maximum=100, label=f"vouchers.{index}.quantity"
        )
        reference = fields.string("booking_reference", label=f"vouchers.{index}.booking_reference")
        errors.update({f"vouchers.{index}.{k}": v for k, v in fields.errors.items()})
        if package_id is not None and quantity is not None:
            lines.append(service.VoucherLine(package_id, quantity, reference))
    if errors:
        raise ValidationFailed(errors)
    return lines


@router.post(
    "/voucher/esim",
    openapi_extra={**HEADER_PARAMETER, **wire.request_body(schemas.EsimVoucherBody)},
    **wire.answers(schemas.EsimVouchersResponse),
)
async def esim_vouchers(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
    catalogue: PartnerCatalogueDep,
) -> Response:
    """Voucher codes for eSIMs of a package, one per unit, paid now."""
    body = await read_body(request)
    lines = parse_voucher_lines(body)

    async def work() -> tuple[int, Any]:
        issued = await service.buy_esim_vouchers(
            session, partner, lines=lines, catalogue=catalogue, clock=clock
        )
        data = [
            {
                "package_id": batch.line.package_id,
                "codes": batch.codes,
                "booking_reference": batch.line.booking_reference,
            }
            for batch in issued
        ]
        return 200, {"data": data, "meta": dict(SUCCESS)}

    return await money_write(
        request, session, partner.id, settings=settings, clock=clock, body=body, work=work
    )


@router.post(
    "/voucher/airmoney",
    openapi_extra={**HEADER_PARAMETER, **wire.request_body(schemas.AirmoneyVoucherBody)},
    **wire.answers(schemas.AirmoneyVouchersResponse),
)
async def airmoney_vouchers(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """Credit vouchers worth ``amount`` USD, each usable ``usage_limit`` times."""
    body = await read_body(request)
    fields = Fields(body)
    usage_limit = fields.integer("usage_limit", minimum=1, maximum=100_000) or 1
    amount = fields.integer("amount", required=True, minimum=1, maximum=100_000)
    quantity = fields.integer("quantity", required=True, minimum=1, maximum=100)
    is_paid = fields.boolean("is_paid")
    code = fields.string("voucher_code", max_length=255)
    if code is not None and quantity is not None and quantity > 1:
        fields.fail("voucher_code", "The selected voucher code allows a maximum quantity of 1")
    fields.check()
    assert amount is not None
    assert quantity is not None

    async def work() -> tuple[int, Any]:
        vouchers = await service.buy_airmoney_vouchers(
            session,
            partner,
            amount=amount,
            usage_limit=usage_limit,
            quantity=quantity,
            is_paid=is_paid,
            voucher_code=code,
            clock=clock,
        )
        items = [
            {
                "id": v.id,
                "code": v.code,
                "usage_limit": v.usage_limit,
                "amount": amount,
                "is_paid": v.is_paid,
                "created_at": format_datetime(v.created_at),
            }
            for v in vouchers
        ]
        return 200, {"data": items[0] if len(items) == 1 else items, "meta": dict(SUCCESS)}

    return await money_write(
        request, session, partner.id, settings=settings, clock=clock, body=body, work=work
    )
