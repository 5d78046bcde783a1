"""eSIM rules: issuing profiles (generated or from an imported pool), QR images, share access."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from esimhub.catalogue.cache import Snapshot
from esimhub.config import Settings
from esimhub.errors import BusinessError, EsimhubError, MessageError, NotFound, ValidationFailed
from esimhub.esims import profiles, repository
from esimhub.kit import pagination, qr
from esimhub.kit.clock import Clock
from esimhub.kit.signing import signature_matches
from esimhub.kit.statuses import PackageStatus, Supply
from esimhub.models import Brand, Operator, Order, Package, Sim, SimPackage
from esimhub.notifications import service as notifications
from esimhub.usage import service as usage

OUT_OF_STOCK = (
    "The requested eSIM package is invalid or it is currently out of stock. Please try again later."
)
# Wrong access codes tolerated per share page and client before it locks for that client, and
# for how long: 4-digit codes must not be guessable by trying them all.
SHARE_ATTEMPTS = 5
SHARE_LOCK = timedelta(minutes=15)
# Wrong codes from all clients together before the page locks for everyone (a distributed guess).
SHARE_CEILING = 50
INVENTORY_COLUMNS = ("iccid", "smdp_address", "matching_id", "confirmation_code", "imsi", "msisdn")


class OutOfStock(BusinessError):
    def __init__(self) -> None:
        super().__init__(34, OUT_OF_STOCK)


async def check_stock(session: AsyncSession, operator: Operator, quantity: int) -> str:
    """The operator's supply mode, read now (the catalogue snapshot may predate an import).

    Pool operators sell only what was imported: none left → 34, fewer than asked → 422.
    """
    supply = await repository.operator_supply(session, operator.id)
    if supply != Supply.POOL:
        return supply
    available = await repository.pool_available(session, operator.id)
    if available == 0:
        raise OutOfStock()
    if available < quantity:
        raise ValidationFailed(
            {"quantity": f"SIM quantity is not available. Available quantity: {available}."}
        )
    return supply


async def issue(
    session: AsyncSession,
    *,
    settings: Settings,
    order: Order,
    operator: Operator,
    supply: str,
    package: Package,
    brand: Brand | None,
    at: datetime,
) -> list[Sim]:
    """Hand ``order.quantity`` profiles to the order's partner, each with the package queued."""
    if supply == Supply.POOL:
        sims = list(await repository.claim_pool(session, operator.id, order.quantity))
        if len(sims) < order.quantity:  # taken by a concurrent order since check_stock
            raise OutOfStock()
    else:
        sims = [
            _generated(settings, order, operator, package, position)
            for position in range(1, order.quantity + 1)
        ]
        session.add_all(sims)
    for sim in sims:
        sim.partner_id = order.partner_id
        sim.order_id = order.id
        sim.issued_at = at
        sim.brand_id = brand.id if brand else None
        sim.share_id = profiles.share_id()
        sim.access_code = profiles.access_code()
        sim.apn = sim.apn or dict(operator.apn or {})
        sim.is_roaming = operator.is_roaming
        sim.activation_policy = operator.activation_policy
        sim.install_window_days = operator.install_window_days
        sim.topup_grace_window_days = operator.topup_grace_window_days
        if operator.install_window_days is not None:  # recycled if never installed by then
            sim.due_at = at + timedelta(days=operator.install_window_days)
    await session.flush()
    await repository.add_packages(session, [queued_row(sim, order, package, at) for sim in sims])
    return sims


def _generated(
    settings: Settings, order: Order, operator: Operator, package: Package, position: int
) -> Sim:
    iccid = profiles.generated_iccid(settings.iccid_prefix, order.id, position)
    serial = iccid[-11:-1]
    return Sim(
        iccid=iccid,
        operator_id=operator.id,
        source=Supply.GENERATED,
        smdp_address=settings.smdp_address,
        matching_id=profiles.matching_id(),
        confirmation_code=None,
        # MCC 001 / MNC 01 is the ITU test network: these profiles attach to no real network.
        imsis=[f"00101{serial}"],
        # +882 is the ITU code for international networks; only voice plans get a number.
        msisdn=f"88299{serial}" if package.voice_minutes else None,
    )


def queued_package(sim: Sim, order: Order, package: Package, at: datetime) -> SimPackage:
    return SimPackage(**queued_row(sim, order, package, at))


