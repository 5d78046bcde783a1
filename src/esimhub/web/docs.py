"""``/openapi.json``, and ``/docs`` (Swagger UI) and ``/redoc`` served from esimhub itself.

FastAPI's own pages load their scripts from a CDN, so on a host without internet they are
blank; the assets here come from the ``fastapi-offline`` package, served at ``/docs/assets``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pycountry
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from esimhub.idempotency.service import HEADER as IDEMPOTENCY_HEADER
from esimhub.kit import wire
from esimhub.kit.statuses import OrderStatus, ScheduledStatus
from esimhub.notifications.schemas import NOTIFICATION_TYPES, V1_NOTIFICATION_TYPES

ASSETS = "/docs/assets"
_ASSET_DIRECTORY = str(files("fastapi_offline") / "static")

SECURITY_SCHEMES = {
    "partnerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access_token of POST /v2/token.",
    },
    "adminToken": {"type": "http", "scheme": "bearer", "description": "ESIMHUB_ADMIN_TOKEN"},
}
_WRITES = frozenset({"post", "put", "patch"})

# Query parameters that the routes take as text and check themselves (so that a failure reads
# as Laravel's message), described as what they accept. An empty value counts as not sent where
# the route takes it so (Laravel's empty strings are null), and the schema says so.
_DAY = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
_MINUTE = r"([01][0-9]|2[0-3]):[0-5][0-9]"


def _text(pattern: str, description: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", "pattern": f"^({pattern})?$"}
    return schema | ({"description": description} if description else {})


QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    # larger ones are clamped (a limit past MAX_LIMIT is "everything"), never refused
    "limit": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 0}]},
    "page": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 0}]},
    "filter[type]": {"type": "string", "enum": ["local", "global"]},
    "filter[country]": {
        "type": "string",
        "enum": sorted(country.alpha_2 for country in pycountry.countries),
    },
    "filter[order_status]": {"type": "string", "enum": ["", *(s.value for s in OrderStatus)]},
    "filter[created_at]": _text(f"{_DAY}( - {_DAY})?", "A day or a range: Y-m-d - Y-m-d"),
    "date": _text(_DAY, "Y-m-d"),
    "to": _text("[A-Za-z]{3}(,[A-Za-z]{3})*", "Currency codes, comma separated"),
    "from_due_date": _text(f"{_DAY}( {_MINUTE})?", "Y-m-d or Y-m-d H:i"),
    "to_due_date": _text(f"{_DAY}( {_MINUTE})?", "Y-m-d or Y-m-d H:i"),
    "status": {
        "type": "string",
        "enum": ["", ScheduledStatus.PENDING, ScheduledStatus.FAILED, ScheduledStatus.RETRY],
    },
}


def install(app: FastAPI) -> None:
    """The document and the two pages that show it (the app is built with FastAPI's own
    ``docs_url`` and ``redoc_url`` off)."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=_ASSET_DIRECTORY), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: the request bodies the routes read themselves, the bearer scheme
    on the operations that ask for it (so a generated client and Swagger's "Authorize" send the
    token), and on each operation the error bodies it can answer (in place of FastAPI's
    ``HTTPValidationError``, a shape esimhub never sends)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = spec.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    for model in (*wire.REQUEST_MODELS, *wire.ERROR_MODELS):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for model in wire.REQUEST_MODELS:
        form = wire.without_nulls(
            model.model_json_schema(ref_template="#/components/schemas/{model}" + wire.FORM_SUFFIX)
        )
        for name, nested in form.pop("$defs", {}).items():
            schemas[name + wire.FORM_SUFFIX] = nested
        schemas[model.__name__ + wire.FORM_SUFFIX] = form
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in spec["paths"].items():
        secured = not path.endswith("/token")
        scheme = "adminToken" if path.startswith("/admin/") else "partnerToken"
        for method, operation in operations.items():
            if secured:
                operation["security"] = [{scheme: []}]
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    # a query has no null: a parameter is sent or not
                    parameter["schema"] = QUERY_SCHEMAS.get(
                        parameter["name"], wire.without_nulls(parameter["schema"])
                    )
                schema = parameter["schema"]
                if schema.get("type") == "string" and not {"enum", "pattern"} & set(schema):
                    schema["pattern"] = wire.NO_NUL  # refused with a 422 (PostgreSQL can't)
                if parameter["name"] == "type" and "/notifications/" in path:
                    kinds = V1_NOTIFICATION_TYPES if path.startswith("/v1/") else NOTIFICATION_TYPES
                    parameter["schema"] = {"type": "string", "enum": ["", *kinds]}
            documented = operation.setdefault("responses", {})
            documented.pop("422", None)  # FastAPI's, for parameters it checks itself
            errors = wire.error_responses(
                secured=secured,
                has_path_parameters="{" in path,
                writes=method in _WRITES,
                idempotent=any(
                    p["name"] == IDEMPOTENCY_HEADER for p in operation.get("parameters", [])
                ),
            )
            for status, response in errors.items():
                documented.setdefault(status, response)
    app.openapi_schema = spec
    return spec
