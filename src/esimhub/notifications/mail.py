"""Speaking SMTP: a stored message (and the QR PDFs it attaches) sent through ESIMHUB_SMTP_URL."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

from esimhub.config import Settings
from esimhub.kit import qr
from esimhub.models import MailMessage


class MailError(Exception):
    """The SMTP server could not be reached or refused the message."""


def qr_pdf(smdp_address: str, matching_id: str) -> bytes:
    return qr.render(qr.lpa_string(smdp_address, matching_id), "pdf")


def compose(settings: Settings, message: MailMessage, pdfs: dict[str, bytes]) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    if message.cc:
        email["Cc"] = ", ".join(message.cc)
    email["Subject"] = message.subject
    email.set_content(message.body_text)
    for filename, content in pdfs.items():
        email.add_attachment(content, maintype="application", subtype="pdf", filename=filename)
    return email


async def send(settings: Settings, message: MailMessage, pdfs: dict[str, bytes]) -> None:
    assert settings.smtp_url is not None
    email = compose(settings, message, pdfs)
    try:
        await asyncio.to_thread(_send, settings.smtp_url.get_secret_value(), email)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{exc.__class__.__name__}: {exc}") from exc


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
