"""One exception class per kind of answer a partner has to handle differently.

Every error the API answered carries ``status_code`` and the parsed ``body``; ``from_response``
reads Airalo's envelopes (reference §6.1) to pick the class.
"""

from __future__ import annotations

from typing import Any

UNAUTHORIZED_ACTION = "This action is unauthorized."


class EsimhubClientError(Exception):
    """Anything this client raises."""


class APIConnectionError(EsimhubClientError):
    """No answer: the connection failed or timed out (after any retries)."""


class APIError(EsimhubClientError):
    """The API answered with an error status."""

    def __init__(self, message: str, *, status_code: int, body: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class AuthenticationError(APIError):
    """401: the credentials or the token were refused."""


class PermissionDeniedError(APIError):
    """403 (code 89: the IP is not allowlisted), or 401 "This action is unauthorized." for a
    resource of another partner."""

    def __init__(
        self, message: str, *, status_code: int, body: Any, code: int | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.code = code


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409: an ``Idempotency-Key`` reused with a different request."""


class ValidationError(APIError):
    """422 with field errors: ``errors`` maps Laravel-style keys (``vouchers.0.package_id``) to
    messages; empty when the API put the whole message in ``meta.message``."""

    def __init__(
        self, message: str, *, status_code: int, body: Any, errors: dict[str, str]
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.errors = errors


class BusinessError(APIError):
    """A refusal with a reason: Airalo's ``{"code", "reason"}`` bodies (``code`` None when the
    body has only a reason, or for the simulator's ``{"error"}``)."""

    def __init__(
        self, message: str, *, status_code: int, body: Any, code: int | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.code = code
        self.reason = message


class RateLimitError(APIError):
    """429: ``retry_after`` is the number of seconds the API asked to wait (None if it did not)."""

    def __init__(
        self, message: str, *, status_code: int, body: Any, retry_after: float | None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx (after any retries)."""


def _meta_message(body: Any) -> str | None:
    if isinstance(body, dict):
        meta = body.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("message"), str):
            return str(meta["message"])
        for key in ("message", "reason", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None


def _code(body: Any) -> int | None:
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
        if isinstance(code, str) and code.isdigit():
            return int(code)
    return None


def from_response(status_code: int, body: Any, retry_after: float | None) -> APIError:
    """The exception for an error answer (``body`` is the parsed JSON, or the text)."""
    message = _meta_message(body) or f"HTTP {status_code}"
    common: dict[str, Any] = {"status_code": status_code, "body": body}
    if status_code == 429:
        return RateLimitError(message, retry_after=retry_after, **common)
    if status_code == 401:
        if message == UNAUTHORIZED_ACTION:
            return PermissionDeniedError(message, **common)
        return AuthenticationError(message, **common)
    if status_code == 403:
        return PermissionDeniedError(message, code=_code(body), **common)
    if status_code == 404:
        return NotFoundError(message, **common)
    if status_code == 409:
        return ConflictError(message, **common)
    if status_code >= 500:
        return ServerError(message, **common)
    if isinstance(body, dict) and ("reason" in body or "error" in body):
        return BusinessError(message, code=_code(body), **common)
    if status_code == 422 and isinstance(body, dict):
        data = body.get("data")
        errors = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return ValidationError(message, errors=errors, **common)
    return APIError(message, **common)
