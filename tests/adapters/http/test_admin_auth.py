"""The console's credentials: closed by default, 401 on every /admin route without an operator (also with an API or
a widget key), the login form and its cookie, sessions that expire or end with their key, and the CSRF checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute

from adapters.http import admin_api
from adapters.http import admin_routes as admin_routes_module
from adapters.http.admin_auth import SESSION_COOKIE
from adapters.http.admin_sessions import OperatorSessions
from adapters.http.context import ChannelContext
from adapters.http.operator_keys import OperatorKeyError, OperatorKeys
from tests.adapters.http.admin_helpers import CONSOLE_HEADERS, log_in, operator_key

OPEN_ROUTES = {("GET", "/admin/login"), ("POST", "/admin/login")}


def admin_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /admin but the login form, with its path parameters filled in."""
    found = []
    routes = [(route, route.path) for route in admin_routes_module.router.routes if isinstance(route, APIRoute)]
    routes += [(route, "/admin" + route.path) for route in admin_api.router.routes if isinstance(route, APIRoute)]
    for route, full_path in routes:
        path = full_path.replace("{answer_id}", "1").replace("{name}", "console.js")
        found.extend((method, path) for method in route.methods if (method, full_path) not in OPEN_ROUTES)
    return sorted(found)


async def call(client: httpx.AsyncClient, method: str, path: str, **options: object) -> httpx.Response:
    body = {"conversation": "c", "text": "t", "question": "q", "answer": "a"}
    if method in {"POST", "PUT"}:
        return await client.request(method, path, json=body, **options)  # type: ignore[arg-type]
    return await client.request(method, path, **options)  # type: ignore[arg-type]


async def test_the_console_is_closed_without_an_operator_key_whatever_else_is_sent(app_client, context, api_key):
    widget_key = context.widget_keys.create("site", ["https://help.example"])
    routes = admin_routes()
    assert len(routes) >= 14 and ("GET", "/admin") in routes and ("POST", "/admin/api/reply") in routes
    attempts: dict[str, dict[str, object]] = {
        "nothing": {},
        "an API key": {"headers": {"Authorization": f"Bearer {api_key}"}},
        "a widget key as bearer": {"headers": {"Authorization": f"Bearer {widget_key}"}},
        "a widget key as the widget sends it": {
            "params": {"key": widget_key},
            "headers": {"Origin": "https://help.example"},
        },
        "a made-up operator key": {"headers": {"Authorization": "Bearer dso_not-a-key"}},
        "a made-up session": {"headers": {"Cookie": f"{SESSION_COOKIE}=made-up"}},
    }
    for what, options in attempts.items():
        for method, path in routes:
            response = await call(app_client, method, path, **options)
            assert response.status_code == 401, f"{method} {path} with {what}: {response.status_code}"
    assert "Operator key" in (await app_client.get("/admin")).text, "/admin without credentials shows the login form"


async def test_with_an_operator_key_an_api_or_widget_key_still_gets_401(app_client, context, api_key):
    operator_key(context)
    widget_key = context.widget_keys.create("site", ["https://help.example"])
    for key in (api_key, widget_key):
        for method, path in admin_routes():
            response = await call(app_client, method, path, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 401, f"{method} {path}"
        assert (await log_in(app_client, key)).status_code == 401


async def test_logging_in_sets_an_httponly_strict_expiring_cookie_and_opens_the_console(app_client, context):
    key = operator_key(context, "ada")
    response = await log_in(app_client, key)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/admin", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower(), attribute
    assert key not in cookie, "the cookie is a session token, not the key"
    page = await app_client.get("/admin")
    assert page.status_code == 200 and "/admin/assets/console.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    script = await app_client.get("/admin/assets/console.js")
    assert script.status_code == 200 and "textContent" in script.text
    for writes_markup in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert writes_markup not in script.text, f"the console renders text only, never {writes_markup}"
    assert (await app_client.get("/admin/api/me")).json() == {"operator": "ada"}


async def test_a_wrong_key_or_a_login_from_another_site_is_refused(app_client, context):
    operator_key(context)
    wrong = await log_in(app_client, "dso_wrong")
    assert wrong.status_code == 401 and "Unknown or revoked operator key" in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    elsewhere = await app_client.post(
        "/admin/login",
        content=f"key={operator_key(context, 'bob')}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403 and "set-cookie" not in elsewhere.headers


async def test_an_operator_key_works_as_a_bearer_key_for_scripts(app_client, context):
    key = operator_key(context, "script")
    response = await app_client.get("/admin/api/me", headers={"Authorization": f"Bearer {key}"})
    assert response.json() == {"operator": "script"}


async def test_a_change_with_the_cookie_needs_the_console_header_and_origin(app_client, context):
    await log_in(app_client, operator_key(context))
    body = {"conversation": "nowhere"}
    no_header = await app_client.post("/admin/api/take-over", json=body)
    assert no_header.status_code == 403
    other_site = await app_client.post(
        "/admin/api/take-over", json=body, headers={**CONSOLE_HEADERS, "Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    allowed = await app_client.post("/admin/api/take-over", json=body, headers=CONSOLE_HEADERS)
    assert allowed.status_code == 404, "past the checks: there is no such conversation"


async def test_revoking_the_key_ends_its_sessions_and_logging_out_ends_one(app_client, context):
    key = operator_key(context, "ada")
    await log_in(app_client, key)
    assert (await app_client.get("/admin/api/me")).status_code == 200
    out = await app_client.post("/admin/logout", headers=CONSOLE_HEADERS)
    assert out.status_code == 204
    app_client.cookies.clear()
    await log_in(app_client, key)
    OperatorKeys(context.databases[0]).revoke("ada")
    assert (await app_client.get("/admin/api/me")).status_code == 401
    assert (await log_in(app_client, key)).status_code == 401


async def test_a_logged_out_session_cookie_is_refused(app_client, context):
    await log_in(app_client, operator_key(context))
    token = app_client.cookies[SESSION_COOKIE]
    await app_client.post("/admin/logout", headers=CONSOLE_HEADERS)
    stale = await app_client.get("/admin/api/me", headers={"Cookie": f"{SESSION_COOKIE}={token}"})
    assert stale.status_code == 401


def test_a_session_expires(context: ChannelContext):
    database = context.databases[0]
    operator_key(context, "ada")
    sessions = OperatorSessions(database, lifetime=timedelta(hours=1))
    opened = datetime(2026, 1, 1, 9, tzinfo=UTC)
    token = sessions.open("ada", now=opened)
    assert sessions.operator(token, now=opened + timedelta(minutes=59)) == "ada"
    assert sessions.operator(token, now=opened + timedelta(hours=1)) is None


def test_operator_key_names_are_checked_and_unique(context: ChannelContext):
    keys = OperatorKeys(context.databases[0])
    keys.create("ada")
    with pytest.raises(OperatorKeyError, match="already exists"):
        keys.create("ada")
    with pytest.raises(OperatorKeyError, match="1-64 letters"):
        keys.create("no spaces")
    with pytest.raises(OperatorKeyError, match="no operator key named"):
        keys.revoke("nobody")
    assert [info.name for info in keys.list()] == ["ada"]
