"""Where webhooks may go: http(s) URLs, not private networks in production, alive on HEAD."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

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


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def resolve(host: str) -> list[IpAddress]:
    """Every address ``host`` resolves to (an address literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    """Where one delivery connects: ``url``, and when it was pinned to a checked address, the
    name to send as ``Host`` and to verify TLS against."""

    url: str
    host_header: str | None = None
    tls_name: str | None = None

    def request_options(self) -> dict[str, Any]:
        if self.host_header is None:
            return {}
        return {
            "headers": {"Host": self.host_header},
            "extensions": {"sni_hostname": self.tls_name},
        }


async def pin(url: str, settings: Settings) -> Target:
    """Check ``url`` and decide where to connect. In production the host is resolved once, every
    address it resolves to must be public, and the connection goes to the checked address: a
    name that resolves to a public address for the check and to a private one for the connection
    (DNS rebinding) reaches nothing private."""
    host = _check_syntax(url)
    if settings.private_webhook_targets_allowed:
        return Target(url)
    try:
        addresses = await resolve(host)
    except (OSError, UnicodeError):
        raise TargetRefused(f"The webhook url host {host} does not resolve.") from None
    for address in addresses:
        if not is_public(address):
            raise TargetRefused(
                f"The webhook url resolves to a private address ({address}); "
                "set ESIMHUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true to allow it."
            )
    if not addresses:
        raise TargetRefused(f"The webhook url host {host} does not resolve.")
    parsed = httpx.URL(url)
    return Target(
        str(parsed.copy_with(host=str(addresses[0]))),
        host_header=parsed.netloc.decode("ascii"),
        tls_name=parsed.host,
    )


async def check(url: str, settings: Settings) -> None:
    """Refuse malformed URLs, and private/loopback targets unless the deployment allows them."""
    await pin(url, settings)


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
