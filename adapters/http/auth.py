"""Bearer API keys for `/v1/*`: `Authorization: Bearer dsk_...`, checked against the hashed keys in the store."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.http.context import channel_context

_bearer = HTTPBearer(auto_error=False, description="An API key from `deskbot keys create NAME`.")


async def api_key_name(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The name of the caller's API key; 401 when it is missing, unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing API key (Authorization: Bearer ...)", {"WWW-Authenticate": "Bearer"})
    context = await channel_context(request)
    name = await asyncio.to_thread(context.api_keys.verify, credentials.credentials)
    if name is None:
        raise HTTPException(401, "invalid or revoked API key", {"WWW-Authenticate": "Bearer"})
    return name
