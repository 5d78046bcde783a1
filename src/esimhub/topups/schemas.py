"""Wire shapes of ``POST /orders/topups`` (its answer is a placed order of type ``topup``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from esimhub.kit import wire

Iccid = Annotated[str, Field(min_length=1, max_length=22, pattern=wire.NO_NUL)]


class TopupBody(wire.RequestBody):
    package_id: Annotated[str, Field(min_length=1, max_length=100, pattern=wire.NO_NUL)]
    iccid: Iccid
    description: wire.Text | None = None
