"""The operator console's pages: `/admin/login` (the only route open without credentials), `/admin` (the console),
its script and style sheet, `/admin/logout`; the JSON API under `/admin/api` is `adapters.http.admin_api`.

The login page is a plain HTML form, without script: `POST /admin/login` trades an operator key for a console
session (`adapters.http.admin_sessions`) and redirects to `/admin` with its cookie (`adapters.http.admin_auth`), or
shows the form again with 401. `/admin` without credentials answers 401 with that same form, so the console's page
is never shown to someone who has not logged in. The console itself is vanilla JavaScript and CSS shipped as package
data (`adapters/http/admin/`); every page is served with a Content-Security-Policy that allows only Deskbot's own
script and style (no inline script, no CDN) and no framing, and the script sets every text it shows with
`textContent`, so HTML in a message or in the knowledge base is shown, never run.
"""

from __future__ import annotations

import asyncio
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from adapters.http import admin_api
from adapters.http.admin_auth import SESSION_COOKIE, Operator, operator, same_origin
from adapters.http.admin_console import Console, console

MAX_LOGIN_BODY = 1_000
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make the login form post `Origin: null`
    "Cache-Control": "no-store",
}
ASSET_TYPES = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}

router = APIRouter(prefix="/admin", tags=["operator console"], include_in_schema=False)
router.include_router(admin_api.router)
Parts = Annotated[Console, Depends(console)]


@cache
def asset(name: str) -> bytes:
    return files("adapters.http.admin").joinpath(name).read_bytes()


LOGIN_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
"""The login page has no script at all and its one style sheet inline: it is the only page served to anyone."""


def login_page(message: str = "", status_code: int = 200) -> Response:
    page = Template(asset("login.html").decode()).substitute(message=escape(message))
    return Response(page, status_code, LOGIN_HEADERS, media_type="text/html; charset=utf-8")


@router.get("/login")
async def login_form() -> Response:
    """The login form: an operator key (`deskbot keys create-operator NAME`)."""
    return login_page()


@router.post("/login")
async def login(request: Request, parts: Parts) -> Response:
    """Check the operator key of the form and start a console session: 303 to /admin with the session cookie."""
    if not same_origin(request):
        raise HTTPException(403, "log in from the console's own login page")
    body = await request.body()
    if len(body) > MAX_LOGIN_BODY:
        return login_page("That is not an operator key.", 401)
    key = parse_qs(body.decode("utf-8", "replace")).get("key", [""])[0].strip()
    name = await asyncio.to_thread(parts.operator_keys.verify, key) if key else None
    if name is None:
        return login_page("Unknown or revoked operator key.", 401)
    token = await asyncio.to_thread(parts.sessions.open, name)
    response = RedirectResponse("/admin", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(parts.sessions.lifetime.total_seconds()),
        path="/admin",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("")
async def console_page(request: Request, parts: Parts) -> Response:
    """The console (401 with the login form without credentials)."""
    try:
        await operator(request, parts)
    except HTTPException as refused:
        if refused.status_code != 401:
            raise
        return login_page("Log in with your operator key to open the console.", 401)
    return Response(asset("console.html"), 200, PAGE_HEADERS, media_type="text/html; charset=utf-8")


@router.get("/assets/{name}")
async def console_asset(name: str, _operator: Operator) -> Response:
    """The console's script and style sheet (operators only, like everything under /admin)."""
    if name not in ASSET_TYPES:
        raise HTTPException(404, "no such console file")
    return Response(asset(name), 200, PAGE_HEADERS, media_type=ASSET_TYPES[name])


@router.post("/logout")
async def logout(request: Request, _operator: Operator, parts: Parts) -> Response:
    """End this console session (the cookie's); 204."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await asyncio.to_thread(parts.sessions.close, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="strict")
    return response
