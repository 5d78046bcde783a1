"""``CatalogueDep``: the catalogue snapshot this process serves (reloaded when it changes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from esimhub.catalogue.cache import CatalogueCache, Snapshot


async def current_catalogue(request: Request) -> Snapshot:
    cache: CatalogueCache = request.app.state.runtime.catalogue
    return await cache.current()


CatalogueDep = Annotated[Snapshot, Depends(current_catalogue)]
