"""``esimhub catalogue ...``: generate, import and export the package catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from esimhub.cli.common import clock, console, no_partner, refuse, run, usd_cents

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from esimhub.catalogue.service import ImportSummary

app = typer.Typer(help="The package catalogue.", no_args_is_help=True)


def _load_with_progress(document: Any, label: str) -> ImportSummary:
    from esimhub.catalogue import service

    total = service.count_packages(document)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)

        async def work(session: AsyncSession) -> ImportSummary:
            return await service.import_catalogue(
                session,
                clock=clock(),
                document=document,
                progress=lambda n: progress.advance(task, n),
            )

        return run(work)


def _report(summary: ImportSummary) -> None:
    console.print(
        f"Catalogue version {summary.version}: {summary.destinations} destinations, "
        f"{summary.operators} operators, {summary.packages} packages."
    )


@app.command()
def generate() -> None:
    """Replace the catalogue with the deterministic demo catalogue."""
    from esimhub.catalogue import demo

    _report(_load_with_progress(demo.generate(), "Generating"))


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Replace the catalogue with FILE, a saved GET /v2/packages response (or a list of pages)."""
    from esimhub.catalogue import service
    from esimhub.kit.forms import parse_json

    try:
        document = parse_json(file.read_bytes())
        summary = _load_with_progress(document, f"Importing {file.name}")
    except (ValueError, service.CatalogueImportError) as exc:
        refuse(f"Cannot import {file}: {exc}")
    _report(summary)


@app.command()
def export(
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True)],
    base_url: Annotated[str, typer.Option(help="Prefix for relative image URLs.")] = "",
) -> None:
    """Write the catalogue to FILE in the GET /v2/packages shape (net pricing, with top-ups)."""
    from esimhub.catalogue import service

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await service.export_catalogue(session, clock=clock(), base_url=base_url)

    document = run(work)
    file.write_text(json.dumps(document, ensure_ascii=False, indent=1))
    count = sum(len(op["packages"]) for entry in document["data"] for op in entry["operators"])
    console.print(f"Wrote {len(document['data'])} destinations, {count} packages to {file}.")


def _price(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    cents = usd_cents(value, name)
    if cents < 0:
        raise typer.BadParameter("must not be negative", param_hint=name)
    return cents


def _show_overrides(items: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("package", "price", "net price", "hidden", "updated at")
    for item in items:
        table.add_row(
            item["package_id"],
            "catalogue" if item["price"] is None else str(item["price"]),
            "catalogue" if item["net_price"] is None else str(item["net_price"]),
            "yes" if item["hidden"] else "",
            item["updated_at"],
        )
    console.print(table)


@app.command()
def override(
    client_id: str,
    package_id: str,
    price: Annotated[str | None, typer.Option(help="The partner's price (USD).")] = None,
    net_price: Annotated[str | None, typer.Option(help="The partner's net price (USD).")] = None,
    hide: Annotated[bool, typer.Option(help="Do not offer the package to the partner.")] = False,
) -> None:
    """Give a partner its own price and/or net price for a package, or hide it from the partner
    (its GET /packages, orders and top-ups follow; GET /v2/packages/overrides lists them)."""
    from esimhub.auth import service as auth
    from esimhub.catalogue import service

    terms = service.OverrideTerms(
        price_cents=_price(price, "--price"),
        net_price_cents=_price(net_price, "--net-price"),
        hidden=hide,
    )

    async def work(session: AsyncSession) -> dict[str, Any]:
        partner = await auth.require_partner(session, client_id)
        found = await service.set_override(
            session, clock=clock(), partner_id=partner.id, package_id=package_id, terms=terms
        )
        return service.override_item(found)

    try:
        item = run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    except service.OverrideRefused as exc:
        refuse(f"Cannot override {package_id} for {client_id}: {exc}")
    _show_overrides([item])


@app.command("clear-override")
def clear_override(client_id: str, package_id: str) -> None:
    """Give a partner the catalogue's price and net price for a package again (and show it)."""
    from esimhub.auth import service as auth
    from esimhub.catalogue import service

    async def work(session: AsyncSession) -> bool:
        partner = await auth.require_partner(session, client_id)
        return await service.clear_override(
            session, clock=clock(), partner_id=partner.id, package_id=package_id
        )

    try:
        cleared = run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    if not cleared:
        refuse(f"{client_id} has no override for {package_id}")
    console.print(f"{client_id} sees {package_id} on the catalogue's terms again.")


@app.command()
def overrides(client_id: str) -> None:
    """A partner's own terms for packages."""
    from esimhub.auth import service as auth
    from esimhub.catalogue import service

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        partner = await auth.require_partner(session, client_id)
        return [service.override_item(o) for o in await service.overrides(session, partner.id)]

    try:
        items = run(work)
    except auth.PartnerNotFound:
        no_partner(client_id)
    if not items:
        console.print(f"{client_id} has no overrides: it sees the catalogue's terms.")
        return
    _show_overrides(items)
