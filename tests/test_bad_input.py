"""Hostile input on every operation of ``/openapi.json``: each answer is a documented 4xx in a
JSON body, never a 5xx. The classes are the ones a fuzzer or a careless client sends: JSON nested
10,000 deep, numbers no parser should take (``"²"``, ``"١٢"``, 5,000 digits, ``1e999``, ``NaN``),
ids past 64 bits, NUL bytes (PostgreSQL refuses them in text), bytes that are not UTF-8, bearer
tokens that are not ASCII, wrong and missing content types, broken multipart, 10,000 form fields,
absurd ``limit`` and ``page``, ICCIDs of every wrong shape, and methods a path does not take."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from esimhub.app import create_app
from esimhub.errors import UNEXPECTED
from esimhub.kit.clock import FrozenClock
from esimhub.ledger import service as ledger_service
from tests.fixtures.clients import CLIENT_ADDRESS, Partnered, get_token
from tests.fixtures.database import make_settings
from tests.fixtures.factories import PartnerFactory
from tests.fixtures.sandbox import ADMIN_TOKEN

# Every field name a partner or admin body reads: each case sets them all, so every field rule
# meets every hostile value.
FIELDS = [
    "amount",
    "booking_reference",
    "brand_settings_name",
    "by",
    "client_id",
    "client_secret",
    "copy_address",
    "country",
    "credit_limit",
    "balance",
    "description",
    "discount_percentage",
    "due_date",
    "email",
    "entries",
    "event",
    "grant_type",
    "hidden",
    "iccid",
    "iccids",
    "id",
    "is_paid",
    "language",
    "level",
    "name",
    "net_price",
    "notes",
    "now",
    "package_id",
    "price",
    "quantity",
    "reason",
    "records",
    "replace",
    "request_ids",
    "sandbox",
    "sharing_option",
    "to_email",
    "type",
    "usage_limit",
    "voucher_code",
    "vouchers",
    "webhook_url",
]
NUMBERS = ("²", "١٢", "9" * 5000, "-1", "0x10", "1e999", "1_000")
# raw JSON tokens that json.dumps cannot write from a str
RAW_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, str(2**70), "-0.0")
STRINGS = ("a\x00b", "\x00", "", " ", "é" * 300, "x" * 70_000, "<script>", "../../etc/passwd")
VALUES: tuple[Any, ...] = (*NUMBERS, *STRINGS, None, True, [], {}, ["a\x00"], [{}], {"a": [1]})
PATH_VALUES = (
    str(2**70),
    "-1",
    "0",
    "²",
    "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩",
    "8" * 19 + "%00",
    "a" * 300,
    "9" * 5000,
    "%FF%FE",
    "8999%20123",
    "null",
)
QUERY_VALUES = (*NUMBERS, *STRINGS[:4], "%FF", "[]", "2026-13-45", "2026-01-01 - ", "a[b]")
DEEP = ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000)
BROKEN_MULTIPART = b'--x\r\nContent-Disposition: form-data; name="package_id"\r\n\r\nkallur'


@dataclass
class Case:
    name: str
    method: str
    url: str
    headers: dict[str, Any]
    content: bytes | None = None


@dataclass
class Operation:
    method: str
    path: str
    query: list[str]
    has_body: bool


def operations(spec: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            found.append(Operation(method.upper(), path, query, method in {"post", "put"}))
    return found


def _fill(path: str, known: dict[str, str], override: str | None = None) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: override or known.get(m.group(1), "1"), path)


def cases(operation: Operation, known: dict[str, str], auth: dict[str, str]) -> Iterator[Case]:
    method, url = operation.method, _fill(operation.path, known)
    if "{" in operation.path:
        for value in PATH_VALUES:
            yield Case("path", method, _fill(operation.path, known, value), auth)
    bad_bearer = {"Authorization": "Bearer \u00e9\u00ff".encode("latin-1")}
    yield Case("non-ASCII bearer", method, url, bad_bearer)
    yield Case("405", "PATCH", url, auth)
    for name in operation.query:
        for value in QUERY_VALUES:
            query = httpx.QueryParams({name: value})
            yield Case(f"query {name}", method, f"{url}?{query}", auth)
    if not operation.has_body:
        return
    json_type = {**auth, "Content-Type": "application/json"}
    form_type = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    for deep in DEEP:
        yield Case("deep JSON", method, url, json_type, deep.encode())
    for value in VALUES:
        body = json.dumps(dict.fromkeys(FIELDS, value)).encode()
        yield Case(f"JSON {value!r:.20}", method, url, json_type, body)
        if isinstance(value, str):
            form = str(httpx.QueryParams(dict.fromkeys(FIELDS, value))).encode()
            yield Case(f"form {value!r:.20}", method, url, form_type, form)
    for raw in RAW_NUMBERS:
        body = ("{" + ",".join(f'"{field}": {raw}' for field in FIELDS) + "}").encode()
        yield Case(f"JSON number {raw:.20}", method, url, json_type, body)
    yield Case("non-UTF-8 JSON", method, url, json_type, b'{"package_id": "\xff\xfe"}')
    yield Case("non-UTF-8 form", method, url, form_type, b"package_id=\xff\xfe&quantity=1")
    yield Case("percent non-UTF-8", method, url, form_type, b"package_id=%ff%fe&quantity=%ff")
    yield Case("UTF-16 JSON", method, url, json_type, '{"quantity": 1}'.encode("utf-16"))
    for content_type in ("text/plain", "application/xml", "multipart/form-data", ""):
        headers = {**auth, "Content-Type": content_type}
        yield Case(f"type {content_type!r}", method, url, headers, b'{"quantity": 1}')
    yield Case("no type", method, url, auth, b"quantity=1&package_id=x")
    multipart = {**auth, "Content-Type": "multipart/form-data; boundary=x"}
    yield Case("broken multipart", method, url, multipart, BROKEN_MULTIPART)
    yield Case("multipart garbage", method, url, multipart, b"\xff" * 1000)
    many = "&".join(f"f{n}=1" for n in range(10_000)).encode()
    yield Case("10,000 form fields", method, url, form_type, many)
    yield Case("10,000 list items", method, url, form_type, b"&".join([b"iccids[]=1"] * 10_000))
    yield Case("JSON not an object", method, url, json_type, b'"quantity"')


@pytest.fixture
async def client(
    database_url: str, clock: FrozenClock, make_partner: PartnerFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    settings = make_settings(database_url, admin_token=ADMIN_TOKEN)
    app = create_app(settings, clock=clock)
    # a crash must show as the answer the client gets, not as an exception in the test
    transport = httpx.ASGITransport(app=app, client=CLIENT_ADDRESS, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://esimhub.test") as client:
        credentials = await make_partner(balance_cents=10_000_000)
        token = await get_token(client, credentials)
        partner = {"Authorization": f"Bearer {token}"}
        order = await client.post(
            "/v2/orders",
            json={"package_id": "kallur-digital-7days-1gb", "quantity": 1},
            headers=partner,
        )
        assert order.status_code == 200, order.text
        data = order.json()["data"]
        known = {
            "order_id": str(data["id"]),
            "sim_iccid": data["sims"][0]["iccid"],
            "iccid": data["sims"][0]["iccid"],
            "package_slug": "kallur-digital-7days-1gb",
            "client_id": credentials.client_id,
            "event": "attach",
            "event_id": "1",
        }
        yield client, known | partner
    await app.state.runtime.aclose()


async def test_no_hostile_input_gets_a_server_error(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, known = client
    partner = {"Authorization": known.pop("Authorization")}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    spec = (await http.get("/openapi.json")).json()
    failures: list[str] = []
    tried = 0
    statuses: Counter[int] = Counter()
    for operation in operations(spec):
        auth = admin if operation.path.startswith("/admin/") else partner
        for case in cases(operation, known, auth):
            tried += 1
            answer = await http.request(
                case.method, case.url, headers=case.headers, content=case.content
            )
            statuses[answer.status_code] += 1
            problem = _problem(case, answer)
            if problem:
                failures.append(f"{operation.method} {operation.path} [{case.name}]: {problem}")
    print(
        f"bad input: {tried} requests, {len(operations(spec))} operations: {sorted(statuses.items())}"
    )
    assert not failures, f"{len(failures)} of {tried}:\n" + "\n".join(failures)


# the error bodies of the reference (§6.1): envelope, business error, bare message, simulator error
SHAPES = ({"data", "meta"}, {"code", "reason"}, {"message"}, {"error"}, {"reason"})


def _problem(case: Case, answer: httpx.Response) -> str | None:
    if answer.status_code >= 500:
        return f"{answer.status_code} {answer.text[:200]}"
    if case.name == "405" and answer.status_code == 405 and "allow" not in answer.headers:
        return "405 without Allow"
    try:
        body = answer.json()
    except ValueError:
        return f"{answer.status_code} not JSON: {answer.text[:100]!r}"
    if answer.status_code >= 400 and not (
        isinstance(body, dict) and any(shape <= body.keys() for shape in SHAPES)
    ):
        return f"{answer.status_code} with an undocumented body: {answer.text[:100]}"
    return None


async def test_odd_numbers_get_the_integer_rules_messages(partner_api: Partnered) -> None:
    """Digits that are not ASCII are not an integer; integers past 64 bits are too large, not an
    overflow; ``NaN`` is not JSON."""
    cases = {
        "²": "The quantity must be an integer.",
        "١٢": "The quantity must be an integer.",
        "9" * 5000: "The quantity may not be greater than 50.",
        str(-(2**70)): "The quantity must be at least 1.",
    }
    for quantity, message in cases.items():
        body = {"package_id": "kallur-digital-7days-1gb", "quantity": quantity}
        answer = await partner_api.post("/v2/orders", json=body)
        assert (answer.status_code, answer.json()["data"]) == (422, {"quantity": message})
    nan = await partner_api.post(
        "/v2/orders",
        content=b'{"package_id": "kallur-digital-7days-1gb", "quantity": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.json()["data"] == {"body": "The request body is not valid JSON."}
    huge = await partner_api.get("/v2/orders", params={"limit": "9" * 5000, "page": "9" * 40})
    assert huge.status_code == 200
    assert huge.json()["data"] == []
    missing = await partner_api.get(f"/v2/orders/{2**70}")
    assert missing.status_code == 404


async def test_nul_characters_are_refused_by_name(partner_api: Partnered) -> None:
    body = {"package_id": "kallur-digital-7days-1gb", "quantity": 1, "description": "a\x00b"}
    answer = await partner_api.post("/v2/orders", json=body)
    assert answer.json() == {
        "data": {"description": "The description must not contain NUL characters."},
        "meta": {"message": "the parameter is invalid"},
    }
    listed = await partner_api.get("/v2/sims", params={"filter[iccid]": "89\x00"})
    assert listed.status_code == 422
    assert listed.json()["data"] == {
        "filter.iccid": "The filter.iccid must not contain NUL characters."
    }
    assert (await partner_api.get("/v2/sims/8999%00/usage")).status_code == 404
    balance = (await partner_api.get("/v2/balance")).json()["data"]["balances"]
    assert balance["availableBalance"]["amount"] == 500  # nothing was charged


async def test_an_empty_list_of_request_ids_is_missing(partner_api: Partnered) -> None:
    answer = await partner_api.post("/v2/cancel-future-orders", json={"request_ids": []})
    assert (answer.status_code, answer.json()["data"]) == (
        422,
        {"request_ids": "The request ids field is required."},
    )


async def test_an_unexpected_failure_answers_code_53_with_the_request_id(
    partner_api: Partnered, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ledger_service, "balance_cents", broken)
    answer = await partner_api.get("/v2/balance", headers={"X-Request-Id": "trace-53"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "trace-53"
    assert answer.json() == {
        "code": 53,
        "reason": UNEXPECTED,
        "data": [],
        "meta": {"message": UNEXPECTED},
    }
    assert "a bug" not in answer.text


async def test_a_wrong_method_answers_405_with_allow(partner_api: Partnered) -> None:
    answer = await partner_api.client.delete("/v2/orders", headers=partner_api.headers)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert answer.json()["meta"]["message"] == "The method is not supported for this route."
