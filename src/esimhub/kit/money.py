"""Money: integer minor units (cents) in storage, JSON numbers or strings on the wire."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS = 100


def to_cents(amount: str | float | int | Decimal) -> int:
    """Parse a USD amount (``"12.5"``, ``4``, ``1.6``) into cents, rounding half up."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    return int((value * CENTS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def exact_cents(amount: str) -> int:
    """Parse an amount an operator typed (``"12.5"``, ``"-3"``) into cents, refusing what a cent
    cannot hold exactly (``"1.234"``) rather than rounding it away."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    cents = value * CENTS
    if cents != cents.to_integral_value():
        raise ValueError(f"more than two decimals: {amount!r}")
    return int(cents)


def wire_number(cents: int) -> int | float:
    """Airalo renders prices as JSON numbers, integral when whole: ``4``, ``4.5``, ``1.65``."""
    if cents % CENTS == 0:
        return cents // CENTS
    return float(Decimal(cents) / CENTS)


def wire_string(cents: int) -> str:
    """Order lists render prices as strings with two decimals: ``"9.50"``."""
    return f"{Decimal(cents) / CENTS:.2f}"


def convert(cents: int, rate: Decimal, *, integral: bool) -> int | float:
    """USD cents to another currency at ``rate``; integral currencies (JPY, KRW, ...) round to units."""
    value = Decimal(cents) / CENTS * rate
    if integral:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def discount_cents(price_cents: int, percentage: int) -> int:
    """``percentage`` of a price, rounded half up to a cent."""
    exact = Decimal(price_cents) * percentage / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
