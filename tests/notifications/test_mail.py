"""Share emails go out through a real SMTP server on loopback when one is configured."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from esimhub.cli.common import transaction
from esimhub.kit.clock import FrozenClock
from esimhub.models import MailMessage
from tests.fixtures.clients import ClientFactory, get_token
from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerFactory


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


async def test_share_email_is_sent_with_links_and_pdf(
    database_url: str,
    clock: FrozenClock,
    client_for: ClientFactory,
    make_partner: PartnerFactory,
    smtp_server: tuple[int, Inbox],
) -> None:
    port, inbox = smtp_server
    smtp_url = f"smtp://127.0.0.1:{port}"
    settings = make_settings(database_url, smtp_url=smtp_url)
    credentials = await make_partner(balance_cents=10_000)
    async with client_for(smtp_url=smtp_url) as client:
        token = await get_token(client, credentials)
        response = await client.post(
            "/v2/orders",
            json={
                "package_id": "merhaba-7days-1gb",
                "quantity": 2,
                "to_email": "traveller@example.com",
                "sharing_option": ["link", "pdf"],
                "copy_address": ["agent@example.com"],
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    sims = response.json()["data"]["sims"]

    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert sorted(recipients) == ["agent@example.com", "traveller@example.com"]
    parts = list(message.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert isinstance(text, bytes)
    for sim in sims:
        assert sim["sharing"]["link"].encode() in text
        assert sim["sharing"]["access_code"].encode() in text
    pdfs = [p for p in parts if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 2
    pdf = pdfs[0].get_payload(decode=True)
    assert isinstance(pdf, bytes)
    assert pdf.startswith(b"%PDF")

    async with transaction(settings) as session:
        stored = (await session.scalars(select(MailMessage))).one()
        assert stored.status == "sent"
        assert stored.sent_at == clock.now()
