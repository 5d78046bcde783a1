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
        if not address.is_global:
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
