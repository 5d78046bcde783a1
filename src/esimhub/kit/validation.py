"""Field rules for request bodies, with Laravel's messages (the ones Airalo answers with).

Bodies arrive as JSON, multipart or form-urlencoded (``kit.forms.read_body``), so a number may be
``1`` or ``"1"`` and a boolean ``true``, ``"1"`` or ``"true"``; every rule accepts what such a
client sends and records a message under the Laravel key on anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from email_validator import EmailNotValidError, validate_email

from esimhub.errors import ValidationFailed


def words(field: str) -> str:
    """``package_id`` → ``package id``, as Laravel names a field in its messages."""
    return field.replace("_", " ")


def nul_message(field: str) -> str:
    # PostgreSQL cannot store U+0000 in text and no field has a use for it: refused on the way in,
    # the same on every backend
    return f"The {words(field)} must not contain NUL characters."


class Fields:
    """Reads a request body field by field, collecting every error before raising."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.errors: dict[str, str] = {}

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, message)

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)

    def _given(self, name: str, *, required: bool, label: str) -> Any:
        """The field's value; ``None`` when absent or empty (an error if it was required)."""
        value = self.body.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, f"The {label} field is required.")
            return None
        return value

    def string(
        self, name: str, *, required: bool = False, max_length: int = 255, label: str | None = None
    ) -> str | None:
        label = label or words(name)
        value = self._given(name, required=required, label=label)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(name, f"The {label} must be a string.")
            return None
        text = str(value)
        if "\x00" in text:
            self.fail(name, nul_message(name))
            return None
        if len(text) > max_length:
            self.fail(name, f"The {label} may not be greater than {max_length} characters.")
            return None
        return text

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
        label: str | None = None,
    ) -> int | None:
        label = label or words(name)
        value = self._given(name, required=required, label=label)
        if value is None:
            return None
        number = as_integer(value)
        if number is None:
            self.fail(name, f"The {label} must be an integer.")
            return None
        if minimum is not None and number < minimum:
            self.fail(name, f"The {label} must be at least {minimum}.")
            return None
        if maximum is not None and number > maximum:
            self.fail(name, f"The {label} may not be greater than {maximum}.")
            return None
        return number

    def datetime(self, name: str, *, required: bool = False) -> datetime | None:
        """ISO 8601 (``2026-11-24T10:00:00Z``) or ``Y-m-d H:i:s``; no zone means UTC."""
        text = self.string(name, required=required)
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(name, f"The {words(name)} is not a valid date.")
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._given(name, required=False, label=name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"1", "true"}:
            return True
        if str(value).lower() in {"0", "false"}:
            return False
        self.fail(name, f"The {words(name)} field must be true or false.")
        return default

    def email(self, name: str, *, required: bool = False) -> str | None:
        text = self.string(name, required=required)
        if text is not None and not is_email(text):
            self.fail(name, f"The {words(name)} must be a valid email address.")
            return None
        return text

    def webhook_url(self, name: str = "webhook_url", *, required: bool = False) -> str | None:
        """An http(s) URL we can deliver to: bounded, no spaces or control characters."""
        raw = self.body.get(name)
        if isinstance(raw, str) and "\x00" in raw:  # a control character: not a URL
            self.fail(name, WEBHOOK_URL_INVALID)
            return None
        text = self.string(name, required=required, max_length=MAX_URL_LENGTH)
        if text is not None and not is_webhook_url(text):
            self.fail(name, WEBHOOK_URL_INVALID)
            return None
        return text

    def string_list(self, name: str, *, max_items: int | None = None) -> list[str] | None:
        """A list field (``name[]=a&name[]=b`` in forms, an array in JSON); a lone string counts."""
        value = self._given(name, required=False, label=name)
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str | int) and not isinstance(item, bool) for item in items):
            self.fail(name, f"The {words(name)} must be an array of strings.")
            return None
        if any("\x00" in str(item) for item in items):
            self.fail(name, nul_message(name))
            return None
        if max_items is not None and len(items) > max_items:
            self.fail(name, f"The {words(name)} may not have more than {max_items} items.")
            return None
        return [str(item) for item in items]


# Integers are stored in 64-bit columns; anything past them is saturated (a quantity of 10**30
# is "may not be greater than 50", not an overflow in the database driver).
INT64_MAX = 2**63 - 1
# ASCII digits only: "²" and "١٢" are digits to ``str.isdigit`` but not to ``int`` or a client.
_INTEGER = re.compile(r"-?[0-9]+")


def integer_text(text: str) -> int | None:
    """An integer written in ASCII digits, of any length, saturated to the 64-bit range."""
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        return None
    digits = text.lstrip("-").lstrip("0") or "0"
    # 19 digits fit ``int`` without meeting its 4,300-digit conversion limit
    value = INT64_MAX if len(digits) > 19 else min(int(digits), INT64_MAX)
    return -value if text.startswith("-") else value


def as_integer(value: Any) -> int | None:
    """A body's integer as JSON or a form sends it (``1``, ``1.0``, ``"1"``), 64-bit saturated."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():  # also NaN and the infinities
            return None
        value = int(value)
    if isinstance(value, int):
        return max(-INT64_MAX, min(value, INT64_MAX))
    if isinstance(value, str):
        return integer_text(value)
    return None


MAX_URL_LENGTH = 2000
WEBHOOK_URL_INVALID = "The webhook url must be a valid http or https URL."


def is_webhook_url(text: str) -> bool:
    """http or https, a host, at most ``MAX_URL_LENGTH`` characters, and nothing an HTTP client
    would refuse (spaces, control characters, a broken host)."""
    if len(text) > MAX_URL_LENGTH or any(c.isspace() or not c.isprintable() for c in text):
        return False
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError):
        return False
    return url.scheme in {"http", "https"} and bool(url.host)


def is_email(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
