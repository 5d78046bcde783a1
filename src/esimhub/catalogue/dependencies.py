"""``CatalogueDep``: the catalogue snapshot this process serves (reloaded when it changes);
``PartnerCatalogueDep``: the same as the calling partner sees and buys it (its overrides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from esimhub.auth.dependencies import CurrentPartner
from esimhub.catalogue.cache import CatalogueCache, Snapshot


async def current_catalogue(request: Request) -> Snapshot:
    cache: CatalogueCache = request.app.state.runtime.catalogue
    return await cache.current()


async def partner_catalogue(request: Request, partner: CurrentPartner) -> Snapshot:
    return (await current_catalogue(request)).for_partner(partner.id)


CatalogueDep = Annotated[Snapshot, Depends(current_catalogue)]
PartnerCatalogueDep = Annotated[Snapshot, Depends(partner_catalogue)]
