"""What ``/openapi.json`` says of the wire: request bodies in every media type clients send,
the envelopes, and the error bodies an operation can answer.

The models here document; they do not parse. Bodies are read by ``kit.forms.read_body`` and
checked field by field (``kit.validation.Fields``) so that a failure renders Laravel's exact keys
and messages, which pydantic's errors cannot all be mapped back to. ``tests/test_openapi.py``
holds each request model to its parser (a body valid by the model is accepted, every field the
model names is one the parser reads), and every answer to its response model.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# The media types every write accepts (``read_body``): Airalo's docs show multipart, the SDKs
# send urlencoded or JSON.
BODY_MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")

# Every model a request body refers to, hoisted into ``components.schemas`` by the document.
REQUEST_MODELS: list[type[BaseModel]] = []


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring ``model`` as the body in every media type ``read_body``
    accepts (the route reads the body itself, so FastAPI would otherwise declare none)."""
    REQUEST_MODELS.append(model)
    json_ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    form_ref = {"$ref": f"#/components/schemas/{model.__name__}{FORM_SUFFIX}"}
    return {
        "requestBody": {
            "required": required,
            "content": {
                media: {"schema": json_ref if media == "application/json" else form_ref}
                for media in BODY_MEDIA_TYPES
            },
        }
    }


# A form has no null: its schema is the JSON one without the null alternatives (a field sent
# as JSON ``null`` is the same as one not sent).
FORM_SUFFIX = "Form"


def without_nulls(schema: Any) -> Any:
    """``schema`` with every ``{"type": "null"}`` alternative taken out of its ``anyOf``s."""
    if isinstance(schema, list):
        return [without_nulls(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {key: without_nulls(value) for key, value in schema.items()}
    alternatives = cleaned.get("anyOf")
    if isinstance(alternatives, list):
        kept = [item for item in alternatives if item != {"type": "null"}]
        cleaned.pop("anyOf")
        if len(kept) == 1:
            cleaned = {**kept[0], **cleaned}
        else:
            cleaned["anyOf"] = kept
        if cleaned.get("default", 0) is None:
            cleaned.pop("default")
    return cleaned


def answers(
    model: type[BaseModel],
    status: int = 200,
    *,
    responses: dict[int | str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Route keywords documenting ``model`` as the answer without validating the route's result
    against it: the route renders the exact wire body itself."""
    return {
        "response_model": None,
        "responses": {status: {"model": model}, **(responses or {})},
        **extra,
    }


# Request fields as the parser takes them: text without NUL (PostgreSQL cannot store it), a
# required text not empty (Laravel's "required" fails on "").
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=255, pattern=NO_NUL)]
RequiredText = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
WebhookUrl = Annotated[
    str, Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s/?#]+[^\s]*$")
]


class RequestBody(BaseModel):
    """A request body as documented: its fields; the parser ignores others."""

    model_config = ConfigDict(extra="allow")


class Wire(BaseModel):
    """A wire object: fields documented, others allowed (Airalo adds fields without notice and
    clients must keep working; so does esimhub, release to release)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Meta(Wire):
    message: str = Field(examples=["success"])


T = TypeVar("T")


class Envelope(Wire, Generic[T]):
    """``{"data": ..., "meta": {"message": "success"}}``."""

    data: T
    meta: Meta


class Links(BaseModel):
    first: str
    last: str
    prev: str | None
    next: str | None


class PageMeta(BaseModel):
    message: str
    current_page: int
    from_: int | None = Field(alias="from")
    last_page: int
    path: str
    per_page: str
    to: int | None
    total: int


class Page(Wire, Generic[T]):
    """A Laravel page: ``data``, ``links`` and ``meta`` (``per_page`` as the client sent it)."""

    data: list[T]
    links: Links
    meta: PageMeta


# -- error bodies (``errors`` renders them) ---------------------------------------------------


class FieldErrors(BaseModel):
    """422: the failing fields under their Laravel keys (``sharing_option.0``), in order."""

    data: dict[str, str]
    meta: Meta


class MessageBody(BaseModel):
    """401, 404, 405, 413, 503 and some 422s: ``data`` empty, the message in ``meta``."""

    data: list[Any]
    meta: Meta


class BusinessErrorBody(BaseModel):
    """A refusal of the business (``{"code": 34, "reason": "..."}``; a few carry no code)."""

    model_config = ConfigDict(extra="allow")

    code: int | None = None
    reason: str


class TooManyAttemptsBody(BaseModel):
    message: str = Field(examples=["Too Many Attempts."])


RATE_LIMIT_HEADERS = {
    "Retry-After": {
        "description": "Seconds until a request may succeed",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Limit": {"schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "Unix time the window resets",
        "schema": {"type": "integer"},
    },
}


def _one_of(*models: type[BaseModel]) -> dict[str, Any]:
    return {"anyOf": [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models]}


ERROR_MODELS: tuple[type[BaseModel], ...] = (
    FieldErrors,
    MessageBody,
    BusinessErrorBody,
    TooManyAttemptsBody,
)


def error_responses(
    *, secured: bool, has_path_parameters: bool, writes: bool, idempotent: bool = False
) -> dict[str, Any]:
    """The error answers an operation can give, as OpenAPI responses."""

    def body(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": schema}},
            **extra,
        }

    message = _one_of(MessageBody)
    responses: dict[str, Any] = {
        "422": body(
            _one_of(FieldErrors, MessageBody, BusinessErrorBody),
            "Invalid input (field errors under Laravel keys) or a business refusal "
            "(``{code, reason}``)",
        ),
        "429": body(_one_of(TooManyAttemptsBody), "Too many requests", headers=RATE_LIMIT_HEADERS),
        "500": body(_one_of(BusinessErrorBody), "Unexpected error (code 53)"),
        "503": body(message, "Busy: nothing was written; retry after ``Retry-After``"),
    }
    if secured:
        responses["401"] = body(message, "Missing, expired or unknown token")
        responses["403"] = body(
            _one_of(BusinessErrorBody), "The client IP is not allowed (code 89)"
        )
    if has_path_parameters:
        responses["404"] = body(message, "No such resource (or not this partner's)")
    if idempotent:
        responses["409"] = body(message, "The Idempotency-Key was used with another request")
    if writes:
        responses["413"] = body(message, "The body is larger than ESIMHUB_MAX_BODY_BYTES")
    return responses
