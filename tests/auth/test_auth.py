"""POST /token in every encoding, its error bodies, bearer tokens and the IP allowlist."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from esimhub.auth import service as auth
from esimhub.cli.common import transaction
from esimhub.config import Settings
from esimhub.kit.clock import FrozenClock
from esimhub.models import Partner
from tests.fixtures.clients import ClientFactory, get_token
from tests.fixtures.database import statements_run
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.sandbox import Sandbox

CREDENTIAL_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


async def test_token_form_urlencoded_as_the_python_sdk_sends_it(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory, settings: Settings
) -> None:
    credentials = await make_partner()
    response = await app_client.post(
        "/v2/token", data=credentials.form(), headers={"airalo-signature": "ab" * 64}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"message": "success"}
    assert body["data"]["token_type"] == "Bearer"
    assert body["data"]["expires_in"] == 31_622_400
    token = body["data"]["access_token"]
    assert token.count(".") == 2  # JWT-shaped, so SDK token caches do not mistake it for base64


async def test_token_json_and_multipart(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner()
    as_json = await app_client.post("/v2/token", json=credentials.form())
    as_multipart = await app_client.post(
        "/v2/token", files={k: (None, v) for k, v in credentials.form().items()}
    )
    assert as_json.status_code == 200
    assert as_multipart.status_code == 200
    assert as_json.json()["data"]["access_token"] != as_multipart.json()["data"]["access_token"]


async def test_token_without_grant_type_is_client_credentials(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    """As live Airalo: clients that never send grant_type still get a token."""
    credentials = await make_partner()
    form = {k: v for k, v in credentials.form().items() if k != "grant_type"}
    response = await app_client.post("/v2/token", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["token_type"] == "Bearer"
    empty = await app_client.post("/v2/token", data={**form, "grant_type": ""})
    assert empty.status_code == 200


async def test_v1_token(app_client: httpx.AsyncClient, make_partner: PartnerFactory) -> None:
    credentials = await make_partner()
    response = await app_client.post("/v1/token", data=credentials.form())
    assert response.status_code == 200
    assert response.json()["data"]["token_type"] == "Bearer"


async def test_unknown_client_id_is_422_with_field_error(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post(
        "/v2/token",
        data={"client_id": "nope", "client_secret": "x", "grant_type": "client_credentials"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "data": {"client_id": "The selected client id is invalid."},
        "meta": {"message": "the parameter is invalid"},
    }


async def test_wrong_secret_is_401_client_authentication_failed(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner()
    response = await app_client.post(
        "/v2/token", data={**credentials.form(), "client_secret": "wrong-secret"}
    )
    assert response.status_code == 401
    assert response.json() == {"data": [], "meta": {"message": "Client authentication failed"}}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            {
                "client_id": "The client id field is required.",
                "client_secret": "The client secret field is required.",
            },
        ),
        (
            {"client_id": "a", "client_secret": "b", "grant_type": ["client_credentials"]},
            {"grant_type": "The grant type must be a string."},
        ),
        (
            {"client_id": "a", "client_secret": "b", "grant_type": "password"},
            {"grant_type": "The selected grant type is invalid."},
        ),
        (
            {"client_id": 5, "client_secret": ["x"], "grant_type": "client_credentials"},
            {
                "client_id": "The client id must be a string.",
                "client_secret": "The client secret must be a string.",
            },
        ),
    ],
)
async def test_token_field_validation(
    app_client: httpx.AsyncClient, body: dict[str, object], errors: dict[str, str]
) -> None:
    response = await app_client.post("/v2/token", json=body)
    assert response.status_code == 422
    assert response.json() == {"data": errors, "meta": {"message": "the parameter is invalid"}}


async def test_nul_in_credentials_is_422_in_every_encoding(
    app_client: httpx.AsyncClient,
) -> None:
    """Found by the contract fuzzer: PostgreSQL cannot compare text holding U+0000, and the
    lookup answered 500 there. Refused before the lookup, the same on every backend."""
    fields = {"client_id": "abc\x00def", "client_secret": "x"}
    answers = [
        await app_client.post("/v2/token", json=fields),
        await app_client.post("/v2/token", data=fields),
        await app_client.post("/v2/token", files={k: (None, v) for k, v in fields.items()}),
    ]
    for response in answers:
        assert response.status_code == 422
        assert response.json()["data"] == {
            "client_id": "The client id must not contain NUL characters."
        }


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
async def test_malformed_json_body_is_422_not_500(
    app_client: httpx.AsyncClient, raw: bytes
) -> None:
    response = await app_client.post(
        "/v2/token", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["meta"] == {"message": "the parameter is invalid"}
    assert "body" in response.json()["data"]


async def test_several_tokens_stay_valid_at_once(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory
) -> None:
    credentials = await make_partner()
    first = await get_token(app_client, credentials)
    second = await get_token(app_client, credentials)
    assert first != second
    for token in (first, second):
        response = await app_client.get("/v2/balance", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer not-a-token", "Basic abc", "Bearer a.b.c"]
)
async def test_missing_or_invalid_bearer_is_401(
    app_client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await app_client.get("/v2/packages", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"data": [], "meta": {"message": "Unauthenticated."}}


async def test_token_expires_after_its_lifetime(
    client_for: ClientFactory, make_partner: PartnerFactory, clock: FrozenClock
) -> None:
    async with client_for(token_lifetime_seconds=3600) as client:
        credentials = await make_partner()
        response = await client.post("/v2/token", data=credentials.form())
        assert response.json()["data"]["expires_in"] == 3600
        headers = {"Authorization": f"Bearer {response.json()['data']['access_token']}"}
        clock.advance(timedelta(seconds=3599))
        assert (await client.get("/v2/balance", headers=headers)).status_code == 200
        clock.advance(timedelta(seconds=1))
        expired = await client.get("/v2/balance", headers=headers)
        assert expired.status_code == 401
        assert expired.json() == {"data": [], "meta": {"message": "Unauthenticated."}}


async def test_token_signed_by_another_server_key_is_refused(
    client_for: ClientFactory, make_partner: PartnerFactory, app_client: httpx.AsyncClient
) -> None:
    credentials = await make_partner()
    async with client_for(secret_key="another-key-" * 4) as client:
        foreign_token = await get_token(client, credentials)
    response = await app_client.get(
        "/v2/balance", headers={"Authorization": f"Bearer {foreign_token}"}
    )
    assert response.status_code == 401
    token = await get_token(app_client, credentials)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await app_client.get("/v2/balance", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401


async def test_rotating_the_secret_revokes_old_tokens(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory, settings: Settings
) -> None:
    credentials = await make_partner()
    old_token = await get_token(app_client, credentials)
    async with transaction(settings) as session:
        rotated = await auth.rotate_secret(
            session, settings=settings, client_id=credentials.client_id
        )
    assert rotated.client_secret != credentials.client_secret
    response = await app_client.get("/v2/balance", headers={"Authorization": f"Bearer {old_token}"})
    assert response.status_code == 401
    old_secret = await app_client.post("/v2/token", data=credentials.form())
    assert old_secret.status_code == 401
    new = await app_client.post(
        "/v2/token", data={**credentials.form(), "client_secret": rotated.client_secret}
    )
    assert new.status_code == 200


async def test_credentials_use_the_sdk_alphabet_and_the_secret_is_stored_hashed(
    make_partner: PartnerFactory, settings: Settings
) -> None:
    credentials = await make_partner()
    assert set(credentials.client_id) <= CREDENTIAL_ALPHABET
    assert set(credentials.client_secret) <= CREDENTIAL_ALPHABET
    async with transaction(settings) as session:
        partner = await session.scalar(
            select(Partner).where(Partner.client_id == credentials.client_id)
        )
        assert partner is not None
        stored = json.dumps(
            {c.name: str(getattr(partner, c.key)) for c in Partner.__mapper__.columns}
        )
    assert credentials.client_secret not in stored


IP_BLOCKED = {
    "code": 89,
    "reason": "Your IP address is not permitted to access the Partner API. Add it to your API IP "
    "allowlist in the Partner Platform, or contact your account manager.",
}


async def test_ip_allowlist_blocks_token_and_api_from_other_addresses(
    app_client: httpx.AsyncClient, make_partner: PartnerFactory, settings: Settings
) -> None:
    # app_client connects from 198.51.100.7
    credentials = await make_partner()
    token = await get_token(app_client, credentials)
    async with transaction(settings) as session:
        await auth.set_ip_allowlist(
            session, client_id=credentials.client_id, entries=["203.0.113.0/24"]
        )
    blocked = await app_client.get("/v2/packages", headers={"Authorization": f"Bearer {token}"})
    assert blocked.status_code == 403
    assert blocked.json() == IP_BLOCKED
    blocked_token = await app_client.post("/v2/token", data=credentials.form())
    assert blocked_token.status_code == 403
    assert blocked_token.json() == IP_BLOCKED

    async with transaction(settings) as session:
        entries = await auth.set_ip_allowlist(
            session, client_id=credentials.client_id, entries=["198.51.100.0/28", "2001:db8::/32"]
        )
    assert entries == ["203.0.113.0/24", "198.51.100.0/28", "2001:db8::/32"]
    allowed = await app_client.get("/v2/balance", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200


async def test_ip_allowlist_rejects_garbage(
    make_partner: PartnerFactory, settings: Settings
) -> None:
    credentials = await make_partner()
    async with transaction(settings) as session:
        with pytest.raises(ValueError, match="not an IP address"):
            await auth.set_ip_allowlist(
                session, client_id=credentials.client_id, entries=["10.0.0.300"]
            )


async def test_token_resolution_reads_no_database_while_cached(
    client_for: ClientFactory, make_partner: PartnerFactory
) -> None:
    async with client_for(partner_cache_seconds=60) as client:
        credentials = await make_partner()
        headers = {"Authorization": f"Bearer {await get_token(client, credentials)}"}
        assert (await client.get("/v2/compatible-devices-lite", headers=headers)).status_code == 200
        with statements_run(client.app.state.runtime.engine) as statements:
            for _ in range(5):
                assert (
                    await client.get("/v2/compatible-devices-lite", headers=headers)
                ).status_code == 200
        assert statements == []


def test_client_ids_never_look_like_command_line_options() -> None:
    from esimhub.auth.tokens import new_client_id

    ids = [new_client_id() for _ in range(2000)]  # 1 in 64 would start with "-" unchecked
    assert not [i for i in ids if i.startswith("-")]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", i) for i in ids)


async def test_a_token_issued_after_the_sandbox_clock_ran_ahead_is_accepted(box: Sandbox) -> None:
    """Token times are judged on the server's clock, which a sandbox may move past real time."""
    await box.advance("400d")
    token = await get_token(box.client, box.partner.credentials)
    answer = await box.client.get("/v2/balance", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
