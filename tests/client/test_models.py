"""The client's parts that need no server: models reading Airalo's type drift, errors by kind,
webhook signatures, and an install without the server."""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import json
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from esimhub.client import FileStore, MemoryStore, errors, webhooks
from esimhub.client.models import Order, Sim, Usage

ORDER_LIST_ITEM = {  # reference §3.8: strings where the submit-order answer has numbers
    "id": 9666,
    "code": "20230227-009666",
    "validity": "7",
    "price": "9.50",
    "quantity": 1,
    "created_at": "2023-02-27 14:09:55",
    "installation_guides": [],
    "brand_settings_name": "N/A",
    "sims": [],
    "shiny_new_field": {"added": "later"},
}


def test_models_read_the_same_value_however_it_is_spelt() -> None:
    listed = Order.model_validate(ORDER_LIST_ITEM)
    submitted = Order.model_validate({**ORDER_LIST_ITEM, "validity": 7, "price": 9.5})
    assert listed.price == submitted.price == Decimal("9.50")
    assert listed.validity == submitted.validity == 7
    assert listed.brand_settings_name is None  # "N/A"
    assert listed.installation_guides is None  # PHP's empty map
    assert listed.created_at is not None
    assert listed.created_at.isoformat() == "2023-02-27T14:09:55"
    assert listed.model_extra == {"shiny_new_field": {"added": "later"}}

    sim = Sim.model_validate({"iccid": 8944465400003573253, "sharing": {"access_code": 8319}})
    assert sim.iccid == "8944465400003573253"
    assert sim.sharing is not None
    assert sim.sharing.access_code == "8319"

    usage = Usage.model_validate(
        {
            "remaining": "767",
            "total": 2048,
            "expired_at": None,
            "is_unlimited": "",
            "status": "ACTIVE",
            "fetched_at": "2026-12-02T10:00:00Z",
        }
    )
    assert (usage.remaining, usage.total, usage.is_unlimited) == (767, 2048, None)


@pytest.mark.parametrize(
    ("status", "body", "kind", "detail"),
    [
        (
            401,
            {"data": [], "meta": {"message": "Client authentication failed"}},
            errors.AuthenticationError,
            None,
        ),
        (
            401,
            {"data": [], "meta": {"message": "This action is unauthorized."}},
            errors.PermissionDeniedError,
            None,
        ),
        (
            403,
            {"code": 89, "reason": "Your IP address is not permitted"},
            errors.PermissionDeniedError,
            89,
        ),
        (
            404,
            {"data": [], "meta": {"message": "messages.resource_not_found"}},
            errors.NotFoundError,
            None,
        ),
        (
            409,
            {"data": [], "meta": {"message": "This Idempotency-Key was already used"}},
            errors.ConflictError,
            None,
        ),
        (
            422,
            {
                "data": {"quantity": "The quantity must be at least 1."},
                "meta": {"message": "the parameter is invalid"},
            },
            errors.ValidationError,
            {"quantity": "The quantity must be at least 1."},
        ),
        (
            422,
            {"data": [], "meta": {"message": "The iccids field is required."}},
            errors.ValidationError,
            {},
        ),
        (
            422,
            {"code": 34, "reason": "The requested eSIM package is invalid"},
            errors.BusinessError,
            34,
        ),
        (
            422,
            {"reason": "User is not opted in and no webhook URL provided."},
            errors.BusinessError,
            None,
        ),
        (400, {"error": "User is not opted in"}, errors.BusinessError, None),
        (429, {"message": "Too Many Attempts."}, errors.RateLimitError, 42.0),
        (503, "Service Unavailable", errors.ServerError, None),
    ],
)
def test_every_error_body_has_its_kind(
    status: int, body: object, kind: type[errors.APIError], detail: object
) -> None:
    error = errors.from_response(status, body, 42.0)
    assert type(error) is kind
    assert error.status_code == status
    assert error.body == body
    if isinstance(error, errors.ValidationError):
        assert error.errors == detail
    elif isinstance(error, errors.BusinessError | errors.PermissionDeniedError):
        assert error.code == detail
    elif isinstance(error, errors.RateLimitError):
        assert error.retry_after == detail


def test_webhook_signatures_are_checked_on_the_raw_bytes() -> None:
    secret = "partner-secret"
    body = json.dumps(
        {
            "level": "90%",
            "iccid": "8910",
            "package_name": "Ünïcødé 東京/7 days",
            "remaining_percentage": 10,
        },
        ensure_ascii=False,
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    assert webhooks.verify(body, signature, secret)
    assert webhooks.verify(body, signature.upper(), secret)
    assert not webhooks.verify(body + b" ", signature, secret)
    assert not webhooks.verify(body, signature, "other-secret")
    assert not webhooks.verify(body, None, secret)
    assert not webhooks.verify(body, "ünïcode", secret)
    event = webhooks.parse(body)
    assert isinstance(event, webhooks.LowDataEvent)
    assert event.package_name == "Ünïcødé 東京/7 days"
    with pytest.raises(webhooks.UnknownEventError):
        webhooks.parse(b'{"hello": "world"}')


SERVER_ONLY = [
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "asyncpg",
    "aiosqlite",
    "typer",
    "rich",
    "redis",
    "jinja2",
    "segno",
    "pydantic_settings",
    "prometheus_client",
    "jwt",
]

WITHOUT_SERVER = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def test_the_client_imports_and_runs_without_the_server_installed() -> None:
    script = WITHOUT_SERVER + (
        "from esimhub.client import AsyncClient, Client, FileStore, webhooks\n"
        "client = Client(base_url='https://partners-api.airalo.com/v2/', client_id='i',"
        " client_secret='s')\n"
        "assert client.core.prefix == 'https://partners-api.airalo.com/v2/'\n"
        "assert client.core.retry_writes is False\n"
        "client.close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'esimhub'))\n"
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.replace("'", '"'))
    assert all(m == "esimhub" or m.startswith("esimhub.client") for m in loaded)

    # and what `pip install 'esimhub[client]'` pulls is exactly what the client imports
    requirements = importlib.metadata.requires("esimhub") or []
    unconditional = sorted(r.split(">")[0] for r in requirements if "extra ==" not in r)
    assert unconditional == ["httpx", "pydantic"]


def test_the_command_says_what_to_install_when_the_server_is_missing() -> None:
    script = WITHOUT_SERVER + "from esimhub.entry import main\nmain()\n"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert "pip install 'esimhub[server]'" in done.stderr


def test_stores_expire_entries_and_keep_files_private(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "store")
    files.set("token:https://a:id", b'{"access_token": "t"}', ttl=60)
    files.set("gone", b"{}", ttl=-1)
    assert files.get("token:https://a:id") == b'{"access_token": "t"}'
    assert files.get("gone") is None
    assert files.get("never") is None
    assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o700
    written = list((tmp_path / "store").iterdir())
    assert len(written) == 2
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    assert all(json.loads(p.read_text())["expires"] for p in written)  # JSON, never pickle
    files.delete("token:https://a:id")
    assert files.get("token:https://a:id") is None

    memory = MemoryStore(max_entries=2)
    for key in ("a", "b", "c"):
        memory.set(key, key.encode(), ttl=60)
    assert (memory.get("a"), memory.get("b"), memory.get("c")) == (None, b"b", b"c")
    memory.set("d", b"d", ttl=-1)
    assert memory.get("d") is None
