"""The error tree and its rendering into the exact Airalo wire bodies.

Domain code raises these; ``install_error_handlers`` maps every one of them (and framework errors
such as unknown routes or malformed requests) to a response in one place.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

log = logging.getLogger("esimhub")

INVALID_PARAMETER = "the parameter is invalid"
RESOURCE_NOT_FOUND = "messages.resource_not_found"


UNEXPECTED = (
    "Something unexpected happened. We're working to resolve the issue. Please try again later."
)


def unexpected_body() -> dict[str, Any]:
    """What a 500 says: Airalo's business error 53, its reason also in the envelope's message
    (clients read one or the other). Never a traceback."""
    return {"code": 53, "reason": UNEXPECTED, "data": [], "meta": {"message": UNEXPECTED}}


class EsimhubError(Exception):
    """Base class: an error with an HTTP status and an Airalo-shaped body; raised bare, the
    unexpected-error 500."""

    status_code: int = 500

    def body(self) -> Any:
        return unexpected_body()

    def headers(self) -> dict[str, str] | None:
        return None

    def content(self) -> bytes:
        """The body as sent: compact JSON, as Starlette's ``JSONResponse`` renders it."""
        return json.dumps(
            self.body(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


class ValidationFailed(EsimhubError):
    """422 with Laravel-style field keys: ``{"data": {field: message}, "meta": {...}}``."""

    status_code = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    def body(self) -> Any:
        return {"data": self.errors, "meta": {"message": INVALID_PARAMETER}}


class MessageError(EsimhubError):
    """An error whose body is ``{"data": [], "meta": {"message": ...}}``."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def body(self) -> Any:
        return {"data": [], "meta": {"message": self.message}}


class Unauthenticated(MessageError):
    def __init__(self) -> None:
        super().__init__("Unauthenticated.", 401)


class ClientAuthenticationFailed(MessageError):
    def __init__(self) -> None:
        super().__init__("Client authentication failed", 401)


class ActionUnauthorized(MessageError):
    """Another partner's resource. Airalo answers 401 here, not 403."""

    def __init__(self) -> None:
        super().__init__("This action is unauthorized.", 401)


class NotFound(MessageError):
    def __init__(self, message: str = RESOURCE_NOT_FOUND) -> None:
        super().__init__(message, 404)


class BusinessError(EsimhubError):
    """``{"code": N, "reason": "..."}``, HTTP 422 unless stated otherwise."""

    status_code = 422

    def __init__(self, code: int, reason: str, status_code: int = 422) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.status_code = status_code

    def body(self) -> Any:
        return {"code": self.code, "reason": self.reason}


class IpNotAllowed(BusinessError):
    def __init__(self) -> None:
        super().__init__(
            89,
            "Your IP address is not permitted to access the Partner API. Add it to your API IP "
            "allowlist in the Partner Platform, or contact your account manager.",
            status_code=403,
        )


TOO_MANY_ATTEMPTS = b'{"message":"Too Many Attempts."}'


class TooManyAttempts(EsimhubError):
    status_code = 429

    def __init__(self, limit: int, retry_after: int, reset_at: int) -> None:
        super().__init__("Too Many Attempts.")
        self.limit = limit
        self.retry_after = retry_after
        self.reset_at = reset_at

    def body(self) -> Any:
        return {"message": "Too Many Attempts."}

    def content(self) -> bytes:
        return TOO_MANY_ATTEMPTS  # the hottest error body, rendered once

    def headers(self) -> dict[str, str]:
        return {
            "Retry-After": str(self.retry_after),
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(self.reset_at),
        }


class Busy(MessageError):
    """503: no database connection or lock came free in time. Nothing was written."""

    def __init__(self) -> None:
        super().__init__("The server is busy; try again in a moment.", 503)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


def waited_too_long(exc: DBAPIError) -> bool:
    """A lock wait that gave up: PostgreSQL's lock_timeout (SQLSTATE 55P03), SQLite's busy
    timeout ("database is locked")."""
    return sqlstate(exc) == "55P03" or "database is locked" in str(exc.orig)


def sqlstate(exc: DBAPIError) -> str | None:
    """The driver's SQLSTATE: asyncpg's ``sqlstate``, psycopg's ``pgcode``; None on SQLite."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return str(code) if code is not None else None


def refused_text(exc: DBAPIError) -> bool:
    """Text PostgreSQL will not store or compare (a NUL, SQLSTATE 22021 or 22P05): the input's
    fault, for what the request checks missed."""
    return sqlstate(exc) in {"22021", "22P05"}


def render(error: EsimhubError) -> Response:
    return Response(
        error.content(),
        status_code=error.status_code,
        headers=error.headers(),
        media_type="application/json",
    )


def _field_key(loc: tuple[int | str, ...]) -> str:
    """``("query", "filter[type]")`` → ``filter.type``; ``("body", "vouchers", 0)`` → ``vouchers.0``."""
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"query", "body", "path"} else list(loc)
    return laravel_key(".".join(str(p) for p in parts) or "body")


def laravel_key(name: str) -> str:
    """A parameter's name as Laravel keys its errors: ``filter[type]`` → ``filter.type``."""
    return name.replace("[", ".").replace("]", "")


def _laravel_message(field: str, error: Mapping[str, Any]) -> str:
    words = field.replace(".", " ").replace("_", " ")
    kind = str(error.get("type", ""))
    if kind == "missing":
        return f"The {words} field is required."
    if kind.startswith("int"):
        return f"The {words} must be an integer."
    if kind.startswith(("string", "str")):
        return f"The {words} must be a string."
    if kind.startswith("bool"):
        return f"The {words} field must be true or false."
    if kind.startswith(("list", "array")):
        return f"The {words} must be an array."
    return f"The {words} is invalid."


def validation_from_pydantic(errors: list[Any]) -> ValidationFailed:
    fields: dict[str, str] = {}
    for error in errors:
        key = _field_key(tuple(error.get("loc", ())))
        fields.setdefault(key, _laravel_message(key, error))
    return ValidationFailed(fields)


def allowed_methods(request: Request, headers: Mapping[str, str]) -> str:
    """Every method the path takes. The router names only those of the first route it matched
    (``GET /orders`` and ``POST /orders`` are two routes), so the rest come from the OpenAPI
    paths whose template matches."""
    methods = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
    paths = request.app.openapi()["paths"]
    if request.url.path in paths:  # a literal path wins over templates it also fits
        methods = {method.upper() for method in paths[request.url.path]}
    else:
        for template, operations in paths.items():
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
            if re.fullmatch(pattern, request.url.path):
                methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


def response_for(exc: Exception) -> Response | None:
    """The answer to an error raised while serving a request, where it is one of ours or the
    database's (a route's handler, or a path the Edge answers itself); ``None`` for anything
    else (the code-53 500)."""
    if isinstance(exc, EsimhubError):
        return render(exc)
    if isinstance(exc, IntegrityError):
        # a unique index refused a row another request wrote at the same moment: nothing of
        # this request was kept, and sending it again gets a considered answer
        return render(
            MessageError(
                "This request conflicts with one made at the same time; send it again.", 409
            )
        )
    if isinstance(exc, PoolTimeout):
        return render(Busy())
    if isinstance(exc, DBAPIError):
        if waited_too_long(exc):
            return render(Busy())
        if refused_text(exc):
            return render(MessageError("The request holds text that cannot be stored.", 422))
        log.error("database error", exc_info=exc)
        return render(EsimhubError())
    return None


async def send_answer(
    scope: Scope, receive: Receive, send: Send, answer: Awaitable[Response | None]
) -> bool:
    """For a request answered outside the router (the Edge's hot paths): send the response
    ``answer`` gives, or the one for the error it raises, as the exception handlers would;
    ``False`` when it gives none (the app must answer)."""
    try:
        response = await answer
    except Exception as exc:
        response = response_for(exc)
        if response is None:
            raise
    if response is None:
        return False
    await response(scope, receive, send)
    return True


def install_error_handlers(app: FastAPI) -> None:
    async def on_known_error(_: Request, exc: Exception) -> Response:
        response = response_for(exc)
        assert response is not None
        return response

    async def on_request_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(validation_from_pydantic(list(exc.errors())))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return render(NotFound())
        error = MessageError(
            "The method is not supported for this route."
            if exc.status_code == 405
            else str(exc.detail),
            exc.status_code,
        )
        response = render(error)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request, exc.headers or {})
        return response

    async def on_client_gone(_: Request, exc: Exception) -> Response:
        # the client hung up before its body arrived: nothing was done and nobody reads this
        log.debug("client disconnected before sending its body")
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, on_client_gone)
    for known in (EsimhubError, IntegrityError, PoolTimeout, DBAPIError):
        app.add_exception_handler(known, on_known_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
