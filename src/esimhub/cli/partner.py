"""``esimhub partner ...``: partner accounts and their credentials."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from esimhub.cli.common import bad_usage, clock, console, no_partner, run
from esimhub.kit.money import exact_cents, wire_string
from esimhub.kit.statuses import PricingModel

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from esimhub.auth.service import Credentials

app = typer.Typer(help="Partner accounts and their API credentials.", no_args_is_help=True)


def _cents(value: str, name: str) -> int:
    try:
        cents = exact_cents(value)
    except ValueError as exc:
        reason = "has more than two decimals" if "decimals" in str(exc) else "is not a USD amount"
        raise typer.BadParameter(f"{value!r} {reason}", param_hint=name) from None
    if cents < 0:
        raise typer.BadParameter("must not be negative", param_hint=name)
    return cents


def print_credentials(
    client_id: str, client_secret: str, *, as_json: bool, extra: dict[str, object]
) -> None:
    if as_json:
        print(json.dumps({"client_id": client_id, "client_secret": client_secret, **extra}))
        return
    console.print(f"client_id:     [bold]{client_id}[/]")
    console.print(f"client_secret: [bold]{client_secret}[/]")
    console.print("[dim]The secret is shown now; esimhub stores only its hash.[/]")


@app.command()
def create(
    name: str,
    balance: Annotated[str, typer.Option(help="Opening prepaid balance in USD.")] = "0",
    credit_limit: Annotated[str, typer.Option(help="Credit limit in USD.")] = "0",
    sandbox: Annotated[
        bool, typer.Option(help="Sandbox partner: simulated orders, no real debit.")
    ] = False,
    discount: Annotated[
        int | None,
        typer.Option(help="Use discount pricing with this percentage (net prices are hidden)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the credentials as JSON.")] = False,
) -> None:
    """Create a partner and print its client_id and client_secret."""
    balance_cents = _cents(balance, "--balance")
    credit_cents = _cents(credit_limit, "--credit-limit")
    if discount is not None and not 0 <= discount <= 100:
        raise typer.BadParameter("a percentage from 0 to 100", param_hint="--discount")
    from esimhub.config import get_settings
    from esimhub.ledger import service as ledger

    async def work(session: AsyncSession) -> Credentials:
        return await ledger.open_account(
            session,
            settings=get_settings(),
            clock=clock(),
            name=name,
            balance_cents=balance_cents,
            credit_limit_cents=credit_cents,
            sandbox=sandbox,
            pricing_model=PricingModel.DISCOUNT if discount is not None else PricingModel.NET,
            discount_percentage=discount or 0,
        )

    created = run(work)
    print_credentials(
        created.client_id,
        created.client_secret,
        as_json=as_json,
        extra={"name": name, "balance": float(Decimal(balance_cents) / 100), "sandbox": sandbox},
    )


@app.command("list")
def list_partners(
    as_json: Annotated[bool, typer.Option("--json", help="Print the partners as JSON.")] = False,
) -> None:
    """List partners with their balance, credit limit and mode."""
    from esimhub.auth.schemas import partner_summary
    from esimhub.ledger import service as ledger

    rows = run(ledger.partners_with_balances)
    if as_json:
        print(json.dumps([partner_summary(p, balance) for p, balance in rows]))
        return
    table = Table(
        "id", "name", "client_id", "mode", "pricing", "balance", "credit limit", "IP allowlist"
    )
    for partner, balance_cents in rows:
        table.add_row(
            str(partner.id),
            partner.name,
            partner.client_id,
            "sandbox" if partner.is_sandbox else "production",
            partner.pricing_model
            + (
                f" {partner.discount_percentage}%"
                if partner.pricing_model == PricingModel.DISCOUNT
                else ""
            ),
            wire_string(balance_cents),
            wire_string(partner.credit_limit_cents),
            ", ".join(partner.ip_allowlist) or "any",
        )
    console.print(table)


@app.command("rotate-secret")
def rotate_secret(
    client_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the credentials as JSON.")] = False,
) -> None:
    """Issue a new client secret; tokens issued with the old one stop working."""
    from esimhub.auth import service
    from esimhub.config import get_settings

    async def work(session: AsyncSession) -> Credentials:
        return await service.rotate_secret(session, settings=get_settings(), client_id=client_id)

    try:
        rotated = run(work)
    except service.PartnerNotFound:
        no_partner(client_id)
    print_credentials(rotated.client_id, rotated.client_secret, as_json=as_json, extra={})


@app.command("allow-ip")
def allow_ip(
    client_id: str,
    cidrs: Annotated[list[str], typer.Argument(help="IPv4/IPv6 addresses or CIDR ranges.")],
    replace: Annotated[bool, typer.Option(help="Replace the allowlist instead of adding.")] = False,
) -> None:
    """Restrict API access to these addresses (an empty allowlist admits any address)."""
    from esimhub.auth import service

    async def work(session: AsyncSession) -> list[str]:
        return await service.set_ip_allowlist(
            session, client_id=client_id, entries=cidrs, replace=replace
        )

    try:
        allowlist = run(work)
    except service.PartnerNotFound:
        no_partner(client_id)
    except ValueError as exc:
        bad_usage(str(exc))
    console.print("IP allowlist: " + ", ".join(allowlist))
