"""``AdminAccess``: the admin API answers only to ``Authorization: Bearer $ESIMHUB_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from esimhub.auth.dependencies import bearer_token
from esimhub.errors import NotFound, Unauthenticated
from esimhub.runtime import RuntimeDep


async def require_admin(request: Request, runtime: RuntimeDep) -> None:
    configured = runtime.settings.admin_token
    if configured is None:
        raise NotFound()  # disabled: the admin API does not exist
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(token, configured.get_secret_value()):
        raise Unauthenticated()


AdminAccess = Annotated[None, Depends(require_admin)]
