"""Bearer API keys for `/v1/*`: `Authorization: Bearer dsk_...`, checked against the hashed keys in the store.

`api_principal` is the dependency of every `/v1` route: the caller's key as a `Principal` (whose namespace holds
every id it sends), counted against the caller's rate limit. A database that cannot check the key raises
`StoreError`, which the app answers with 503 (`adapters.http.store_errors`), for a bad key as for a good one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.http.context import channel_context
from adapters.http.principals import Principal

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


async def api_principal(request: Request, key_name: Annotated[str, Depends(api_key_name)]) -> Principal:
    """The caller as a principal, once its request is within its rate limit (429 beyond it)."""
    principal = Principal.api_key(key_name)
    await (await channel_context(request)).api_limits.admit(principal)
    return principal
