"""`/healthz` (the process answers), `/readyz` (knowledge and models loaded, here and in whatever answers the queue;
the database answers) and `/metrics` (Prometheus).

`/readyz` is 503 while the models load (`loading`) or failed to (`failed`), here or in an answer process of
`deskbot serve` (`answer_processes` says which); with `[server] answering = "external"`, while no `deskbot worker`
said `ready` in the store lately (`no answer worker`, `answer_workers` says what the workers last said,
`adapters.http.worker_heartbeats`); and while a database the routes need does not answer a `SELECT 1` within
`STORE_CHECK_TIMEOUT_S` (`store unavailable`, with `Retry-After`): a load balancer then sends requests elsewhere
instead of to a process that can only answer them 503, or queue deliveries nothing will answer. It turns ready again
once all of them are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from adapters.http.answer_status import AnswerReadiness
from adapters.http.context import ChannelContext, channel_context
from adapters.http.store_errors import STORE_RETRY_AFTER_S
from bot.store.database import StoreError

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

STORE_CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def store_answers(context: ChannelContext) -> bool:
    """Whether every database of `context` answers a `SELECT 1` within `STORE_CHECK_TIMEOUT_S`."""
    try:
        async with asyncio.timeout(STORE_CHECK_TIMEOUT_S):
            for database in context.databases:
                await asyncio.to_thread(database.check)
    except (StoreError, TimeoutError) as error:
        log.warning("not ready: %s", str(error) or f"the database took over {STORE_CHECK_TIMEOUT_S:g}s to answer")
        return False
    return True


@router.get("/readyz")
async def readyz(context: Annotated[ChannelContext, Depends(channel_context)]) -> JSONResponse:
    if not context.responder.ready:
        status = "failed" if context.responder.failure is not None else "loading"
        return JSONResponse({"status": status}, status_code=503)
    answers = await answer_processes_readiness(context)
    if answers is not None and not answers.ready:
        return JSONResponse({"status": "loading", "answer_processes": answers.detail}, status_code=503)
    retry = {"Retry-After": str(STORE_RETRY_AFTER_S)}
    if not await store_answers(context):
        return JSONResponse({"status": "store unavailable"}, status_code=503, headers=retry)
    if context.worker_heartbeats is not None:
        try:
            workers = await asyncio.to_thread(context.worker_heartbeats.readiness)
        except StoreError as error:
            log.warning("not ready: %s", error)
            return JSONResponse({"status": "store unavailable"}, status_code=503, headers=retry)
        if not workers.ready:
            return JSONResponse({"status": "no answer worker", "answer_workers": workers.detail}, status_code=503)
        return JSONResponse({"status": "ready", "answer_workers": workers.detail})
    return JSONResponse({"status": "ready"})


async def answer_processes_readiness(context: ChannelContext) -> AnswerReadiness | None:
    """Whether the answer processes of `deskbot serve` have loaded their models and beat (None: this process
    answers the queue itself)."""
    if context.answer_processes is None:
        return None
    return await asyncio.to_thread(context.answer_processes.readiness)


@router.get("/metrics", response_class=Response)
async def metrics(context: Annotated[ChannelContext, Depends(channel_context)]) -> Response:
    return Response(context.metrics.render(), media_type=context.metrics.content_type)
