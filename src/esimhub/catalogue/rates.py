"""Currencies of the converted price tables, and the demo exchange rates (units per 1 USD)."""

from __future__ import annotations

from decimal import Decimal

# The set GET /packages answers with in min_price (reference §3.2); one set is used everywhere.
CURRENCIES = [
    "AUD",
    "BRL",
    "GBP",
    "CAD",
    "AED",
    "EUR",
    "INR",
    "IDR",
    "ILS",
    "JPY",
    "KWD",
    "MYR",
    "MXN",
    "SGD",
    "ZAR",
    "KRW",
    "USD",
    "VND",
]
# Rendered as whole numbers, as Airalo does.
INTEGRAL = frozenset({"IDR", "JPY", "KRW", "VND"})

DEMO_RATES = {
    "USD": Decimal("1"),
    "AUD": Decimal("1.5321"),
    "BRL": Decimal("5.4127"),
    "GBP": Decimal("0.7893"),
    "CAD": Decimal("1.3712"),
    "AED": Decimal("3.6725"),
    "EUR": Decimal("0.9214"),
    "INR": Decimal("83.4519"),
    "IDR": Decimal("16203.5"),
    "ILS": Decimal("3.7102"),
    "JPY": Decimal("151.27"),
    "KWD": Decimal("0.30712"),
    "MYR": Decimal("4.7015"),
    "MXN": Decimal("18.3376"),
    "SGD": Decimal("1.3489"),
    "ZAR": Decimal("18.6043"),
    "KRW": Decimal("1381.45"),
    "VND": Decimal("25412"),
}
