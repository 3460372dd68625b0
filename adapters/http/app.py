"""`create_app(runtime)`: the FastAPI app of `deskbot serve` — chat API, chat widget, Slack endpoints, webhooks,
health, metrics.

Middleware, outermost first: load shedding (503 + Retry-After beyond `[server] max_in_flight`, decided from the path
alone, before the request is logged, measured or its body read: a refusal costs next to nothing, so an overloaded
process sheds fast; with `[server] max_loop_lag_ms`, the chat lanes are also shed while the event loop is behind,
`adapters.http.loop_lag`; with answer processes, the chat turns also while they have no place for them,
`adapters.http.answer_channel`), the request log, request metrics, the body read timeout (408), then the body size
limit (413 before any route reads a byte too many). A shed request is counted by `deskbot_http_shed_requests_total`
only. Slack routes are mounted only with `[slack] signing_secret`, the incoming webhook only with `[webhooks] secret`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from adapters.http import (
    admin_routes,
    api_routes,
    handoff_notices,
    health_routes,
    openai_routes,
    operator_delivery,
    widget_routes,
)
from adapters.http.answer_channel import AnswerChannel
from adapters.http.answer_channel_server import socket_path
from adapters.http.answer_status import AnswerStatusBoard
from adapters.http.answer_worker import AnswerWorker, JobHandler, nothing_to_answer
from adapters.http.api_keys import ApiKeys
from adapters.http.context import ChannelContext
from adapters.http.deliveries import deliveries_from_settings, queue_database_url
from adapters.http.handoff_notices import HandoffWebhook
from adapters.http.limits import BodySizeLimit
from adapters.http.load_shedding import InFlightLimit, LagShedding, PlaceShedding
from adapters.http.loop_lag import LoopLag
from adapters.http.metrics import Metrics, RequestMetrics
from adapters.http.payloads import validation_problems
from adapters.http.read_timeouts import BodyDeadline
from adapters.http.request_log import RequestLog
from adapters.http.serve_environment import ANSWERS_ELSEWHERE_ENV, runtime_from_environment
from adapters.http.settings import ServerSettings, SlackSettings, WebhookSettings
from adapters.http.store_errors import map_store_errors
from adapters.http.widget_keys import WidgetKeys
from bot.store.database import Database
from knowledge.errors import DeskbotError

if TYPE_CHECKING:
    from bot.adapter import AdapterContext

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0
# The chat routes whose turns the load shedding refuses early when the answer processes have no place for them (the
# widget's refuse in their route, with the CORS headers a page needs to read the 503).
PLACE_SHED_PATHS = frozenset({"/v1/chat", "/v1/chat/stream", "/v1/chat/completions"})
DELIVERY_MEMORY = timedelta(days=1)
PRUNE_EVERY_S = 3600.0


def build_context(adapter: AdapterContext, owns_process: bool = False) -> ChannelContext:
    """The channel context of an app or answer process; `owns_process`: the only one in its process, which lives as
    long as it does (a `deskbot serve` process, not a test), so what it loads may be frozen for the garbage collector
    (`Responder.freeze_heap`), and the process's GIL switch interval is `[server] switch_interval_ms`.

    The switch interval is how long a thread running Python (the engine answering a chat in `asyncio.to_thread`,
    the queue writer) keeps the GIL while the event loop waits for it: every hand-over can cost the loop that long,
    so Python's 5 ms put up to 5 ms into an acknowledgement or a 503 for each hand-over on its way; 1 ms cut the
    loop's step behind a busy thread about threefold here, for a few more switches a second.
    """
    settings = adapter.settings
    server = settings.section(ServerSettings)
    if owns_process:
        sys.setswitchinterval(server.switch_interval_ms / 1000)
    responder = adapter.responder
    responder.ready_timeout_s = server.ready_timeout_s
    responder.freeze_heap = owns_process
    database = adapter.database()
    queue_url = queue_database_url(settings)
    one_pool = queue_url == database.url  # one pool per database
    queue_database = database if one_pool else Database.from_settings(settings, queue_url)
    metrics = Metrics()
    deliveries = deliveries_from_settings(
        settings, queue_database, on_given_up=lambda source: metrics.undelivered.labels(source).inc()
    )
    context = ChannelContext(
        responder=responder,
        settings=settings,
        metrics=metrics,
        api_keys=ApiKeys(database),
        widget_keys=WidgetKeys(database),
        deliveries=deliveries,
        databases=(database,) if queue_database is database else (database, queue_database),
        knowledge=adapter.knowledge,
    )
    responder.listen(lambda message, reply: context.metrics.record_reply(message.channel, reply))
    slack = settings.section(SlackSettings)
    if slack.signing_secret is not None and slack.bot_token is not None:
        from adapters.http.slack.replies import SlackReplies

        context.slack = SlackReplies(slack.bot_token.get_secret_value(), slack.api_url, slack.max_rate_limit_retries)
    hooks = settings.section(WebhookSettings)
    if hooks.outgoing_urls:
        if hooks.secret is None:
            log.warning("[webhooks] outgoing_urls is set but secret is not: outgoing webhooks are off")
        else:
            from adapters.http.outgoing_webhooks import OutgoingWebhooks

            secret = hooks.secret.get_secret_value()
            outgoing = OutgoingWebhooks(hooks.outgoing_urls, secret, hooks.timeout_s)
            context.outgoing = outgoing
            responder.listen(lambda message, reply: outgoing.announce(message, reply, context))
    context.handoff = HandoffWebhook.from_settings(settings, deliveries)
    if context.handoff is not None:
        context.handoff.listen_to(adapter.handoff_notices)
    return context


def answer_worker(context: ChannelContext) -> AnswerWorker:
    """The worker answering `context`'s queued deliveries, with a handler for each source."""
    from adapters.http.slack.routes import answer_slack_job, deliver_slack_reply
    from adapters.http.webhooks import answer_webhook_job

    handlers = {
        "slack": JobHandler(
            functools.partial(answer_slack_job, context), functools.partial(deliver_slack_reply, context)
        ),
        "webhook": JobHandler(functools.partial(answer_webhook_job, context)),
        operator_delivery.SOURCE: JobHandler(nothing_to_answer, operator_delivery.OperatorDelivery(context).deliver),
    }
    if context.handoff is not None:
        handlers[handoff_notices.SOURCE] = JobHandler(nothing_to_answer, context.handoff.post)
    if context.outgoing is not None:
        from adapters.http import outgoing_webhooks

        handlers[outgoing_webhooks.SOURCE] = JobHandler(outgoing_webhooks.already_answered, context.outgoing.post)
    server, llm = context.server, context.settings.llm
    if server.answer_lease_s <= llm.timeout_s:
        log.warning(
            "[server] answer_lease_s (%gs) is not longer than [llm] timeout_s (%gs): a slow answer may be taken by "
            "another worker and sent twice",
            server.answer_lease_s,
            llm.timeout_s,
        )
    worker = AnswerWorker(
        context.deliveries, handlers, server.answer_concurrency, sources=operator_delivery.HTTP_SOURCES
    )
    context.worker = worker
    return worker


