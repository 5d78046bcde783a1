"""Client addresses come from the peer, unless the peer is a proxy we were told to trust: a forged
``X-Forwarded-For`` opens no IP allowlist and resets no per-IP limit."""

from __future__ import annotations

import httpx

from esimhub.auth import service as auth
from esimhub.cli.common import transaction
from esimhub.config import Settings
from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.servers import serving

OFFICE = "203.0.113.0/24"
FORGED = {"X-Forwarded-For": "203.0.113.5"}


async def _allowlisted(settings: Settings, make_partner: PartnerFactory) -> dict[str, str]:
    credentials = await make_partner()
    async with transaction(settings) as session:
        await auth.set_ip_allowlist(session, client_id=credentials.client_id, entries=[OFFICE])
    return credentials.form()


async def test_a_forged_forwarded_for_does_not_open_an_ip_allowlist(
    database_url: str, make_partner: PartnerFactory
) -> None:
    settings = make_settings(database_url)
    form = await _allowlisted(settings, make_partner)
    with serving(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            forged = await client.post("/v2/token", data=form, headers=FORGED)
    assert forged.status_code == 403
    assert forged.json()["code"] == 89


async def test_a_trusted_proxy_passes_the_client_address_on(
    database_url: str, make_partner: PartnerFactory
) -> None:
    settings = make_settings(database_url, forwarded_allow_ips="127.0.0.1")
    form = await _allowlisted(settings, make_partner)
    with serving(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            through_proxy = await client.post("/v2/token", data=form, headers=FORGED)
            direct = await client.post("/v2/token", data=form)
    assert through_proxy.status_code == 200
    assert direct.status_code == 403


async def test_forged_addresses_do_not_reset_the_per_ip_refund_limit(
    database_url: str, make_partner: PartnerFactory
) -> None:
    settings = make_settings(database_url, rate_limits=True)
    credentials = await make_partner()
    with serving(settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            token = (await client.post("/v2/token", data=credentials.form())).json()
            headers = {"Authorization": f"Bearer {token['data']['access_token']}"}
            statuses = [
                (
                    await client.post(
                        "/v2/refund",
                        json={},
                        headers={**headers, "X-Forwarded-For": f"198.51.100.{number}"},
                    )
                ).status_code
                for number in range(6)
            ]
    assert statuses == [422] * 5 + [429]
