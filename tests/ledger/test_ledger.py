"""The ledger: entries and the maintained balance move together, under the partner's lock."""

from __future__ import annotations

import pytest

from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from esimhub.ledger import service as ledger
from tests.fixtures.factories import PartnerFactory


async def test_two_debits_in_one_transaction_cannot_overdraw(
    settings: Settings, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    partner = await make_partner(balance_cents=1_000)

    async def debit_twice() -> None:
        async with transaction(settings) as session:
            account = await ledger.lock(session, partner.partner_id)
            for reference in ("first", "second"):  # 600 + 600 > 1,000
                await ledger.debit(
                    session,
                    account,
                    amount_cents=600,
                    kind="order",
                    reference=reference,
                    at=clock.now(),
                )

    with pytest.raises(ledger.InsufficientCredit):
        await debit_twice()
    async with transaction(settings) as session:
        assert await ledger.balance_cents(session, partner.partner_id) == 1_000  # rolled back
        assert await ledger.mismatches(session) == {}


async def test_the_maintained_balance_follows_every_entry(
    settings: Settings, clock: FrozenClock, make_partner: PartnerFactory
) -> None:
    partner = await make_partner(balance_cents=1_000)
    async with transaction(settings) as session:
        account = await ledger.lock(session, partner.partner_id)
        await ledger.debit(
            session, account, amount_cents=250, kind="order", reference="a", at=clock.now()
        )
        await ledger.credit(session, partner.partner_id, amount_cents=100, clock=clock)
    async with transaction(settings) as session:
        assert await ledger.balance_cents(session, partner.partner_id) == 850
        assert sum(e.amount_cents for e in await ledger.entries(session, partner.partner_id)) == 850
        assert await ledger.mismatches(session) == {}
