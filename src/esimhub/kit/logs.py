"""Log lines: JSON (one object per line, for a log pipeline) or console (for a terminal), and
the id of the request a line belongs to.

``ESIMHUB_LOG_FORMAT`` picks the format (console by default, JSON by default in production).
Fields are passed as ``extra={...}``; the request id is added from the context of the request
(or of the worker job) that logs, so every line of one request, and the worker's lines for the
webhooks it caused, share it. Nothing here knows about secrets: callers log ids, never tokens,
secrets, bodies or headers.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What a client may send as X-Request-Id: short, printable, no spaces (it goes into log lines
# and headers as is). Anything else is replaced by an id of our own.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# The attributes every LogRecord has; the rest came in ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of its message with terminal colours
}


# New ids: this process's random half, then a counter (32 hex digits in all): unique across
# processes and restarts without a system call per request, as uuid4 would make.
_PROCESS = secrets.token_hex(8)
_COUNTER = itertools.count(int.from_bytes(secrets.token_bytes(4)))


def accept_request_id(sent: str | None) -> str:
    """The client's ``X-Request-Id`` when it is a sane one, else a new id."""
    if sent is not None and _ACCEPTED_ID.fullmatch(sent):
        return sent
    return f"{_PROCESS}{next(_COUNTER) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of a record, with the request id of its context."""
    found = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    current = request_id.get()
    if current is not None:
        found.setdefault("request_id", current)
    return found


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{key}={value}" for key, value in fields(record).items())
        text = f"{record.levelname} {record.name} {record.getMessage()}"
        if extra:
            text = f"{text}  {extra}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test runner swaps it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        return


def configure(level: str, style: Literal["json", "console"], stream: TextIO | None = None) -> None:
    """Send every log line (esimhub's, uvicorn's, the libraries') to ``stream`` (stderr) in
    ``style``."""
    # Our lines carry their fields; what a record would otherwise gather for each call (thread,
    # process and task names) costs every request's line and says nothing here.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup per record (the logging HOWTO's optimisation)
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter() if style == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers[:] = []
        named.propagate = True
    # httpx logs every request's URL at INFO: a partner's webhook URL may carry a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging left to ``configure`` (its own config would replace our handlers)."""
    return {"version": 1, "disable_existing_loggers": False}
