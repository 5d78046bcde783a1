"""The CLI reads its settings from the environment: point it at the test's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esimhub.config import get_settings


@pytest.fixture(autouse=True)
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ESIMHUB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
