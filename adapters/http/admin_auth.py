"""Who may use the operator console: an operator, by a console session cookie or by their operator key.

`operator` is the dependency of every `/admin` route but the login page. It accepts
- the session cookie `deskbot_console` that `POST /admin/login` sets (`adapters.http.admin_sessions`): HttpOnly (no
  script reads it), SameSite=Strict (no other site's page or link sends it), Path=/admin, expiring with its session;
- `Authorization: Bearer dso_...`, an operator key itself (scripts; `adapters.http.operator_keys`).
Anything else is 401: no credentials, an unknown, expired or revoked one, an API key (`dsk_`) or a widget key
(`dsw_`). With no operator key created, nothing passes: the console is closed by default.

A request that changes something (POST, PUT, DELETE) with the cookie must also carry the `X-Deskbot-Console` header
and, when the browser sends `Origin`, come from the console's own origin (the `Host` it was asked at); otherwise 403.
A page on another site cannot add a custom header without a CORS preflight, which `/admin` never grants, so it cannot
make an operator's browser post with the cookie. The login form, which has no script to add the header, is checked
by its `Origin` alone (`same_origin`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request

from adapters.http.admin_console import Console, console

SESSION_COOKIE = "deskbot_console"
CSRF_HEADER = "X-Deskbot-Console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def not_logged_in(detail: str = "log in at /admin/login with an operator key") -> HTTPException:
    return HTTPException(401, detail, {"WWW-Authenticate": 'Bearer realm="deskbot-console"'})


def same_origin(request: Request) -> bool:
    """Whether the request's `Origin`, when it has one, is the console's own (its host and port)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def operator(request: Request, parts: Annotated[Console, Depends(console)]) -> str:
    """The operator's name; 401 without valid operator credentials, 403 for a cross-site change."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential:
        name = await asyncio.to_thread(parts.operator_keys.verify, credential.strip())
        if name is None:
            raise not_logged_in("invalid or revoked operator key")
        return name
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise not_logged_in()
    name = await asyncio.to_thread(parts.sessions.operator, token)
    if name is None:
        raise not_logged_in("the console session has expired or was ended: log in again at /admin/login")
    if request.method not in SAFE_METHODS and (CSRF_HEADER.lower() not in request.headers or not same_origin(request)):
        raise HTTPException(403, f"a console change needs the {CSRF_HEADER} header and the console's own origin")
    return name


Operator = Annotated[str, Depends(operator)]