async def prune_deliveries(context: ChannelContext) -> None:
    """Forget handled delivery ids once no retry can come any more (Slack retries for minutes, we keep a day)."""
    while True:
        try:
            removed = await asyncio.to_thread(context.deliveries.forget_older_than, DELIVERY_MEMORY)
            if removed:
                log.info("forgot %d handled deliveries older than %s", removed, DELIVERY_MEMORY)
        except DeskbotError as error:
            log.warning("cannot prune handled deliveries: %s", error)
        await asyncio.sleep(PRUNE_EVERY_S)


async def _invalid_request(_request: Request, error: Exception) -> Response:
    """Malformed JSON is 400; a body that does not fit the route's model is 422 with short problems that never
    echo the body (`payloads.validation_problems`), so the answer is small and encodable whatever was sent."""
    assert isinstance(error, RequestValidationError)
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
    return JSONResponse({"detail": validation_problems(error.errors())}, status_code=422)


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, configured as the `deskbot serve` that started it."""
    from bot.logging_setup import configure_logging

    runtime = runtime_from_environment()
    configure_logging(runtime.settings.logging)
    adapter = runtime.adapter_context()
    status_folder = os.environ.get(ANSWERS_ELSEWHERE_ENV)
    return serving_app(adapter, AnswerStatusBoard(Path(status_folder)) if status_folder else None)


def serving_app(adapter: AdapterContext, answer_processes: AnswerStatusBoard | None = None) -> FastAPI:
    """The app of a `deskbot serve` process, which it has to itself (see `build_context`'s `owns_process`); with
    `answer_processes`, they answer the queue and the chat turns (`chat_channel`), and /readyz waits for them; with
    `[server] answering = "external"`, `deskbot worker` processes answer the queue, /readyz waits for one's heartbeat
    in the store, and this process answers the chat turns itself."""
    context = build_context(adapter, owns_process=True)
    context.answer_processes = answer_processes
    if answer_processes is not None:
        context.chat_channel = chat_channel(context, answer_processes)
        # They answer every turn; this process reads the knowledge base (console, citations), not the models.
        context.responder.warm_models = False
    external = context.server.answering == "external"
    if external:
        from adapters.http.worker_heartbeats import WorkerHeartbeats

        context.worker_heartbeats = WorkerHeartbeats(context.deliveries.database)
    return create_app(context, answers_elsewhere=answer_processes is not None or external)


def chat_channel(context: ChannelContext, board: AnswerStatusBoard) -> AnswerChannel:
    """The channel to the `[server] answer_processes` that report on `board`, for this process's chat turns."""
    server = context.server
    return AnswerChannel(
        [socket_path(board.folder, number) for number in range(server.answer_processes)],
        turns_per_process=server.chat_turns_per_answer_process,
        queue_length=server.chat_queue,
        queue_wait_s=server.chat_queue_wait_s,
        retry_after_s=server.shed_retry_after_s,
        on_shed=context.metrics.shed.inc,
    )


async def close_context(context: ChannelContext) -> None:
    """Finish what `context` still sends (bounded), then close its connections."""
    await context.background.drain(SHUTDOWN_GRACE_S)
    await context.responder.stop()
    if context.slack is not None:
        await context.slack.close()
    if context.outgoing is not None:
        await context.outgoing.close()
    if context.handoff is not None:
        await context.handoff.close()
    context.close()


def create_app(context: ChannelContext, answers_elsewhere: bool = False) -> FastAPI:
    """The app; its own answer worker answers queued deliveries unless `answers_elsewhere` (answer processes do)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        context.responder.start()
        pruning = asyncio.create_task(prune_deliveries(context), name="deskbot-prune-deliveries")
        watching = asyncio.create_task(loop_lag.watch(), name="deskbot-loop-lag") if lag_shedding else None
        worker = None if answers_elsewhere else answer_worker(context)
        answering = asyncio.create_task(worker.run(), name="deskbot-answer-worker") if worker else None
        try:
            yield
        finally:
            pruning.cancel()
            if watching is not None:
                watching.cancel()
            if answering is not None and worker is not None:
                await worker.stop(SHUTDOWN_GRACE_S)
                await answering
            await close_context(context)

    server = context.server
    loop_lag = LoopLag()
    lag_shedding = None
    if server.max_loop_lag_ms > 0:
        lanes = frozenset(server.lag_shed_lanes)
        lag_shedding = LagShedding(loop_lag, server.max_loop_lag_ms / 1000, lanes)
    docs = server.docs
    app = FastAPI(
        title="Deskbot",
        summary="Customer-service answers from your help centre: chat API, Slack endpoints, webhooks.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.deskbot = context
    app.add_exception_handler(RequestValidationError, _invalid_request)
    map_store_errors(app)
    app.include_router(health_routes.router)
    app.include_router(api_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(widget_routes.router)
    app.include_router(widget_routes.script_router)
    app.include_router(admin_routes.router)
    slack = context.slack_settings
    if slack.signing_secret is not None:
        from slack_sdk.signature import SignatureVerifier

        from adapters.http.slack import routes as slack_routes
        from adapters.http.slack.shapes import UnexpectedPayloadError

        app.state.slack_verifier = SignatureVerifier(slack.signing_secret.get_secret_value())
        app.add_exception_handler(UnexpectedPayloadError, slack_routes.ignore_unexpected_payload)
        app.include_router(slack_routes.router)
        if slack.bot_token is None:
            log.warning("[slack] bot_token is not set: Slack events are acknowledged but not answered")
    else:
        log.info("[slack] signing_secret is not set: the Slack endpoints are off")
    if context.webhook_settings.secret is not None:
        from adapters.http import webhooks

        app.include_router(webhooks.router)
    app.add_middleware(BodySizeLimit, max_bytes=server.max_body_bytes)
    app.add_middleware(BodyDeadline, read_timeout_s=server.read_timeout_s)
    app.add_middleware(RequestMetrics, metrics=context.metrics)
    app.add_middleware(RequestLog)
    app.add_middleware(
        InFlightLimit,
        max_in_flight=server.max_in_flight,
        retry_after_s=server.shed_retry_after_s,
        on_shed=context.metrics.shed.inc,
        lag_shedding=lag_shedding,
        place_shedding=PlaceShedding(context.chat_channel.no_place, PLACE_SHED_PATHS) if context.chat_channel else None,
    )
    return app