def queued_row(sim: Sim, order: Order, package: Package, at: datetime) -> dict[str, Any]:
    """The columns of ``package`` queued on ``sim`` by ``order`` (not yet active)."""
    return {
        "sim_id": sim.id,
        "order_id": order.id,
        "package_id": package.id,
        "type": package.type,
        "title": package.title,
        "data_label": package.data_label,
        "amount_mb": package.amount_mb,
        "days": package.days,
        "is_unlimited": package.is_unlimited,
        "voice_minutes": package.voice_minutes,
        "sms": package.sms,
        "short_info": package.short_info,
        "price_cents": order.price_cents,
        "net_price_cents": order.net_price_cents,
        "status": PackageStatus.NOT_ACTIVE,
        "created_at": at,
    }


# -- inventory --------------------------------------------------------------------------------


class InventoryImportError(EsimhubError):
    status_code = 422

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportResult:
    operator: Operator
    imported: int
    available: int


async def import_inventory(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    operator_id: int,
    csv_text: str,
) -> ImportResult:
    """Load SM-DP+ profiles for an operator, all or nothing; the operator then sells from them."""
    operator = await repository.operator(session, operator_id)
    if operator is None:
        raise InventoryImportError([f"operator {operator_id} does not exist"])
    reader = csv.DictReader(io.StringIO(csv_text))
    missing = [
        c for c in ("iccid", "smdp_address", "matching_id") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise InventoryImportError([f"missing column(s): {', '.join(missing)}"])
    problems: list[str] = []
    sims: list[Sim] = []
    seen: set[str] = set()
    now = clock.now()
    for line, row in enumerate(reader, start=2):
        values = {column: (row.get(column) or "").strip() for column in INVENTORY_COLUMNS}
        problem = _inventory_problem(values, settings.iccid_prefix, seen)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        seen.add(values["iccid"])
        sims.append(
            Sim(
                iccid=values["iccid"],
                operator_id=operator.id,
                source=Supply.POOL,
                smdp_address=values["smdp_address"],
                matching_id=values["matching_id"],
                confirmation_code=values["confirmation_code"] or None,
                imsis=[i for i in re.split(r"[;| ]+", values["imsi"]) if i] or None,
                msisdn=values["msisdn"] or None,
                apn={},
                imported_at=now,
            )
        )
    taken = await repository.existing_iccids(session, [sim.iccid for sim in sims])
    problems.extend(f"ICCID {iccid} is already known" for iccid in sorted(taken))
    if problems:
        raise InventoryImportError(problems)
    if not sims:
        raise InventoryImportError(["the file holds no profiles"])
    session.add_all(sims)
    operator.supply = Supply.POOL
    await session.flush()
    return ImportResult(operator, len(sims), await repository.pool_available(session, operator.id))


def _inventory_problem(values: dict[str, str], reserved_prefix: str, seen: set[str]) -> str | None:
    iccid = values["iccid"]
    if not profiles.is_valid_iccid(iccid):
        return f"ICCID {iccid!r} is not 19-20 digits starting 89 with a valid Luhn check digit"
    if iccid in seen:
        return f"ICCID {iccid} appears twice"
    if len(iccid) == profiles.GENERATED_ICCID_DIGITS and iccid.startswith(reserved_prefix):
        return f"ICCID {iccid} uses the prefix {reserved_prefix} reserved for generated profiles"
    if not re.fullmatch(r"[A-Za-z0-9.-]{3,255}", values["smdp_address"]):
        return f"SM-DP+ address {values['smdp_address']!r} is not a host name"
    if not re.fullmatch(r"[A-Za-z0-9-]{1,255}", values["matching_id"]):
        return f"matching ID {values['matching_id']!r} is not letters, digits and dashes"
    if values["imsi"] and not all(
        re.fullmatch(r"\d{6,15}", i) for i in re.split(r"[;| ]+", values["imsi"]) if i
    ):
        return f"IMSI {values['imsi']!r} is not 6-15 digits"
    if values["msisdn"] and not re.fullmatch(r"\+?\d{6,15}", values["msisdn"]):
        return f"MSISDN {values['msisdn']!r} is not a phone number"
    return None


async def pool_levels(session: AsyncSession) -> list[tuple[Operator, int]]:
    operators = await repository.pool_operators(session)
    return [(op, await repository.pool_available(session, op.id)) for op in operators]


async def find_operator(session: AsyncSession, ref: str) -> Operator | None:
    """An operator by id or (case-insensitive) title."""
    if ref.isdigit():
        return await repository.operator(session, int(ref))
    return await repository.operator_by_title(session, ref)


async def brands(session: AsyncSession, partner_id: int) -> list[Brand]:
    return list(await repository.brands_of(session, partner_id))


# -- QR images --------------------------------------------------------------------------------

QR_KINDS = {"png": "image/png", "svg": "image/svg+xml"}


class InvalidSignature(MessageError):
    def __init__(self) -> None:
        super().__init__("Invalid signature.", 403)


async def qr_image(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    sim_id: int,
    expires: int,
    signature: str,
    kind: str,
) -> bytes:
    """The QR image behind a signed ``qrcode_url``; rendered on first request, then stored."""
    expected = profiles.qr_signature(settings, sim_id, expires)
    if not signature_matches(expected, signature) or expires < clock.now().timestamp():
        raise InvalidSignature()
    sim = await repository.by_id(session, sim_id)
    if sim is None or sim.issued_at is None:
        raise InvalidSignature()
    return stored_qr(sim, kind)


def stored_qr(sim: Sim, kind: str) -> bytes:
    activation_code = qr.lpa_string(sim.smdp_address, sim.matching_id)
    if kind == "svg":
        if sim.qr_svg is None:
            sim.qr_svg = qr.render(activation_code, "svg").decode()
        return sim.qr_svg.encode()
    if sim.qr_png is None:
        sim.qr_png = qr.render(activation_code, "png")
    return sim.qr_png


# -- share pages ------------------------------------------------------------------------------


class ShareLocked(MessageError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many wrong access codes. Try again later.", 429)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


async def shared_sim(session: AsyncSession, share_id: str) -> Sim | None:
    sim = await repository.by_share_id(session, share_id)
    return sim if sim is not None and sim.issued_at is not None else None


async def open_share(
    session: AsyncSession, *, clock: Clock, sim: Sim, code: str, client: str
) -> bool:
    """Check an access code from ``client`` (the peer's address).

    Each client gets ``SHARE_ATTEMPTS`` checks before the page locks for it for ``SHARE_LOCK``,
    so a stranger holding the link locks out only themselves; past ``SHARE_CEILING`` wrong codes
    from anywhere, the page locks for everyone.
    """
    now = clock.now()
    if sim.share_locked_until is not None and sim.share_locked_until > now:
        raise ShareLocked(int((sim.share_locked_until - now).total_seconds()) + 1)
    taken = await repository.reserve_share_attempt(
        session, sim.id, client, now=now, limit=SHARE_ATTEMPTS
    )
    if taken is None:
        until = await repository.share_lock(session, sim.id, client) or now + SHARE_LOCK
        raise ShareLocked(max(1, int((until - now).total_seconds()) + 1))
    if sim.access_code is not None and signature_matches(sim.access_code, code.strip()):
        await repository.end_share_attempts(session, sim.id, client, lock_until=None)
        return True
    if taken >= SHARE_ATTEMPTS:
        await repository.end_share_attempts(session, sim.id, client, lock_until=now + SHARE_LOCK)
    ceiling = now + SHARE_LOCK if sim.share_failures + 1 >= SHARE_CEILING else None
    await repository.record_share_failure(session, sim.id, lock_until=ceiling)
    return False


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "brand"


class BrandExists(ValueError):
    """A partner's brand names are unique."""


async def create_brand(
    session: AsyncSession,
    partner_id: int,
    *,
    clock: Clock,
    name: str,
    logo_url: str | None = None,
    color: str | None = None,
) -> Brand:
    if not name.strip():
        raise ValueError("a brand needs a name")
    if color is not None and not re.fullmatch(r"#[0-9A-Fa-f]{6}", color):
        raise ValueError("the colour must look like #1a2b3c")
    if await repository.brand_by_name(session, partner_id, name) is not None:
        raise BrandExists(f"the brand {name!r} already exists")
    brand = Brand(
        partner_id=partner_id,
        name=name,
        slug=slugify(name),
        logo_url=logo_url,
        color=color,
        created_at=clock.now(),
    )
    session.add(brand)
    await session.flush()
    return brand


async def owned_sim(session: AsyncSession, partner_id: int, iccid: str) -> Sim:
    """One of the partner's eSIMs; another partner's ICCID is as unknown as a made-up one."""
    sim = await repository.by_iccid(session, partner_id, iccid)
    if sim is None:
        raise NotFound()
    return sim


async def change_brand(
    session: AsyncSession, partner_id: int, *, iccid: str, name: str | None
) -> Brand | None:
    sim = await owned_sim(session, partner_id, iccid)
    brand = await brand_named(session, partner_id, name) if name is not None else None
    sim.brand_id = brand.id if brand else None
    return brand


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimView:
    """An eSIM with what its wire shape needs: its order (``simable``) and its brand."""

    sim: Sim
    order: Order | None
    brand: Brand | None


async def _views(session: AsyncSession, sims: Sequence[Sim]) -> list[SimView]:
    orders = await repository.orders_by_id(session, [s.order_id for s in sims if s.order_id])
    brands = await repository.brands_by_id(session, [s.brand_id for s in sims if s.brand_id])
    return [
        SimView(sim, orders.get(sim.order_id or 0), brands.get(sim.brand_id or 0)) for sim in sims
    ]


async def sims_page(
    session: AsyncSession,
    partner_id: int,
    *,
    filters: repository.SimFilters,
    page: pagination.PageRequest,
    default_limit: int,
) -> tuple[pagination.PageWindow, list[SimView]]:
    """One page of the partner's eSIMs, newest first."""
    total = await repository.count_sims(session, partner_id, filters)
    window = pagination.window(total, page, default_limit)
    sims = await repository.list_sims(
        session, partner_id, filters, offset=window.start, limit=window.stop - window.start
    )
    return window, await _views(session, sims)


async def sim_view(session: AsyncSession, partner_id: int, iccid: str) -> SimView:
    return (await _views(session, [await owned_sim(session, partner_id, iccid)]))[0]


# -- top-ups and sharing ----------------------------------------------------------------------


async def available_topups(
    session: AsyncSession, partner_id: int, iccid: str, *, catalogue: Snapshot, now: datetime
) -> list[Package]:
    """The top-up packages an eSIM can take: its operator's, if the operator allows recharging."""
    sim = await owned_sim(session, partner_id, iccid)
    await usage.refuse_if_recycled(session, sim, now)
    operator = catalogue.operators.get(sim.operator_id)
    if operator is None or not operator.rechargeability:
        return []
    return catalogue.topups_of(sim.operator_id)


async def latest_package_id(session: AsyncSession, partner_id: int, iccid: str) -> str | None:
    """The package the partner's eSIM got last (its newest top-up, or the original)."""
    sim = await repository.by_iccid(session, partner_id, iccid)
    packages = await repository.packages_of(session, sim.id) if sim else []
    return packages[-1].package_id if packages else None


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
) -> None:
    """The eSIMs Cloud email: a share link per eSIM (``link``) and/or its QR code as PDF (``pdf``)."""
    sender = brand.name if brand else "Your eSIM provider"
    lines = ["Hello,", "", f"{sender} sent you {len(sims)} eSIM(s): {package_title}.", ""]
    for number, sim in enumerate(sims, start=1):
        lines.append(f"eSIM {number} (ICCID {sim.iccid})")
        if "link" in options:
            lines.append(f"  Open: {base_url}{profiles.share_path(sim, brand)}")
            lines.append(f"  Access code: {sim.access_code}")
        lines.append(f"  Manual installation: SM-DP+ {sim.smdp_address}, code {sim.matching_id}")
        lines.append(f"  Activation code: {qr.lpa_string(sim.smdp_address, sim.matching_id)}")
        lines.append("")
    if "pdf" in options:
        lines.append("The QR code of each eSIM is attached as a PDF.")
    attachments = [
        {"filename": f"esim-{sim.iccid}.pdf", "content_type": "application/pdf", "sim_id": sim.id}
        for sim in sims
        if "pdf" in options
    ]
    notifications.queue_mail(
        session,
        partner_id=partner_id,
        to=to,
        cc=cc,
        subject=f"Your eSIM from {sender}",
        text="\n".join(lines),
        attachments=attachments,
        at=at,
    )


async def find_sim(session: AsyncSession, partner_id: int, iccid: str) -> Sim | None:
    return await repository.by_iccid(session, partner_id, iccid)


async def brand_named(session: AsyncSession, partner_id: int, name: str) -> Brand:
    """The partner's brand called ``name`` (422 when it has none)."""
    brand = await repository.brand_by_name(session, partner_id, name)
    if brand is None:
        raise ValidationFailed({"brand_settings_name": "Brand settings name doesn't exist."})
    return brand


async def sims_of_orders(session: AsyncSession, order_ids: Sequence[int]) -> Sequence[Sim]:
    return await repository.sims_of_orders(session, order_ids)


async def brand_of(session: AsyncSession, sim: Sim) -> Brand | None:
    if sim.brand_id is None:
        return None
    return (await repository.brands_by_id(session, [sim.brand_id])).get(sim.brand_id)


# -- what other areas read about eSIMs (refunds) -----------------------------------------------


async def iccids_owned(session: AsyncSession, partner_id: int, iccids: Sequence[str]) -> set[str]:
    return await repository.iccids_owned(session, partner_id, iccids)


async def sims_by_iccids(
    session: AsyncSession, partner_id: int, iccids: Sequence[str]
) -> Sequence[Sim]:
    return await repository.of_partner_by_iccids(session, partner_id, iccids)


async def orders_of(session: AsyncSession, sims: Sequence[Sim]) -> dict[int, Order]:
    """The orders that sold ``sims``, by order id."""
    return await repository.orders_by_id(session, [s.order_id for s in sims if s.order_id])


async def packages_of(session: AsyncSession, sim_id: int) -> Sequence[SimPackage]:
    return await repository.packages_of(session, sim_id)
