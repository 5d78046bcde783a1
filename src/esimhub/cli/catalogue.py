"""``esimhub catalogue ...``: generate, import and export the package catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from esimhub.cli.common import clock, console, refuse, run

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
