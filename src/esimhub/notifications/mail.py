"""Speaking SMTP (asynchronously, aiosmtplib): a stored message and the QR PDFs it attaches,
sent through ESIMHUB_SMTP_URL."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

import aiosmtplib

from esimhub.config import Settings
from esimhub.kit import qr
from esimhub.models import MailMessage

TIMEOUT_SECONDS = 30


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


async def send(url: str, email: EmailMessage) -> None:
    """Send through ``smtp://``, ``smtp+starttls://`` or ``smtps://`` (user and password in the
    URL); raises ``MailError``."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    headers = [str(email["To"]), *(str(cc) for cc in email.get_all("Cc") or [])]
    try:
        await aiosmtplib.send(
            email,
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if secure else 25),
            use_tls=secure,
            start_tls=parts.scheme == "smtp+starttls",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password or "") if parts.username else None,
            recipients=[address for _, address in getaddresses(headers) if address],
            timeout=TIMEOUT_SECONDS,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailError(f"{exc.__class__.__name__}: {exc}") from exc
