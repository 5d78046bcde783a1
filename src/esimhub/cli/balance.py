"""``esimhub balance ...`` and ``esimhub refund ...``: money in and out of partner balances."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from esimhub.cli.common import clock, console, no_partner, refuse, run, usd_cents
from esimhub.kit.clock import format_datetime
from esimhub.kit.money import wire_number, wire_string

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from esimhub.models import LedgerEntry, Partner, Refund

app = typer.Typer(help="Partner balances: credit, credit limit, ledger.", no_args_is_help=True)
refunds_app = typer.Typer(help="Refund requests: review, approve, reject.", no_args_is_help=True)
# "-1000" is read as the amount (and refused with a pointer to `debit`), not as an option "-1".
NEGATIVE_ARGUMENTS = {"ignore_unknown_options": True}


def _positive(value: str, name: str, *, negative_hint: str) -> int:
    cents = usd_cents(value, name)
    if cents < 0:
        raise typer.BadParameter(f"must be positive; {negative_hint}", param_hint=name)
    if cents == 0:
        raise typer.BadParameter("must not be zero", param_hint=name)
    return cents


def _move(client_id: str, cents: int, *, note: str | None, force: bool) -> int:
    """Credit (or, negative, debit) a partner's balance; the balance after."""
    from esimhub.auth import service as auth
    from esimhub.ledger import service as ledger

    async def work(session: AsyncSession) -> int:
        partner = await auth.require_partner(session, client_id)
        if cents < 0 and not force:
            available = await ledger.available_cents(session, partner.id)
            if -cents > available:
                refuse(
                    f"Debiting {wire_string(-cents)} USD would take {client_id} past its credit"
                    f" limit (it can spend {wire_string(available)} USD); --force to do it anyway"
                )
        await ledger.credit(session, partner.id, amount_cents=cents, clock=clock(), reference=note)
        await session.flush()
        return await ledger.balance_cents(session, partner.id)

    try:
        return run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)


@app.command("credit", context_settings=NEGATIVE_ARGUMENTS)
def credit(
    client_id: str,
    amount: Annotated[str, typer.Argument(help="USD to add, at most two decimals.")],
    note: Annotated[str | None, typer.Option(help="Reference kept in the ledger.")] = None,
) -> None:
    """Add prepaid balance to a partner (a ledger entry; the balance is their sum)."""
    cents = _positive(amount, "AMOUNT", negative_hint="take money back with `balance debit`")
    balance = _move(client_id, cents, note=note, force=False)
    console.print(f"Balance of {client_id}: [bold]{wire_string(balance)} USD[/]")


@app.command("debit", context_settings=NEGATIVE_ARGUMENTS)
def debit(
    client_id: str,
    amount: Annotated[str, typer.Argument(help="USD to take back, at most two decimals.")],
    note: Annotated[str | None, typer.Option(help="Reference kept in the ledger.")] = None,
    force: Annotated[
        bool, typer.Option(help="Debit even past the partner's credit limit.")
    ] = False,
) -> None:
    """Take prepaid balance back from a partner (refused past its credit limit)."""
    cents = _positive(amount, "AMOUNT", negative_hint="give the amount to take back")
    balance = _move(client_id, -cents, note=note, force=force)
    console.print(f"Balance of {client_id}: [bold]{wire_string(balance)} USD[/]")


@app.command("verify")
def verify() -> None:
    """Check every partner's balance against the sum of its ledger entries (exit 1 if any
    differs)."""
    from esimhub.ledger import service as ledger

    mismatches = run(ledger.mismatches)
    if not mismatches:
        console.print("Every balance equals the sum of its ledger entries.")
        return
    for partner_id, (maintained, summed) in sorted(mismatches.items()):
        console.print(
            f"[red]partner {partner_id}[/]: balance {wire_string(maintained)} USD,"
            f" ledger entries add up to {wire_string(summed)} USD"
        )
    raise typer.Exit(1)


