"""Which addresses production delivers webhooks to: public ones only, whatever they are wrapped in."""

from __future__ import annotations

import ipaddress

import pytest

from esimhub.config import Settings
from esimhub.notifications import targets

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
