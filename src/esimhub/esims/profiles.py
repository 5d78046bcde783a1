"""eSIM profile identifiers and links: ICCIDs with their Luhn check digit, matching ids, share
ids, signed QR URLs and share paths."""

from __future__ import annotations

import secrets
import string

from esimhub.config import Settings
from esimhub.kit.signing import url_signature
from esimhub.models import Brand, Sim

# Generated ICCIDs are 19 digits (18 + the check digit), the length most issuers use.
GENERATED_ICCID_DIGITS = 19
# At most 50 eSIMs per order (the order quantity limit): two digits for the position.
POSITION_DIGITS = 2

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_SHARE_ALPHABET = string.ascii_lowercase + string.digits


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check (ITU-T E.118 ICCIDs use it)."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_iccid(iccid: str) -> bool:
    """19 or 20 digits, starting 89, with a correct Luhn check digit."""
    if not (iccid.isdigit() and len(iccid) in {19, 20} and iccid.startswith("89")):
        return False
    return luhn_check_digit(iccid[:-1]) == iccid[-1]


def generated_iccid(prefix: str, order_id: int, position: int) -> str:
    """A unique ICCID for the ``position``-th eSIM of order ``order_id``: prefix, order, position.

    Order ids are unique and an order holds at most 50 eSIMs, so no two generated profiles share an
    ICCID without a lookup or a retry.
    """
    serial_digits = GENERATED_ICCID_DIGITS - 1 - len(prefix) - POSITION_DIGITS
    if order_id >= 10**serial_digits:
        raise ValueError(f"order id {order_id} does not fit ICCID prefix {prefix}")
    payload = f"{prefix}{order_id:0{serial_digits}d}{position:0{POSITION_DIGITS}d}"
    return payload + luhn_check_digit(payload)


def matching_id() -> str:
    """An activation code matching ID in the common ``XXXXX-XXXXX-XXXXX-XXXXX`` shape."""
    return "-".join("".join(secrets.choice(_UPPER_ALNUM) for _ in range(5)) for _ in range(4))


def share_id() -> str:
    """The id in an eSIM's share link, shaped like eSIMs Cloud's (``he4qy-kqc8u68t``)."""
    head = "".join(secrets.choice(_SHARE_ALPHABET) for _ in range(5))
    tail = "".join(secrets.choice(_SHARE_ALPHABET) for _ in range(8))
    return f"{head}-{tail}"


def access_code() -> str:
    """The 4-digit code an end user types to open a share page."""
    return f"{secrets.randbelow(10_000):04d}"


def voucher_code() -> str:
    """An 8-character uppercase voucher code (``BIXLAAAA``)."""
    return "".join(secrets.choice(_UPPER_ALNUM) for _ in range(8))


def apple_installation_url(lpa: str) -> str:
    """iOS 17.4+ universal link that installs the eSIM in one tap."""
    return f"https://esimsetup.apple.com/esim_qrcode_provisioning?carddata={lpa}"


def qr_expires(settings: Settings, sim: Sim) -> int:
    assert sim.issued_at is not None, "only issued eSIMs have QR links"
    return int(sim.issued_at.timestamp()) + settings.qr_url_lifetime_seconds


def qr_signature(settings: Settings, sim_id: int, expires: int) -> str:
    return url_signature(settings.secret_key.get_secret_value(), "qr", sim_id, expires)


def qr_url(settings: Settings, base_url: str, sim: Sim) -> str:
    expires = qr_expires(settings, sim)
    signature = qr_signature(settings, sim.id, expires)
    return f"{base_url}/qr?expires={expires}&id={sim.id}&signature={signature}"


def share_path(sim: Sim, brand: Brand | None) -> str:
    return f"/s/{brand.slug}/{sim.share_id}" if brand else f"/s/{sim.share_id}"
