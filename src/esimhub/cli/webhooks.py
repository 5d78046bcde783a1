"""``esimhub webhooks ...``: every outbox event, its delivery attempts, and replays."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from esimhub.cli.common import clock, console, no_partner, refuse, run
from esimhub.kit.statuses import EventStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="Webhook events and their delivery attempts.", no_args_is_help=True)


@app.command("list")
def list_events(
    status: Annotated[
        str | None, typer.Option(help="pending, delivered, failed or skipped.")
    ] = None,
    partner: Annotated[str | None, typer.Option(help="Only this partner's (client_id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Events, newest first."""
    from esimhub.auth import service as auth
    from esimhub.notifications import schemas
    from esimhub.notifications import service as webhooks

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        partner_id = None
        if partner is not None:
            partner_id = (await auth.require_partner(session, partner)).id
        found_events = await webhooks.events(
            session, status=status, partner_id=partner_id, limit=limit
        )
        return [schemas.event_summary(event) for event in found_events]

    try:
        rows = run(work)
    except auth.PartnerNotFound:
        no_partner(partner or "")
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Webhook events")
    for column in ("event id", "kind", "partner", "status", "attempts", "created", "next due"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["event_id"],
            row["kind"],
            str(row["partner_id"]),
            row["status"],
            str(row["attempts"]),
            row["created_at"][:19],
            row["due_at"][:19] if row["status"] == EventStatus.PENDING else "",
        )
    console.print(table)


@app.command("show")
def show(event_id: str) -> None:
    """One event: its payload and every delivery attempt."""
    from esimhub.notifications import schemas
    from esimhub.notifications import service as webhooks

    async def work(session: AsyncSession) -> dict[str, Any] | None:
        event = await webhooks.event_by_public_id(session, event_id)
        if event is None:
            return None
        return schemas.event_summary(event, await webhooks.deliveries(session, event))

    summary = run(work)
    if summary is None:
        refuse(f"No event {event_id}")
    console.print_json(json.dumps(summary))


@app.command("replay")
def replay(event_id: str) -> None:
    """Deliver an event again at once (the worker sends it on its next pass)."""
    from esimhub.notifications import service as webhooks

    async def work(session: AsyncSession) -> bool:
        event = await webhooks.event_by_public_id(session, event_id)
        if event is None:
            return False
        await webhooks.replay(session, event, clock().now())
        return True

    if not run(work):
        refuse(f"No event {event_id}")
    console.print(f"Event {event_id} queued for delivery.")
