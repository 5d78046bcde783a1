"""The server-side usage cache of the "current" polling policy: the same body for a while."""

from __future__ import annotations

import json
import math
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError


class UsageCache:
    """Bodies by key, in Redis when configured (shared by all processes) or in memory.

    Freshness is judged on the system clock, so moving a sandbox clock ages entries too. A Redis
    failure reads as a miss: the body is computed again.
    """

    def __init__(self, redis: aioredis.Redis | None, *, key_prefix: str = "esimhub:") -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}usage:"
        self._memory: dict[str, tuple[float, bytes]] = {}

    async def get(self, key: str, now: datetime, max_age: int) -> bytes | None:
        if self._redis is None:
            entry = self._memory.get(key)
        else:
            try:
                raw = await self._redis.get(self._prefix + key)
            except (RedisError, OSError):
                return None
            entry = None if raw is None else _decode(raw)
        if entry is None or now.timestamp() - entry[0] >= max_age:
            return None
        return entry[1]

    async def put(self, key: str, body: bytes, now: datetime, max_age: int) -> None:
        if max_age <= 0:
            return
        if self._redis is None:
            if len(self._memory) > 100_000:
                self._memory.clear()
            self._memory[key] = (now.timestamp(), body)
            return
        value = json.dumps({"at": now.timestamp(), "body": body.decode()})
        try:
            await self._redis.set(self._prefix + key, value, ex=max(1, math.ceil(max_age)))
        except (RedisError, OSError):
            return


def _decode(raw: bytes | str) -> tuple[float, bytes]:
    entry = json.loads(raw)
    return float(entry["at"]), str(entry["body"]).encode()
