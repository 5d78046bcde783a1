"""Orders, top-ups, vouchers, refunds and the balance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.auth.dependencies import CurrentPartner
from esimhub.auth.directory import PartnerPrincipal
from esimhub.db import SessionDep
from esimhub.errors import NotFound, ValidationFailed
from esimhub.kit import pagination
from esimhub.kit.clock import format_datetime
from esimhub.kit.forms import read_body
from esimhub.kit.money import wire_number
from esimhub.kit.validation import Fields, is_email
from esimhub.limits import client_ip, endpoint_limit
from esimhub.mail import service as mail
from esimhub.ordering import idempotency, service
from esimhub.ordering.repository import OrderFilters
from esimhub.ordering.schemas import Renderer
from esimhub.runtime import Runtime, RuntimeDep, public_base_url

router = APIRouter(tags=["orders"])

SUCCESS = {"message": "success"}
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Retries with the same key and body get the first answer back.",
        }
    ]
}


async def _money_write(
    request: Request,
    session: AsyncSession,
    partner: PartnerPrincipal,
    runtime: Runtime,
    body: dict[str, Any],
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    outcome = await idempotency.run(
        session,
        partner.id,
        key=request.headers.get(idempotency.HEADER),
        request_fingerprint=idempotency.fingerprint(request.method, request.url.path, body),
        settings=runtime.settings,
        clock=runtime.clock,
        work=work,
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


def parse_order(body: dict[str, Any]) -> service.OrderRequest:
    fields = Fields(body)
    quantity = fields.integer("quantity", required=True, minimum=1, maximum=service.MAX_QUANTITY)
    package_id = fields.string("package_id", required=True, max_length=100)
    kind = fields.string("type")
    if kind is not None and kind != "sim":
        fields.fail("type", "The selected type is invalid.")
    description = fields.string("description", max_length=255)
    brand = fields.string("brand_settings_name", max_length=100)
    to_email = fields.email("to_email")
    options = fields.string_list("sharing_option") or []
    for index, option in enumerate(options):
        if option not in {"link", "pdf"}:
            fields.fail(
                f"sharing_option({index})",
                f"Sharing option on position {index} is invalid. "
                "Available options are: 'link' and 'pdf'.",
            )
    if to_email and not options:
        fields.fail(
            "sharing_option", "The sharing option field is required when to email is present."
        )
    copies = fields.string_list("copy_address", max_items=10) or []
    for index, address in enumerate(copies):
        if not is_email(address):
            fields.fail(
                f"copy_address.{index}", f"The copy_address.{index} must be a valid email address."
            )
    fields.check()
    assert quantity is not None
    assert package_id is not None
    return service.OrderRequest(
        package_id=package_id,
        quantity=quantity,
        description=description,
        brand_settings_name=brand,
        to_email=to_email,
        sharing_options=tuple(dict.fromkeys(options)),
        copy_addresses=tuple(copies),
    )


async def _deliver_mail(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await mail.deliver(session, settings=runtime.settings, clock=runtime.clock)


@router.post("/orders", openapi_extra=IDEMPOTENCY_HEADER)
async def submit_order(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> Response:
    """Buy eSIMs of a sim package (1-50); the price is debited from the balance at once."""
    body = await read_body(request)
    order_request = parse_order(body)
    catalogue = await runtime.catalogue.current()
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))

    async def work() -> tuple[int, Any]:
        placed = await service.place_order(
            session,
            partner,
            request=order_request,
            catalogue=catalogue,
            settings=runtime.settings,
            clock=runtime.clock,
            base_url=renderer.base_url,
        )
        data = renderer.placed_order(placed.order, placed.sims, placed.brand)
        return 200, {"data": data, "meta": SUCCESS}

    response = await _money_write(request, session, partner, runtime, body, work)
    if order_request.to_email:
        background.add_task(_deliver_mail, runtime)
    return response


@router.post("/orders/topups", openapi_extra=IDEMPOTENCY_HEADER)
async def submit_topup(
    request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> Response:
    """Add a top-up package to one of your eSIMs."""
    body = await read_body(request)
    fields = Fields(body)
    package_id = fields.string("package_id", required=True, max_length=100)
    iccid = fields.string("iccid", required=True, max_length=22)
    description = fields.string("description", max_length=255)
    fields.check()
    assert package_id is not None
    assert iccid is not None
    catalogue = await runtime.catalogue.current()
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))

    async def work() -> tuple[int, Any]:
        order = await service.place_topup(
            session,
            partner,
            package_id=package_id,
            iccid=iccid,
            description=description,
            catalogue=catalogue,
            clock=runtime.clock,
        )
        return 200, {"data": renderer.placed_order(order, [], None), "meta": SUCCESS}

    return await _money_write(request, session, partner, runtime, body, work)


ORDER_INCLUDES = frozenset({"sims", "user", "status"})


@router.get("/orders")
async def list_orders(
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
    include: str | None = None,
    filter_created_at: Annotated[str | None, Query(alias="filter[created_at]")] = None,
    filter_code: Annotated[str | None, Query(alias="filter[code]")] = None,
    filter_order_status: Annotated[str | None, Query(alias="filter[order_status]")] = None,
    filter_iccid: Annotated[str | None, Query(alias="filter[iccid]")] = None,
    filter_description: Annotated[str | None, Query(alias="filter[description]")] = None,
    limit: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """Your orders, newest first (filters: created_at range, code, order_status, iccid, ...)."""
    page_request = pagination.parse_page_request(limit, page)
    created_from, created_to = pagination.created_range(filter_created_at)
    if filter_order_status and filter_order_status not in service.ORDER_STATUSES:
        raise ValidationFailed(
            {
                "filter.order_status": "The selected order status is invalid. Supported values: "
                + ", ".join(service.ORDER_STATUSES)
                + "."
            }
        )
    filters = OrderFilters(
        created_from=created_from,
        created_to=created_to,
        code=filter_code,
        status=filter_order_status,
        iccid=filter_iccid,
        description=filter_description,
    )
    wanted = pagination.includes(include) & ORDER_INCLUDES
    window, orders, sims = await service.orders_page(
        session,
        partner,
        filters=filters,
        page=page_request,
        default_limit=runtime.settings.list_default_limit,
        with_sims="sims" in wanted,
    )
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))
    items = [
        renderer.listed_order(order, includes=wanted, partner=partner, sims=sims.get(order.id, []))
        for order in orders
    ]
    return pagination.page_of(
        items, window, request=request, base_url=renderer.base_url, page_request=page_request
    )


@router.get("/orders/{order_id}")
async def get_order(
    order_id: str,
    request: Request,
    session: SessionDep,
    partner: CurrentPartner,
    runtime: RuntimeDep,
    include: str | None = None,
) -> dict[str, Any]:
    """One of your orders; another partner's order answers 401 "This action is unauthorized."."""
    if not order_id.isdigit():
        raise NotFound()
    wanted = pagination.includes(include) & ORDER_INCLUDES
    order, sims = await service.order_for(
        session, partner, int(order_id), with_sims="sims" in wanted
    )
    renderer = Renderer(runtime.settings, public_base_url(request, runtime))
    data = renderer.listed_order(order, includes=wanted, partner=partner, sims=sims)
    return {"data": data, "meta": SUCCESS}


