"""`/healthz` (the process answers), `/readyz` (knowledge and models loaded) and `/metrics` (Prometheus)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from adapters.http.context import ChannelContext, channel_context

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(context: Annotated[ChannelContext, Depends(channel_context)]) -> JSONResponse:
    if context.responder.ready:
        return JSONResponse({"status": "ready"})
    status = "failed" if context.responder.failure is not None else "loading"
    return JSONResponse({"status": status}, status_code=503)


@router.get("/metrics", response_class=Response)
async def metrics(context: Annotated[ChannelContext, Depends(channel_context)]) -> Response:
    return Response(context.metrics.render(), media_type=context.metrics.content_type)