@app.command("credit-limit", context_settings=NEGATIVE_ARGUMENTS)
def credit_limit(client_id: str, amount: str) -> None:
    """Set how far below zero a partner's balance may go."""
    from esimhub.auth import service as auth

    cents = usd_cents(amount, "AMOUNT")
    if cents < 0:
        raise typer.BadParameter("must not be negative", param_hint="AMOUNT")

    async def work(session: AsyncSession) -> Partner:
        return await auth.set_credit_limit(session, client_id=client_id, credit_limit_cents=cents)

    try:
        run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    console.print(f"Credit limit of {client_id}: [bold]{wire_string(cents)} USD[/]")


@app.command("show")
def show(
    client_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """A partner's balance, credit limit and ledger."""
    from esimhub.auth import service as auth
    from esimhub.ledger import service as ledger

    async def work(session: AsyncSession) -> tuple[Partner, int, list[LedgerEntry]]:
        partner = await auth.require_partner(session, client_id)
        entries = list(await ledger.entries(session, partner.id))
        return partner, await ledger.balance_cents(session, partner.id), entries

    try:
        partner, balance, entries = run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    if as_json:
        print(
            json.dumps(
                {
                    "client_id": client_id,
                    "balance": wire_number(balance),
                    "credit_limit": wire_number(partner.credit_limit_cents),
                    "ledger": [
                        {
                            "at": format_datetime(e.created_at),
                            "kind": e.kind,
                            "amount": wire_number(e.amount_cents),
                            "reference": e.reference,
                        }
                        for e in entries
                    ],
                }
            )
        )
        return
    console.print(
        f"[bold]{partner.name}[/] ({client_id}): balance [bold]{wire_string(balance)} USD[/], "
        f"credit limit {wire_string(partner.credit_limit_cents)} USD"
    )
    table = Table("when", "kind", "amount (USD)", "reference")
    for entry in entries:
        table.add_row(
            format_datetime(entry.created_at),
            entry.kind,
            wire_string(entry.amount_cents),
            entry.reference or "",
        )
    console.print(table)


@refunds_app.command("list")
def list_refunds(
    status: Annotated[str | None, typer.Option(help="pending, approved or rejected.")] = None,
) -> None:
    """Refund requests, oldest first."""
    from esimhub.refunds import service as refunds

    async def work(session: AsyncSession) -> list[Refund]:
        return list(await refunds.refunds(session, status))

    table = Table("id", "partner", "created", "status", "reason", "iccids", "credited (USD)")
    for refund in run(work):
        table.add_row(
            str(refund.id),
            str(refund.partner_id),
            format_datetime(refund.created_at),
            refund.status,
            refund.reason,
            ", ".join(refund.iccids),
            wire_string(refund.credited_cents) if refund.credited_cents is not None else "",
        )
    console.print(table)


def _decide(refund_id: int, *, approve: bool, amount: str | None, note: str | None) -> Refund:
    from esimhub.refunds import service as refunds

    cents = usd_cents(amount, "--amount") if amount is not None else None

    async def work(session: AsyncSession) -> Refund:
        return await refunds.decide_refund(
            session, refund_id, approve=approve, clock=clock(), amount_cents=cents, note=note
        )

    try:
        return run(work)
    except refunds.RefundDecisionError as exc:
        refuse(str(exc))


@refunds_app.command("approve")
def approve(
    refund_id: int,
    amount: Annotated[
        str | None, typer.Option(help="USD to credit; default: what was paid for the eSIMs.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """Approve a refund: credit the partner's balance and mark its eSIMs refunded."""
    refund = _decide(refund_id, approve=True, amount=amount, note=note)
    console.print(
        f"Refund {refund.id} approved: {wire_string(refund.credited_cents or 0)} USD credited."
    )


@refunds_app.command("reject")
def reject(
    refund_id: int,
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """Reject a refund; nothing is credited."""
    refund = _decide(refund_id, approve=False, amount=None, note=note)
    console.print(f"Refund {refund.id} rejected.")
