"""The Laravel length-aware paginator envelope that Airalo's list endpoints answer with."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from esimhub.errors import ValidationFailed
from esimhub.kit.validation import integer_text

# A limit larger than this behaves like "everything", a page past this like the last one but
# empty: both are clamped, never an error or a 500 (their product stays a 64-bit OFFSET).
MAX_LIMIT = 1_000_000
MAX_PAGE = 1_000_000_000


@dataclass(frozen=True)
class PageRequest:
    limit: int | None  # None: no limit given
    page: int
    per_page_text: str | None  # the limit exactly as the client sent it (Laravel echoes it)


def _parse_positive(name: str, raw: str | None, errors: dict[str, str]) -> int | None:
    if raw is None or raw == "":
        return None
    value = integer_text(raw)
    if value is None:
        errors[name] = f"The {name} must be an integer."
        return None
    if value < 1:
        errors[name] = f"The {name} must be at least 1."
        return None
    return value


def parse_page_request(limit: str | None, page: str | None) -> PageRequest:
    errors: dict[str, str] = {}
    parsed_limit = _parse_positive("limit", limit, errors)
    parsed_page = _parse_positive("page", page, errors)
    if errors:
        raise ValidationFailed(errors)
    return PageRequest(
        limit=min(parsed_limit, MAX_LIMIT) if parsed_limit is not None else None,
        page=min(parsed_page or 1, MAX_PAGE),
        per_page_text=str(parsed_limit) if parsed_limit is not None else None,
    )


@dataclass(frozen=True)
class PageWindow:
    start: int
    stop: int
    current_page: int
    last_page: int
    per_page: int
    total: int


def window(total: int, request: PageRequest, default_limit: int | None) -> PageWindow:
    per_page = request.limit or default_limit or max(total, 1)
    last_page = max(1, -(-total // per_page))
    start = min((request.page - 1) * per_page, total)
    stop = min(start + per_page, total)
    return PageWindow(start, stop, request.page, last_page, per_page, total)


def links_and_meta(
    page: PageWindow,
    *,
    path: str,
    query: Mapping[str, str],
    per_page_text: str | None,
    message: str = "success",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Laravel's ``links`` and ``meta``; links keep the caller's query with ``page`` replaced."""
    kept = {key: value for key, value in query.items() if key != "page"}

    def link(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': str(number)})}"

    empty = page.start >= page.stop
    links = {
        "first": link(1),
        "last": link(page.last_page),
        "prev": link(page.current_page - 1) if page.current_page > 1 else None,
        "next": link(page.current_page + 1) if page.current_page < page.last_page else None,
    }
    meta = {
        "message": message,
        "current_page": page.current_page,
        "from": None if empty else page.start + 1,
        "last_page": page.last_page,
        "path": path,
        "per_page": per_page_text if per_page_text is not None else str(page.per_page),
        "to": None if empty else page.stop,
        "total": page.total,
    }
    return links, meta


def envelope(
    items: Sequence[Any],
    page: PageWindow,
    *,
    path: str,
    query: Mapping[str, str],
    per_page_text: str | None,
    message: str = "success",
) -> dict[str, Any]:
    """One page of ``items`` in the paginator envelope."""
    links, meta = links_and_meta(
        page, path=path, query=query, per_page_text=per_page_text, message=message
    )
    return {"data": list(items), "links": links, "meta": meta}


def page_of(
    items: Sequence[Any],
    page: PageWindow,
    *,
    request: Request,
    base_url: str,
    page_request: PageRequest,
) -> dict[str, Any]:
    """``envelope`` for a list endpoint: links on the public URL, keeping the request's query."""
    return envelope(
        items,
        page,
        path=f"{base_url}{request.url.path}",
        query=request.query_params,
        per_page_text=page_request.per_page_text,
    )


def created_range(
    text: str | None, key: str = "filter.created_at"
) -> tuple[datetime | None, datetime | None]:
    """``filter[created_at]=2024-01-01 - 2024-01-31`` → [start of first day, start of day after).

    Either end may also be a ``Y-m-d H:i:s`` moment (clients build the filter from an order's own
    ``created_at``): it stands for its day, as on the live API."""
    if text is None or not text.strip():
        return None, None
    first, sep, last = text.partition(" - ")
    try:
        start = _day(first)
        end = _day(last) if sep else start
    except ValueError as exc:
        raise ValidationFailed(
            {key: "The created at filter must be a date range as Y-m-d - Y-m-d."}
        ) from exc
    begin = datetime.combine(start, time.min, tzinfo=UTC)
    return begin, datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1)


_DAY_OR_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})(?: \d{2}:\d{2}:\d{2})?")


def _day(text: str) -> date:
    found = _DAY_OR_MOMENT.fullmatch(text.strip())
    if found is None:
        raise ValueError(text)
    return date.fromisoformat(found.group(1))


def includes(text: str | None) -> frozenset[str]:
    """``include=sims, user`` → {"sims", "user"}; unknown values are the caller's to ignore."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())
