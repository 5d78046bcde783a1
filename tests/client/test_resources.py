"""Every partner operation, through ``Client`` and ``AsyncClient``, against a live esimhub."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from esimhub.client import (
    AuthenticationError,
    BusinessError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    webhooks,
)
from esimhub.client.models import CatalogueEntry, FlatPackage
from tests.client.conftest import PACKAGE, Drive, Hub
from tests.fixtures.factories import PartnerFactory


async def wait_for_posts(hub: Hub, count: int) -> None:
    deadline = time.monotonic() + 15
    while len(hub.hook.posts()) < count:
        assert time.monotonic() < deadline, f"{len(hub.hook.posts())} of {count} webhooks came"
        await asyncio.sleep(0.05)


async def test_catalogue_every_page_and_the_flat_view(drive: Drive) -> None:
    whole: list[CatalogueEntry] = await drive.all(lambda c: c.packages.list(include_topups=True))
    flat: list[FlatPackage] = await drive.all(lambda c: c.packages.list(include_topups=True).flat())
    assert len(flat) == sum(len(o.packages) for e in whole for o in e.operators) >= 3000
    assert any(p.type == "topup" for p in flat)
    sims_only: list[FlatPackage] = await drive.all(lambda c: c.packages.list().flat())
    assert sims_only
    assert all(p.type == "sim" for p in sims_only)

    # five entries a page: every page fetched, nothing lost or repeated
    drive.sent.requests.clear()
    paged: list[CatalogueEntry] = await drive.all(
        lambda c: c.packages.list(include_topups=True, page_size=5)
    )
    assert [e.slug for e in paged] == [e.slug for e in whole]
    pages = [r for r in drive.sent.requests if r.url.path == "/v2/packages"]
    assert len(pages) == math.ceil(len(whole) / 5)

    japan: list[CatalogueEntry] = await drive.all(lambda c: c.packages.list(country="jp"))
    assert [e.country_code for e in japan] == ["JP"]
    global_: list[CatalogueEntry] = await drive.all(lambda c: c.packages.list(type="global"))
    assert global_
    assert all(e.country_code in (None, "") for e in global_)

    kallur = next(p for p in flat if p.package_id == PACKAGE)
    assert isinstance(kallur.price, Decimal)
    assert kallur.operator.title
    brochure = await drive(lambda c: c.packages.product_information(PACKAGE))
    assert brochure.package_id == PACKAGE
    assert brochure.validity_days == kallur.day


async def test_your_own_terms_for_packages(drive: Drive, hub: Hub) -> None:
    assert await drive.all(lambda c: c.packages.overrides()) == []
    for package_id, terms in [
        (PACKAGE, {"net_price": "2.50"}),
        ("merhaba-7days-1gb", {"hidden": True}),
    ]:
        url = f"/admin/v1/partners/{hub.partner.client_id}/package-overrides/{package_id}"
        assert hub.admin.put(url, json=terms).status_code == 200

    drive.sent.requests.clear()
    overrides = await drive.all(lambda c: c.packages.overrides(page_size=1))
    assert [(o.package_id, o.net_price, o.hidden) for o in overrides] == [
        (PACKAGE, Decimal("2.5"), False),
        ("merhaba-7days-1gb", None, True),
    ]
    assert overrides[0].price is None  # the catalogue's
    assert len([r for r in drive.sent.requests if r.url.path.endswith("/overrides")]) == 2
    flat = await drive.all(lambda c: c.packages.list().flat())
    assert next(p for p in flat if p.package_id == PACKAGE).net_price == Decimal("2.5")
    assert "merhaba-7days-1gb" not in {p.package_id for p in flat}


async def test_order_then_every_esim_operation(drive: Drive, hub: Hub) -> None:
    order = await drive(
        lambda c: c.orders.create(package_id=PACKAGE, quantity=2, description="client order")
    )
    assert order.package_id == PACKAGE
    assert order.quantity == 2
    assert len(order.sims) == 2
    sim = order.sims[0]
    assert sim.qrcode == f"LPA:1${sim.lpa}${sim.matching_id}"
    assert sim.sharing is not None
    assert sim.sharing.access_code
    assert sim.sharing.link
    second = await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))

    listed = await drive.all(lambda c: c.orders.list(page_size=1, include=["sims", "status"]))
    assert {o.id for o in listed} == {order.id, second.id}
    assert len(listed) == 2
    assert all(o.status is not None and o.status.slug == "completed" for o in listed)
    found = await drive.all(lambda c: c.orders.list(description="client order"))
    assert [o.id for o in found] == [order.id]
    got = await drive(lambda c: c.orders.get(order.id, include="sims"))
    assert [s.iccid for s in got.sims] == [s.iccid for s in order.sims]

    sims = await drive.all(lambda c: c.sims.list(page_size=2, include=["order"]))
    assert len(sims) == 3
    assert {s.iccid for s in sims} >= {s.iccid for s in order.sims}
    one = await drive(lambda c: c.sims.get(sim.iccid, include="order"))
    assert one.simable is not None
    assert one.simable.id == order.id

    usage = await drive(lambda c: c.sims.usage(sim.iccid))
    assert usage.status == "NOT_ACTIVE"
    assert usage.total == usage.remaining
    assert not usage.from_cache
    history = await drive(lambda c: c.sims.packages(sim.iccid))
    assert [h.package.id for h in history if h.package] == [PACKAGE]
    de = await drive(lambda c: c.sims.instructions(sim.iccid, language="de"))
    assert de.language == "DE"
    assert de.ios
    assert de.android
    assert await drive(lambda c: c.sims.set_brand(sim.iccid, None)) is None

    offers = await drive(lambda c: c.sims.topups(sim.iccid))
    assert offers
    assert all(o.type == "topup" for o in offers)
    topup = await drive(lambda c: c.topups.create(package_id=offers[0].id, iccid=sim.iccid))
    assert topup.type == "topup"
    assert topup.sims == []
    hub.advance(16 * 60)  # the package history answers once per 15 minutes per eSIM
    after = await drive(lambda c: c.sims.packages(sim.iccid))
    assert len(after) == 2


async def test_money_vouchers_refund_and_balance(drive: Drive) -> None:
    before = await drive(lambda c: c.balance.get())
    order = await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
    vouchers = await drive(
        lambda c: c.vouchers.esim(
            vouchers=[{"package_id": PACKAGE, "quantity": 2, "booking_reference": "b-1"}]
        )
    )
    assert len(vouchers) == 1
    assert len(vouchers[0].codes) == 2
    assert vouchers[0].booking_reference == "b-1"
    airmoney = await drive(lambda c: c.vouchers.airmoney(amount=5, quantity=1))
    assert len(airmoney) == 1
    assert airmoney[0].amount == 5
    assert airmoney[0].code
    after = await drive(lambda c: c.balance.get())
    assert order.net_price is not None
    # an order and two voucher codes of one package at its net price, and 5 USD of airmoney
    assert before.amount - after.amount == 3 * order.net_price + 5
    assert after.currency == "USD"

    refund = await drive(
        lambda c: c.refunds.create([order.sims[0].iccid], "OTHERS", notes="client test")
    )
    assert refund.refund_id
    assert refund.created_at is not None


async def test_async_and_future_orders_reach_the_webhook(drive: Drive, hub: Hub) -> None:
    accepted = await drive(
        lambda c: c.orders.create_async(
            package_id=PACKAGE, quantity=1, webhook_url=hub.hook.url, description="Tōkyō / 東京"
        )
    )
    assert len(accepted.request_id) == 25
    await wait_for_posts(hub, 1)
    delivery = hub.hook.posts()[0]
    assert webhooks.verify(
        delivery.body, delivery.headers[webhooks.SIGNATURE_HEADER], hub.partner.client_secret
    )
    assert not webhooks.verify(delivery.body, delivery.headers["airalo-signature"], "wrong")
    event = webhooks.parse(delivery.body)
    assert isinstance(event, webhooks.AsyncOrderEvent)
    assert event.ok
    assert event.request_id == accepted.request_id
    assert event.order is not None
    assert event.order.description == "Tōkyō / 東京"

    due = datetime.now(UTC) + timedelta(days=5)
    kept = await drive(
        lambda c: c.future_orders.create(
            package_id=PACKAGE, quantity=1, due_date=due, webhook_url=hub.hook.url
        )
    )
    dropped = await drive(
        lambda c: c.future_orders.create(
            package_id=PACKAGE,
            quantity=1,
            due_date=due.strftime("%Y-%m-%d %H:%M"),
            webhook_url=hub.hook.url,
        )
    )
    assert kept.due_date == due.replace(second=0, microsecond=0, tzinfo=None)
    pending = await drive.all(lambda c: c.future_orders.list(page_size=1))
    assert {f.request_id for f in pending} == {kept.request_id, dropped.request_id}
    message = await drive(lambda c: c.future_orders.cancel([dropped.request_id]))
    assert message == "Future orders cancelled successfully"
    left = await drive.all(lambda c: c.future_orders.list())
    assert [f.request_id for f in left] == [kept.request_id]
    with pytest.raises(ValidationError) as refused:
        await drive(lambda c: c.future_orders.cancel([dropped.request_id]))
    assert list(refused.value.errors) == ["request_ids.0"]


async def test_notifications_and_the_simulator(drive: Drive, hub: Hub) -> None:
    with pytest.raises(NotFoundError):
        await drive(lambda c: c.notifications.get())
    subscribed = await drive(
        lambda c: c.notifications.opt_in("webhook_low_data", webhook_url=hub.hook.url)
    )
    assert subscribed.type == "webhook_low_data"
    assert subscribed.contact_point == hub.hook.url
    limits = await drive(
        lambda c: c.notifications.opt_in(
            "webhook_credit_limit", webhook_url=hub.hook.url, levels=[50, 90]
        )
    )
    assert limits.levels == [50, 90]
    got = await drive(lambda c: c.notifications.get("webhook_low_data"))
    assert got.contact_point == hub.hook.url

    sent = await drive(lambda c: c.simulator.send("low_data_notification", type="data_90"))
    assert sent == "Notification sent"
    await drive(lambda c: c.simulator.send("credit_limit_notification", level=50))
    await wait_for_posts(hub, 2)
    events = [webhooks.parse(p.body) for p in hub.hook.posts()]
    low = next(e for e in events if isinstance(e, webhooks.LowDataEvent))
    assert low.level == "90%"
    assert low.iccid
    credit = next(e for e in events if isinstance(e, webhooks.CreditLimitEvent))
    assert "50%" in credit.message
    for posted in hub.hook.posts():
        assert webhooks.verify(
            posted.body, posted.headers["airalo-signature"], hub.partner.client_secret
        )

    await drive(lambda c: c.notifications.opt_out("webhook_low_data"))
    remaining = await drive(lambda c: c.notifications.get())
    assert remaining.type == "webhook_credit_limit"


async def test_devices_and_exchange_rates(drive: Drive) -> None:
    lite = await drive(lambda c: c.devices.list())
    full = await drive(lambda c: c.devices.list(lite=False))
    assert lite
    assert {d.os for d in lite} <= {"ios", "android"}
    assert all(d.model is None for d in lite)
    assert any(d.model for d in full)
    rates = await drive(lambda c: c.exchange_rates.get(to=["EUR", "gbp"]))
    assert {r.to for r in rates.rates} == {"EUR", "GBP"}
    assert rates.rate("eur") is not None
    assert rates.rate("JPY") is None


async def test_errors_come_as_their_own_kinds(
    drive: Drive, make_drive: Callable[..., Drive], make_partner: PartnerFactory
) -> None:
    with pytest.raises(ValidationError) as invalid:
        await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=99))
    assert invalid.value.status_code == 422
    assert invalid.value.errors == {"quantity": "The quantity may not be greater than 50."}
    with pytest.raises(BusinessError) as unknown:
        await drive(lambda c: c.orders.create(package_id="no-such-package", quantity=1))
    assert unknown.value.code == 34

    with pytest.raises(NotFoundError) as missing:
        await drive(lambda c: c.sims.usage("8910000000000000001"))
    assert missing.value.body == {"data": [], "meta": {"message": "messages.resource_not_found"}}

    poor = await make_partner(name="Poor Partner", balance_cents=1)
    broke = make_drive(poor.client_id, poor.client_secret)
    with pytest.raises(BusinessError) as refused:
        await broke(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
    assert refused.value.code == 11
    assert refused.value.reason.startswith("Insufficient")

    theirs = await drive(lambda c: c.orders.create(package_id=PACKAGE, quantity=1))
    with pytest.raises(PermissionDeniedError) as denied:
        await broke(lambda c: c.orders.get(theirs.id))
    assert denied.value.status_code == 401

    stranger = make_drive(secret="not-the-secret")
    with pytest.raises(AuthenticationError) as refused_token:
        await stranger(lambda c: c.balance.get())
    assert refused_token.value.body["meta"]["message"] == "Client authentication failed"
    assert json.dumps(refused_token.value.body)  # the body is kept as the API sent it
