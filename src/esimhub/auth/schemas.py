"""Wire shapes of the auth endpoints (for OpenAPI; responses are rendered as documented)."""

from __future__ import annotations

from pydantic import BaseModel


class Meta(BaseModel):
    message: str


class TokenData(BaseModel):
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int
    access_token: str


class TokenResponse(BaseModel):
    data: TokenData
    meta: Meta


class TokenRequest(BaseModel):
    client_id: str
    client_secret: str
    grant_type: str = "client_credentials"
