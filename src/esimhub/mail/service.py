"""Mail to end users (eSIM sharing). Written as rows with the order, sent when SMTP is set up.

Without ``ESIMHUB_SMTP_URL`` a message stays in the database as ``kept`` for
``esimhub mail list``; with it, ``deliver`` sends queued messages (after the order committed).
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.config import Settings
from esimhub.esims import service as esims
from esimhub.esims.profiles import lpa_string
from esimhub.kit import queue
from esimhub.kit.clock import Clock
from esimhub.models import Brand, MailMessage, Sim


def queue_share_mail(
    session: AsyncSession,
    *,
    partner_id: int,
    to: str,
    cc: Sequence[str],
    options: Sequence[str],
    sims: Sequence[Sim],
    brand: Brand | None,
    package_title: str,
    base_url: str,
    at: datetime,
) -> MailMessage:
    """The eSIMs Cloud email: a share link per eSIM (``link``) and/or its QR code as PDF (``pdf``)."""
    sender = brand.name if brand else "Your eSIM provider"
    lines = ["Hello,", "", f"{sender} sent you {len(sims)} eSIM(s): {package_title}.", ""]
    for number, sim in enumerate(sims, start=1):
        lines.append(f"eSIM {number} (ICCID {sim.iccid})")
        if "link" in options:
            lines.append(f"  Open: {base_url}{esims.share_path(sim, brand)}")
            lines.append(f"  Access code: {sim.access_code}")
        lines.append(f"  Manual installation: SM-DP+ {sim.smdp_address}, code {sim.matching_id}")
        lines.append(f"  Activation code: {lpa_string(sim.smdp_address, sim.matching_id)}")
        lines.append("")
    if "pdf" in options:
        lines.append("The QR code of each eSIM is attached as a PDF.")
    attachments = (
        [
            {
                "filename": f"esim-{sim.iccid}.pdf",
                "content_type": "application/pdf",
                "sim_id": sim.id,
            }
            for sim in sims
        ]
        if "pdf" in options
        else []
    )
    message = MailMessage(
        partner_id=partner_id,
        to_address=to,
        cc=list(cc),
        subject=f"Your eSIM from {sender}",
        body_text="\n".join(lines),
        body_html=None,
        attachments=attachments,
        status="queued",
        created_at=at,
    )
    session.add(message)
    return message


async def messages(session: AsyncSession, *, status: str | None = None) -> Sequence[MailMessage]:
    query = select(MailMessage).order_by(MailMessage.id)
    if status:
        query = query.where(MailMessage.status == status)
    return (await session.scalars(query)).all()


async def deliver(session: AsyncSession, *, settings: Settings, clock: Clock) -> int:
    """Send every queued message through SMTP (or mark it kept when none is configured).

    The messages are claimed first (``sending``, with ``SKIP LOCKED`` on PostgreSQL; SQLite's one
    writer serialises the claim), so concurrent deliverers never send one twice. The status is
    only visible at commit: a crash rolls the claim back and the messages stay queued.
    """
    claimed = await queue.claim(
        session,
        MailMessage,
        MailMessage.status == "queued",
        order_by=(MailMessage.id,),
        limit=100,
        values={"status": "sending"},
    )
    queued = list(
        await session.scalars(
            select(MailMessage)
            .where(MailMessage.id.in_(claimed))
            .order_by(MailMessage.id)
            .execution_options(populate_existing=True)
        )
    )
    sent = 0
    for message in queued:
        if settings.smtp_url is None:
            message.status = "kept"
            continue
        try:
            email = await _compose(session, settings, message)
            await asyncio.to_thread(_send, settings.smtp_url.get_secret_value(), email)
        except (OSError, smtplib.SMTPException) as exc:
            message.status, message.error = "failed", f"{exc.__class__.__name__}: {exc}"
        else:
            message.status, message.sent_at, message.error = "sent", clock.now(), None
            sent += 1
    return sent


async def _compose(session: AsyncSession, settings: Settings, message: MailMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    if message.cc:
        email["Cc"] = ", ".join(message.cc)
    email["Subject"] = message.subject
    email.set_content(message.body_text)
    for attachment in message.attachments:
        sim = await session.get(Sim, int(attachment["sim_id"]))
        if sim is not None:
            email.add_attachment(
                esims.qr_pdf(sim),
                maintype="application",
                subtype="pdf",
                filename=str(attachment["filename"]),
            )
    return email


def _send(url: str, email: EmailMessage) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    secure = parts.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(host, port or (465 if secure else 25), timeout=30) as client:
        if parts.scheme == "smtp+starttls":
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        headers = [str(email["To"]), *(str(cc) for cc in email.get_all("Cc") or [])]
        client.send_message(email, to_addrs=[a for _, a in getaddresses(headers) if a])
