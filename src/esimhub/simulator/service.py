"""The webhook simulator: a mock of any documented webhook, addressed like the real ones."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.config import Settings
from esimhub.errors import EsimhubError
from esimhub.esims import profiles
from esimhub.esims import service as esims
from esimhub.kit import qr
from esimhub.kit.apn import wire_apn
from esimhub.kit.clock import Clock
from esimhub.ledger import service as ledger
from esimhub.notifications import payloads
from esimhub.notifications import service as notifications
from esimhub.scheduling import service as scheduling
from esimhub.simulator.schemas import SIMULATED_LEVELS

SIMULATED_REMAINING = {"data_75": 25, "data_90": 10, "expire_1": 40, "expire_3": 60}


class SimulatorRefused(EsimhubError):
    """The simulator's own 400: ``{"error": "..."}``."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> Any:
        return {"error": self.message}


@dataclass(frozen=True)
class Simulated:
    url: str
    payload: dict[str, Any]


async def simulate(
    session: AsyncSession,
    partner_id: int,
    *,
    event: str,
    level_type: str | None,
    credit_level: int | None,
    iccid: str | None,
    webhook_url: str | None,
    settings: Settings,
    clock: Clock,
) -> Simulated:
    """Where the mock goes (``webhook_url``, else the opt-in) and what it says."""
    url = webhook_url
    if url is None:
        url = await notifications.webhook_target(session, partner_id, event)
        if url is None:
            email_type = notifications.EMAIL_TYPES.get(event)
            if email_type and await notifications.subscription(session, partner_id, email_type):
                raise SimulatorRefused("User is not configured for webhook push")
            raise SimulatorRefused("User is not opted in")
    iccid = iccid or profiles.generated_iccid("8999", random.randrange(10**9), 1)
    if event == payloads.LOW_DATA:
        assert level_type is not None
        package = await esims.latest_package_id(session, partner_id, iccid)
        payload = payloads.low_data(
            level=SIMULATED_LEVELS[level_type],
            package_name=package or "kallur-digital-7days-1gb",
            remaining_percentage=SIMULATED_REMAINING[level_type],
            iccid=iccid,
        )
    elif event == payloads.CREDIT_LIMIT:
        assert credit_level is not None
        available = await ledger.available_cents(session, partner_id)
        payload = payloads.credit_limit(level=credit_level, available_cents=available)
    else:
        payload = sample_async_order(settings, clock.now(), iccid)
    return Simulated(url, payload)


def sample_async_order(settings: Settings, now: datetime, iccid: str) -> dict[str, Any]:
    """A made-up completed order, shaped like the real async-order webhook."""
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    matching = profiles.matching_id()
    smdp = settings.smdp_address
    return {
        "data": {
            "id": 0,
            "code": f"{now:%Y%m%d}-000000",
            "currency": "USD",
            "package_id": "kallur-digital-7days-1gb",
            "quantity": 1,
            "type": "sim",
            "description": "Webhook simulator",
            "esim_type": "Prepaid",
            "validity": 7,
            "package": "Kallur Digital-1 GB - 7 Days",
            "data": "1 GB",
            "price": 5,
            "pricing_model": "net_pricing",
            "created_at": stamp,
            "text": None,
            "voice": None,
            "net_price": 4,
            "sims": [
                {
                    "id": 0,
                    "created_at": stamp,
                    "iccid": iccid,
                    "lpa": smdp,
                    "matching_id": matching,
                    "qrcode": qr.lpa_string(smdp, matching),
                    "airalo_code": None,
                    **wire_apn(None, settings.automatic_apn),
                    "is_roaming": True,
                    "confirmation_code": None,
                }
            ],
        },
        "meta": {"message": "success"},
        "request_id": scheduling.request_id(),
    }
