"""Where the client keeps access tokens and cached usage: in memory, in files, or in Redis.

A store is a small key-value interface with expiry. The client builds every key from the base
URL and the client id (plus the ICCID for usage), so two partners, or one partner on two servers,
never read each other's entries. Values are bytes the client wrote itself (JSON, never pickle).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryStore:
    """This process only; the default. Bounded: the least recently used entries go first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class FileStore:
    """One file per key in ``directory`` (created ``0700``, files ``0600``): shared by the
    processes of one machine, and kept across restarts. Writes are atomic (a rename)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / hashlib.sha256(key.encode()).hexdigest()

    def get(self, key: str) -> bytes | None:
        try:
            record = json.loads(self._path(key).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("expires", 0) <= time.time():
            return None
        value = record.get("value")
        return value.encode() if isinstance(value, str) else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        record = json.dumps({"expires": time.time() + ttl, "value": value.decode()})
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(record)
            os.replace(temporary, self._path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class RedisStore:
    """Shared by every process that reaches one Redis. Takes a synchronous ``redis.Redis``
    (also from an ``AsyncClient``: each call is one short round trip)."""

    def __init__(self, client: redis.Redis, prefix: str = "esimhub-client:") -> None:
        self._redis = client
        self._prefix = prefix

    def get(self, key: str) -> bytes | None:
        value = self._redis.get(self._prefix + key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._redis.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))

    def delete(self, key: str) -> None:
        self._redis.delete(self._prefix + key)
