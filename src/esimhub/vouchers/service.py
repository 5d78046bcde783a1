"""Vouchers: eSIM codes (one per unit of a package) and airmoney credit codes, paid when bought."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.auth.directory import PartnerPrincipal
from esimhub.catalogue.cache import Snapshot
from esimhub.errors import ValidationFailed
from esimhub.esims import profiles
from esimhub.kit.clock import Clock
from esimhub.ledger import service as ledger
from esimhub.models import Package, Voucher
from esimhub.orders import service as orders
from esimhub.vouchers import repository

CODE_TAKEN = {"voucher_code": "The voucher code has already been taken."}


@dataclass(frozen=True)
class VoucherLine:
    package_id: str
    quantity: int
    booking_reference: str | None


@dataclass(frozen=True)
class IssuedVouchers:
    line: VoucherLine
    codes: list[str]


async def _fresh_codes(session: AsyncSession, count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        batch = {profiles.voucher_code() for _ in range(count - len(codes))} - set(codes)
        codes.extend(sorted(batch - await repository.voucher_codes_taken(session, sorted(batch))))
    return codes


async def buy_esim_vouchers(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    lines: Sequence[VoucherLine],
    catalogue: Snapshot,
    clock: Clock,
) -> list[IssuedVouchers]:
    """Codes an end user redeems for an eSIM of the package, one per unit, paid now."""
    account = await ledger.lock(session, partner.id)
    errors: dict[str, str] = {}
    packages: list[Package] = []
    for index, line in enumerate(lines):
        package = catalogue.packages.get(line.package_id)
        if package is None or package.type != "sim":
            key = f"vouchers.{index}.package_id"
            errors[key] = f"The selected {key} is invalid"
        else:
            packages.append(package)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    units = [orders.unit_price(partner, package).paid_cents for package in packages]
    total = sum(unit * line.quantity for unit, line in zip(units, lines, strict=True))
    paid = await ledger.debit(
        session, account, amount_cents=total, kind="voucher", reference="esim vouchers", at=now
    )
    issued: list[IssuedVouchers] = []
    for package, unit, line in zip(packages, units, lines, strict=True):
        codes = await _fresh_codes(session, line.quantity)
        session.add_all(
            Voucher(
                partner_id=partner.id,
                kind="esim",
                code=code,
                package_id=package.id,
                booking_reference=line.booking_reference,
                is_paid=True,
                debited_cents=unit if paid else 0,
                created_at=now,
            )
            for code in codes
        )
        issued.append(IssuedVouchers(line, codes))
    await session.flush()
    return issued


async def buy_airmoney_vouchers(
    session: AsyncSession,
    partner: PartnerPrincipal,
    *,
    amount: int,
    usage_limit: int,
    quantity: int,
    is_paid: bool,
    voucher_code: str | None,
    clock: Clock,
) -> list[Voucher]:
    """Credit vouchers: each code can be redeemed ``usage_limit`` times for ``amount`` USD.

    The partner is debited the most its codes can ever release (amount * uses * codes), so a
    redeemed voucher never spends money the partner did not have.
    """
    account = await ledger.lock(session, partner.id)
    if voucher_code is not None and await repository.voucher_codes_taken(session, [voucher_code]):
        raise ValidationFailed(CODE_TAKEN)
    now = clock.now()
    per_voucher = amount * 100 * usage_limit
    paid = await ledger.debit(
        session,
        account,
        amount_cents=per_voucher * quantity,
        kind="voucher",
        reference="airmoney vouchers",
        at=now,
    )
    codes = [voucher_code] if voucher_code else await _fresh_codes(session, quantity)
    vouchers = [
        Voucher(
            partner_id=partner.id,
            kind="airmoney",
            code=code,
            amount_cents=amount * 100,
            usage_limit=usage_limit,
            is_paid=is_paid,
            debited_cents=per_voucher if paid else 0,
            created_at=now,
        )
        for code in codes
    ]
    session.add_all(vouchers)
    try:
        await session.flush()
    except IntegrityError:  # another partner took the code since we looked (codes are unique)
        raise ValidationFailed(CODE_TAKEN) from None
    return vouchers
