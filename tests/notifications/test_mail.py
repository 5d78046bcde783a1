"""Share emails go out through a real SMTP server on loopback when one is configured."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from esimhub.cli.common import transaction
from esimhub.kit.clock import FrozenClock
from esimhub.models import MailMessage
from esimhub.notifications import service as mail
from esimhub.worker import Worker
from tests.fixtures.clients import ClientFactory, get_token
from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.servers import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    port = free_port()
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


async def _stored(database_url: str) -> MailMessage:
    async with transaction(make_settings(database_url)) as session:
        return (await session.scalars(select(MailMessage))).one()


async def test_a_failed_mail_is_retried_with_backoff_and_can_be_resent(
    database_url: str,
    clock: FrozenClock,
    client_for: ClientFactory,
    make_partner: PartnerFactory,
    smtp_server: tuple[int, Inbox],
) -> None:
    port, inbox = smtp_server
    credentials = await make_partner(balance_cents=10_000)
    down = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    async with client_for(smtp_url=down, mail_attempts=3) as client:
        token = await get_token(client, credentials)
        ordered = await client.post(
            "/v2/orders",
            json={
                "package_id": "merhaba-7days-1gb",
                "quantity": 1,
                "to_email": "traveller@example.com",
                "sharing_option": ["link"],
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert ordered.status_code == 200  # the order stands whatever the mail server does
        first = await _stored(database_url)
        assert (first.status, first.attempts) == ("queued", 1)
        assert first.error is not None
        assert first.due_at == clock.now() + timedelta(minutes=1)

        worker = Worker(client.app.state.runtime)
        try:
            await worker.run_once()  # not due yet: nothing is tried
            assert (await _stored(database_url)).attempts == 1
            clock.advance(timedelta(minutes=1))
            await worker.run_once()
            second = await _stored(database_url)
            assert (second.status, second.attempts) == ("queued", 2)
            assert second.due_at == clock.now() + timedelta(minutes=2)
            clock.advance(timedelta(minutes=2))
            await worker.run_once()
            assert (await _stored(database_url)).status == "failed"
        finally:
            await worker.aclose()
    assert inbox.messages == []

    async with transaction(make_settings(database_url)) as session:
        await mail.resend(session, first.id, now=clock.now())
    async with client_for(smtp_url=f"smtp://127.0.0.1:{port}") as client:
        worker = Worker(client.app.state.runtime)
        try:
            assert (await worker.run_once()).mail == 1
        finally:
            await worker.aclose()
    assert [recipients for recipients, _ in inbox.messages] == [["traveller@example.com"]]
    assert (await _stored(database_url)).status == "sent"
