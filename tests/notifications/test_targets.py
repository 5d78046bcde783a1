"""Which addresses production delivers webhooks to: public ones only, whatever they are wrapped in."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from esimhub.config import Settings
from esimhub.notifications import service, targets
from tests.fixtures.receiver import receiver

PRODUCTION = Settings(env="production", secret_key="k" * 40)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of loopback
        "64:ff9b:1::a00:1",  # local-use NAT64 of 10.0.0.1
        "2002:7f00:1::",  # 6to4 of loopback
        "2002:a9fe:a9fe::",  # 6to4 of the metadata address
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo with a loopback client
    ],
)
def test_private_addresses_are_not_public_in_any_wrapping(address: str) -> None:
    assert targets.is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["1.1.1.1", "2606:4700::1111", "64:ff9b::101:101"])
def test_public_addresses_are(address: str) -> None:
    assert targets.is_public(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::7f00:1]:8000/hook", "http://[2002:7f00:1::]/hook", "http://[::1]/x"]
)
async def test_production_refuses_wrapped_loopback_urls(url: str) -> None:
    with pytest.raises(targets.TargetRefused, match="private address"):
        await targets.check(url, PRODUCTION)


async def test_a_target_is_resolved_once_and_pinned_to_the_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebinding name answers a public address first and loopback afterwards: the check and
    the connection both use the first answer, because there is only one lookup."""
    answers = [[ipaddress.ip_address("93.184.216.34")], [ipaddress.ip_address("127.0.0.1")]]
    lookups: list[str] = []

    async def rebinding(host: str) -> list[targets.IpAddress]:
        lookups.append(host)
        return answers[len(lookups) - 1]

    monkeypatch.setattr(targets, "resolve", rebinding)
    target = await targets.pin("https://hooks.example.test:8443/in?x=1", PRODUCTION)
    assert lookups == ["hooks.example.test"]
    assert target.url == "https://93.184.216.34:8443/in?x=1"
    assert target.request_options() == {
        "headers": {"Host": "hooks.example.test:8443"},
        "extensions": {"sni_hostname": "hooks.example.test"},
    }


async def test_outside_production_targets_are_not_pinned() -> None:
    target = await targets.pin("http://127.0.0.1:9/hook", Settings())
    assert target == targets.Target("http://127.0.0.1:9/hook")


async def test_a_pinned_delivery_reaches_the_checked_address_with_its_host_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real POST through the pinned connection: to the checked address, named as given."""
    with receiver() as hook:
        port = httpx.URL(hook.url).port

        async def to_loopback(host: str) -> list[targets.IpAddress]:
            return [ipaddress.ip_address("127.0.0.1")]

        monkeypatch.setattr(targets, "resolve", to_loopback)
        monkeypatch.setattr(targets, "is_public", lambda address: True)  # this one test only
        async with httpx.AsyncClient() as client:
            outcome = await service.post(
                client,
                f"http://hooks.example.test:{port}/in",
                b"{}",
                {"Content-Type": "application/json"},
                PRODUCTION,
            )
        assert outcome.ok, outcome
        (post,) = hook.posts()
        assert post.headers["host"] == f"hooks.example.test:{port}"
