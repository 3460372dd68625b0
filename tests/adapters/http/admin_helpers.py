"""What the console's tests share: an operator key, logging in, and a console client that sends the console's
header (as `console.js` does)."""

from __future__ import annotations

import httpx

from adapters.http.admin_auth import CSRF_HEADER
from adapters.http.context import ChannelContext
from adapters.http.operator_keys import OperatorKeys

CONSOLE_HEADERS = {CSRF_HEADER: "1", "Origin": "http://deskbot.test"}


def operator_key(context: ChannelContext, name: str = "ada") -> str:
    return OperatorKeys(context.databases[0]).create(name)


async def log_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """POST the login form as the browser does; the client keeps the session cookie."""
    return await client.post(
        "/admin/login",
        content=f"key={key}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://deskbot.test"},
    )
