"""``esimhub inventory ...``, ``esimhub brand ...`` and ``esimhub mail ...``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from esimhub.cli.common import bad_usage, clock, console, errors, no_partner, refuse, run
from esimhub.kit.clock import format_datetime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from esimhub.esims.service import ImportResult
    from esimhub.models import Brand, MailMessage, Operator

inventory_app = typer.Typer(help="eSIM profiles imported from an SM-DP+.", no_args_is_help=True)
brand_app = typer.Typer(help="Partner brands for share pages and emails.", no_args_is_help=True)
mail_app = typer.Typer(help="Mail sent (or kept) for end users.", no_args_is_help=True)


@inventory_app.command("import")
def import_inventory(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    operator: Annotated[str, typer.Option(help="Operator id or title (as in GET /packages).")],
) -> None:
    """Load profiles (CSV: iccid, smdp_address, matching_id, confirmation_code, imsi, msisdn).

    All or nothing: one bad line and nothing is imported. The operator then sells only from its
    pool, and an empty pool answers the documented out-of-stock errors.
    """
    from esimhub.config import get_settings
    from esimhub.esims import service as esims

    text = file.read_text(encoding="utf-8-sig")

    async def work(session: AsyncSession) -> ImportResult:
        found = await esims.find_operator(session, operator)
        if found is None:
            raise esims.InventoryImportError([f"no operator {operator!r}"])
        return await esims.import_inventory(
            session, settings=get_settings(), clock=clock(), operator_id=found.id, csv_text=text
        )

    try:
        result = run(work)
    except esims.InventoryImportError as exc:
        errors.print(f"[red]Nothing imported from {file}:[/]")
        for problem in exc.problems[:50]:
            errors.print(f"  {problem}")
        if len(exc.problems) > 50:
            errors.print(f"  ... and {len(exc.problems) - 50} more")
        raise typer.Exit(1) from None  # refused: the lines above say why
    console.print(
        f"Imported {result.imported} profiles for {result.operator.title} "
        f"(operator {result.operator.id}); {result.available} available."
    )


@inventory_app.command("status")
def inventory_status() -> None:
    """Profiles left per pool operator."""
    from esimhub.esims import service as esims

    async def work(session: AsyncSession) -> list[tuple[Operator, int]]:
        return await esims.pool_levels(session)

    table = Table("operator", "title", "available")
    for operator, available in run(work):
        table.add_row(str(operator.id), operator.title, str(available))
    console.print(table)


@brand_app.command("create")
def create_brand(
    client_id: str,
    name: str,
    logo: Annotated[str | None, typer.Option(help="URL of the logo image.")] = None,
    color: Annotated[str | None, typer.Option(help="Brand colour, #RRGGBB.")] = None,
) -> None:
    """Create brand settings a partner can name in ``brand_settings_name``."""
    from esimhub.auth import service as auth
    from esimhub.esims import service as esims

    async def work(session: AsyncSession) -> Brand:
        partner = await auth.require_partner(session, client_id)
        return await esims.create_brand(
            session, partner.id, clock=clock(), name=name, logo_url=logo, color=color
        )

    try:
        brand = run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    except esims.BrandExists as exc:
        refuse(str(exc))
    except ValueError as exc:
        bad_usage(str(exc))
    console.print(f"Brand [bold]{brand.name}[/] created; share links use /s/{brand.slug}/...")


@brand_app.command("list")
def list_brands(client_id: str) -> None:
    """A partner's brands."""
    from esimhub.auth import service as auth
    from esimhub.esims import service as esims

    async def work(session: AsyncSession) -> list[Brand]:
        partner = await auth.require_partner(session, client_id)
        return await esims.brands(session, partner.id)

    try:
        brands = run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    table = Table("name", "slug", "logo", "colour")
    for brand in brands:
        table.add_row(brand.name, brand.slug, brand.logo_url or "", brand.color or "")
    console.print(table)


@mail_app.command("list")
def list_mail(
    status: Annotated[str | None, typer.Option(help="queued, sent, failed or kept.")] = None,
    full: Annotated[bool, typer.Option(help="Print each message's text.")] = False,
) -> None:
    """Mail to end users (eSIM share emails), oldest first."""
    from esimhub.notifications import service as mail

    async def work(session: AsyncSession) -> list[MailMessage]:
        return list(await mail.messages(session, status=status))

    messages = run(work)
    if full:
        for message in messages:
            console.rule(f"#{message.id} {message.status} {format_datetime(message.created_at)}")
            console.print(f"To: {message.to_address}")
            if message.cc:
                console.print(f"Cc: {', '.join(message.cc)}")
            console.print(f"Subject: {message.subject}\n")
            console.print(message.body_text, markup=False)
        return
    table = Table("id", "created", "status", "to", "subject")
    for message in messages:
        table.add_row(
            str(message.id),
            format_datetime(message.created_at),
            message.status,
            message.to_address,
            message.subject,
        )
    console.print(table)


@mail_app.command("resend")
def resend_mail(message_id: int) -> None:
    """Queue a message again (a failed one, say); the worker sends it on its next pass."""
    from esimhub.notifications import service as mail

    async def work(session: AsyncSession) -> MailMessage:
        return await mail.resend(session, message_id, now=clock().now())

    try:
        message = run(work)
    except mail.MailNotFound:
        refuse(f"No message {message_id}")
    console.print(f"Message #{message.id} to {message.to_address} queued again.")
