"""The usage model's rules, on in-memory eSIMs (the endpoint tests drive the same code through
the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esimhub.models import Sim, SimPackage
from esimhub.usage.lifecycle import MIB, SimState

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def esim(*packages: tuple[int, int, bool], policy: str = "first-usage") -> SimState:
    """An eSIM issued at T0 with packages of (MB, days, unlimited), bought in that order."""
    sim = Sim(
        iccid="8999000000000000001",
        activation_policy=policy,
        install_window_days=30,
        topup_grace_window_days=60,
        issued_at=T0,
    )
    queue = [
        SimPackage(
            id=number,
            package_id=f"p{number}",
            amount_mb=mb,
            days=days,
            is_unlimited=unlimited,
            status="NOT_ACTIVE",
            created_at=T0,
            used_bytes=0,
            used_voice_seconds=0,
            used_sms=0,
            alerts=[],
        )
        for number, (mb, days, unlimited) in enumerate(packages, start=1)
    ]
    return SimState(sim, queue)


def test_a_top_up_bought_while_active_waits_and_takes_the_overflow() -> None:
    e = esim((1024, 7, False), (2048, 30, False))
    e.attach(T0, None, covered=True)
    first, second = e.packages
    charged, alerts = e.consume(
        T0 + timedelta(hours=1), data_bytes=1100 * MIB, voice_seconds=0, sms=0
    )
    assert charged is first
    assert (first.status, first.finished_at) == ("FINISHED", T0 + timedelta(hours=1))
    assert second.status == "ACTIVE"
    assert second.activated_at == T0 + timedelta(hours=1)
    assert second.used_bytes == 76 * MIB
    assert [a.level for a in alerts] == ["75%", "90%"]


def test_unlimited_packages_never_finish_and_raise_no_data_alerts() -> None:
    e = esim((0, 7, True))
    e.attach(T0, None, covered=True)
    _, alerts = e.consume(T0, data_bytes=50_000 * MIB, voice_seconds=0, sms=0)
    assert e.report().status == "ACTIVE"
    assert alerts == []


def test_short_packages_get_no_expiry_alerts_they_could_never_use() -> None:
    e = esim((1024, 1, False))
    e.attach(T0, None, covered=True)
    assert e.settle(T0 + timedelta(hours=23)) == []
    assert e.settle(T0 + timedelta(days=1)) == []
    assert e.report().status == "EXPIRED"


def test_installation_policy_activates_on_install_not_on_attach() -> None:
    e = esim((1024, 7, False), policy="installation")
    e.attach(T0, None, covered=False)  # attaching installs; the policy needs only that
    e.settle(T0)
    assert e.report().status == "ACTIVE"

    waiting = esim((1024, 7, False))
    waiting.install(T0)
    waiting.settle(T0)
    assert waiting.report().status == "NOT_ACTIVE"


def test_due_at_names_the_next_time_driven_moment() -> None:
    e = esim((1024, 7, False))
    assert e.due_at() == T0 + timedelta(days=30)  # recycled if never installed
    e.attach(T0, None, covered=True)
    e.settle(T0)
    assert e.due_at() == T0 + timedelta(days=4)  # the "3days" alert
    e.settle(T0 + timedelta(days=4))
    assert e.due_at() == T0 + timedelta(days=6)  # the "1days" alert
    e.settle(T0 + timedelta(days=7))
    assert e.due_at() == T0 + timedelta(days=67)  # the grace window after expiry
    e.settle(T0 + timedelta(days=67))
    assert e.sim.recycled_at == T0 + timedelta(days=67)
    assert e.report().status == "RECYCLED"
    assert e.due_at() is None


def test_an_esim_without_packages_reports_unknown() -> None:
    assert esim().report().status == "UNKNOWN"
