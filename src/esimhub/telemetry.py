"""``GET /metrics``: the process's own counters, and the books sampled from the database
(``metrics``), behind ``ESIMHUB_METRICS_TOKEN`` when one is set."""

from __future__ import annotations

import hmac
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from esimhub import db
from esimhub.ledger import service as ledger
from esimhub.metrics import BOOKS_SECONDS, Books
from esimhub.notifications import service as notifications
from esimhub.orders import service as orders
from esimhub.runtime import Runtime


async def sample(runtime: Runtime) -> Books:
    """The books as the database has them now."""
    async with db.transaction(runtime.sessionmaker) as session:
        issued_orders, issued_esims = await orders.issued(session)
        debited, credited = await ledger.movements(session)
        pending, oldest = await notifications.backlog(session)
        deliveries = await notifications.delivery_outcomes(session)
        mail = await notifications.mail_by_status(session)
    age = (runtime.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
    return Books(
        orders=issued_orders,
        esims=issued_esims,
        debited_cents=debited,
        credited_cents=credited,
        deliveries=deliveries,
        mail=mail,
        outbox_pending=pending,
        outbox_oldest_age_seconds=max(age, 0.0),
    )


def _authorized(request: Request, runtime: Runtime) -> bool:
    token = runtime.settings.metrics_token
    if token is None:
        return True
    sent = request.headers.get("authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    return hmac.compare_digest(sent.encode(), expected.encode())


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not _authorized(request, runtime):
        return JSONResponse(
            {"data": [], "meta": {"message": "Unauthenticated."}},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    board = runtime.metrics
    if time.monotonic() - board.books_at >= BOOKS_SECONDS:
        board.books = await sample(runtime)
        board.books_at = time.monotonic()
    return board.response()
