"""Resolving a bearer token to a partner without a database round trip per request."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from esimhub import db
from esimhub.auth import repository
from esimhub.kit.statuses import PricingModel

if TYPE_CHECKING:
    from esimhub.models import Partner

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PartnerPrincipal:
    """What a request needs to know about the partner making it."""

    id: int
    client_id: str
    name: str
    is_sandbox: bool
    is_active: bool
    token_generation: int
    pricing_model: str
    discount_percentage: int
    allowed_networks: tuple[IpNetwork, ...]
    created_at: datetime

    @classmethod
    def of(cls, partner: Partner) -> PartnerPrincipal:
        return cls(
            id=partner.id,
            client_id=partner.client_id,
            name=partner.name,
            is_sandbox=partner.is_sandbox,
            is_active=partner.is_active,
            token_generation=partner.token_generation,
            pricing_model=partner.pricing_model,
            discount_percentage=partner.discount_percentage,
            allowed_networks=parse_networks(partner.ip_allowlist),
            created_at=partner.created_at,
        )

    @property
    def uses_discount_pricing(self) -> bool:
        return self.pricing_model == PricingModel.DISCOUNT

    def ip_allowed(self, address: str | None) -> bool:
        """An empty allowlist admits everyone (Airalo's default: the feature is off)."""
        if not self.allowed_networks:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.allowed_networks)


def parse_networks(entries: Sequence[Any]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(str(entry), strict=False) for entry in entries)


class PartnerDirectory:
    """Partners by id, each kept for ``partner_cache_seconds`` before it is read again."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, cache_seconds: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cache_seconds = cache_seconds
        self._entries: dict[int, tuple[float, PartnerPrincipal | None]] = {}

    async def get(self, partner_id: int) -> PartnerPrincipal | None:
        now = time.monotonic()
        cached = self._entries.get(partner_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        async with db.transaction(self._sessionmaker) as session:
            partner = await repository.get(session, partner_id)
        principal = PartnerPrincipal.of(partner) if partner is not None else None
        self._entries[partner_id] = (now, principal)
        return principal

    def forget(self, partner_id: int) -> None:
        self._entries.pop(partner_id, None)
