"""Where webhooks may go: http(s) URLs, not private networks in production, alive on HEAD."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from esimhub.config import Settings
from esimhub.kit.validation import WEBHOOK_URL_INVALID, is_webhook_url


class TargetRefused(ValueError):
    """A URL we will not deliver to; the message says why."""


def _check_syntax(url: str) -> str:
    if not is_webhook_url(url):
        raise TargetRefused(WEBHOOK_URL_INVALID)
    return httpx.URL(url).host


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, 6to4, Teredo, NAT64."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found.extend(address.teredo)
    packed = address.packed
    if any(address in network for network in NAT64) or packed[:12] == bytes(12):
        found.append(ipaddress.IPv4Address(packed[12:]))
    return found


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable, and so is every IPv4 address it embeds (a NAT64 or 6to4 address of
    loopback is loopback)."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(embedded.is_global for embedded in embedded_ipv4(address))
    return True


async def check(url: str, settings: Settings) -> None:
    """Refuse malformed URLs, and private/loopback targets unless the deployment allows them."""
    host = _check_syntax(url)
    if settings.private_webhook_targets_allowed:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"The webhook url host {host} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not is_public(address):
            raise TargetRefused(
                f"The webhook url resolves to a private address ({address}); "
                "set ESIMHUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true to allow it."
            )


async def answers_head(url: str, settings: Settings) -> None:
    """Airalo's opt-in check: the URL must answer ``HEAD`` with 200 OK."""
    await check(url, settings)
    try:
        async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
            response = await client.head(url)
    except httpx.HTTPError as exc:
        raise TargetRefused(
            f"The webhook url could not be reached ({exc.__class__.__name__})."
        ) from None
    if response.status_code != 200:
        raise TargetRefused(
            f"The webhook url must answer HEAD with 200 OK (it answered {response.status_code})."
        )
