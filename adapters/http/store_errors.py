"""A database that does not answer is a 503 with `Retry-After` on every route, never a 500.

`map_store_errors(app)` installs one exception handler for `StoreError` (what the stores raise for any database
failure) and for a SQLAlchemy `OperationalError` that escapes unwrapped: an API key that cannot be checked, a
delivery that cannot be queued, whatever route meets the failure. Slack and webhook senders retry a 503 later; an API
client is told when to (`Retry-After`). A turn already past the key check does not get here: the engine answers it
without memory (`bot.stages.history`). Once the database answers again the same process serves again
(`bot.store.database`: pooled connections are pinged before use).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError

from bot.store.database import StoreError

log = logging.getLogger(__name__)

STORE_RETRY_AFTER_S = 5


async def store_unavailable(request: Request, error: Exception) -> Response:
    # A SQLAlchemy error's text carries the statement and its parameters (a key's hash): only its class is logged.
    what = str(error) if isinstance(error, StoreError) else error.__class__.__name__
    log.error("%s %s: the database does not answer: %s", request.method, request.url.path, what)
    return JSONResponse(
        {"detail": "the database is not answering; retry later"},
        status_code=503,
        headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
    )


def map_store_errors(app: FastAPI) -> None:
    for error_class in (StoreError, OperationalError):
        app.add_exception_handler(error_class, store_unavailable)
