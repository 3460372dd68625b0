"""`/healthz` (the process answers), `/readyz` (knowledge and models loaded, here and in every answer process) and
`/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from adapters.http.answer_status import AnswerReadiness
from adapters.http.context import ChannelContext, channel_context

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(context: Annotated[ChannelContext, Depends(channel_context)]) -> JSONResponse:
    if not context.responder.ready:
        status = "failed" if context.responder.failure is not None else "loading"
        return JSONResponse({"status": status}, status_code=503)
    answers = await answer_processes_readiness(context)
    if answers is not None and not answers.ready:
        return JSONResponse({"status": "loading", "answer_processes": answers.detail}, status_code=503)
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