# -- vouchers ---------------------------------------------------------------------------------


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


@router.post("/voucher/esim", openapi_extra=IDEMPOTENCY_HEADER)
async def esim_vouchers(
    request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> Response:
    """Voucher codes for eSIMs of a package, one per unit, paid now."""
    body = await read_body(request)
    lines = parse_voucher_lines(body)
    catalogue = await runtime.catalogue.current()

    async def work() -> tuple[int, Any]:
        issued = await service.buy_esim_vouchers(
            session, partner, lines=lines, catalogue=catalogue, clock=runtime.clock
        )
        data = [
            {
                "package_id": batch.line.package_id,
                "codes": batch.codes,
                "booking_reference": batch.line.booking_reference,
            }
            for batch in issued
        ]
        return 200, {"data": data, "meta": SUCCESS}

    return await _money_write(request, session, partner, runtime, body, work)


@router.post("/voucher/airmoney", openapi_extra=IDEMPOTENCY_HEADER)
async def airmoney_vouchers(
    request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
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
            clock=runtime.clock,
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
        return 200, {"data": items[0] if len(items) == 1 else items, "meta": SUCCESS}

    return await _money_write(request, session, partner, runtime, body, work)


# -- refunds ----------------------------------------------------------------------------------


@router.post(
    "/refund",
    status_code=202,
    openapi_extra=IDEMPOTENCY_HEADER,
    dependencies=[endpoint_limit("refund", client_ip)],
)
async def request_refund(
    request: Request, session: SessionDep, partner: CurrentPartner, runtime: RuntimeDep
) -> Response:
    """Ask for a refund of up to 5 eSIMs; approved refunds are credited to the balance."""
    body = await read_body(request)
    fields = Fields(body)
    iccids = fields.string_list("iccids")
    if not iccids:
        raise service.RefundRefused("The iccids field is required.")
    if len(iccids) > 5:
        raise service.RefundRefused("The iccids may not have more than 5 items.")
    reason = fields.string("reason", required=True)
    if reason is not None and reason not in service.REFUND_REASONS:
        fields.fail(
            "reason",
            "The selected reason is invalid. It must be one of the following: "
            + ", ".join(service.REFUND_REASONS),
        )
    notes = fields.string("notes", max_length=255)
    if reason == "OTHERS" and not notes:
        fields.fail("notes", "The notes field is required when reason is OTHERS.")
    email = fields.email("email")
    fields.check()
    assert reason is not None

    async def work() -> tuple[int, Any]:
        refund = await service.request_refund(
            session,
            partner,
            iccids=iccids,
            reason=reason,
            notes=notes,
            email=email,
            clock=runtime.clock,
        )
        data = {"refund_id": str(refund.id), "created_at": f"{refund.created_at:%Y-%m-%d %H:%M}"}
        return 202, {"data": data, "meta": SUCCESS}

    return await _money_write(request, session, partner, runtime, body, work)


# -- balance ----------------------------------------------------------------------------------


@router.get("/balance")
async def get_balance(session: SessionDep, partner: CurrentPartner) -> dict[str, Any]:
    """Available balance of the calling partner, in USD."""
    cents = await service.balance_cents(session, partner.id)
    return {
        "data": {
            "balances": {
                "name": "balance",
                "availableBalance": {"amount": wire_number(cents), "currency": "USD"},
            }
        },
        "meta": SUCCESS,
    }
