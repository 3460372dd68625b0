"""The HTTP channel's configuration: `[server]`, `[slack]` and `[webhooks]` in deskbot.toml (`DESKBOT_SLACK__...`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from bot.config import Section


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (Slack de-duplication is shared).")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Requests with a larger body are refused (413).")
    ready_timeout_s: float = Field(60.0, gt=0, description="How long a request waits for the models to load.")
    docs: bool = Field(True, description="Serve the OpenAPI docs at /docs.")
    answer_processes: int = Field(
        1,
        ge=0,
        le=64,
        description="Processes answering webhook deliveries at a lower CPU priority, so acknowledgements stay fast "
        "(0: the HTTP workers answer them).",
    )
    answering: Literal["local", "external"] = Field(
        "local",
        description="Who answers the queued deliveries (Slack events, webhooks, announcements): local (this serve: "
        "its answer_processes, or its HTTP workers with 0) or external (`deskbot worker` processes on the same "
        "store; serve only queues, and /readyz is 503 until a worker's heartbeat in the store is fresh).",
    )
    answer_concurrency: int = Field(256, ge=1, le=10_000, description="Deliveries one answer worker handles at once.")
    answer_lease_s: float = Field(
        300.0, gt=0, description="A delivery taken this long ago and still unanswered is offered again."
    )
    answer_niceness: int = Field(10, ge=0, le=19, description="How much lower the answer processes' CPU priority is.")
    api_rate_limit_requests: int = Field(
        600,
        ge=1,
        description="Most /v1 requests one API key may make per window (429 beyond; counted per [store] rate_limits).",
    )
    api_rate_limit_window_s: float = Field(60.0, gt=0)
    delivery_attempts: int = Field(
        8,
        ge=1,
        le=50,
        description="Attempts at answering and delivering a queued delivery before it is recorded undelivered.",
    )
    retry_backoff_s: float = Field(
        2.0, gt=0, description="Wait before the second attempt of a failed delivery; doubled after each failure."
    )
    retry_backoff_max_s: float = Field(300.0, gt=0, description="The longest wait between two delivery attempts.")
    max_in_flight: int = Field(
        128,
        ge=1,
        le=100_000,
        description="Requests one HTTP process serves at once; beyond, 503 + Retry-After at once (not /healthz, "
        "/readyz, /metrics).",
    )
    shed_retry_after_s: int = Field(1, ge=0, le=3600, description="The Retry-After of a request refused as overload.")
    max_loop_lag_ms: float = Field(
        0.0,
        ge=0,
        description="While the event loop of an HTTP process is this far behind (smoothed), new requests of "
        "lag_shed_lanes get 503 + Retry-After (0: off).",
    )
    lag_shed_lanes: list[str] = Field(
        default_factory=lambda: ["/v1", "/widget"],
        description="The lanes (first path segments) max_loop_lag_ms sheds: those answered in the HTTP process.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A request line and headers not complete this long after the connection opened (or "
        "the previous response) close the connection.",
    )
    read_timeout_s: float = Field(
        30.0, gt=0, description="A request body not complete this long after its headers: 408."
    )
    keep_alive_s: float = Field(5.0, gt=0, description="An idle keep-alive connection is closed after this long.")
    chat_turns_per_answer_process: int = Field(
        32,
        ge=1,
        le=10_000,
        description="Chat turns one HTTP process has answered by each answer process at once (with answer_processes).",
    )
    chat_queue: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Chat turns an HTTP process lets wait for a free place when all are taken; beyond, 503 + "
        "Retry-After at once. 0 (the default): a turn beyond the places is refused at once, within milliseconds.",
    )
    chat_queue_wait_s: float = Field(
        2.0, gt=0, description="How long a chat turn waits for a free place before it is refused (503 + Retry-After)."
    )
    switch_interval_ms: float = Field(
        1.0,
        gt=0,
        le=100,
        description="How long a thread of a serve process runs Python before the event loop may take the GIL "
        "(Python's default is 5).",
    )


class SlackSettings(Section):
    signing_secret: SecretStr | None = Field(None, description="Verifies Slack's requests; no Slack routes without.")
    bot_token: SecretStr | None = None
    api_url: str = Field("https://slack.com/api/", description="Web API base URL (a compatible server or test double).")
    max_rate_limit_retries: int = Field(3, ge=0, le=20)


class WebhookSettings(Section):
    secret: SecretStr | None = Field(None, description="Signs outgoing and verifies incoming webhooks (HMAC-SHA256).")
    outgoing_urls: list[str] = Field(default_factory=list, description="Every reply is POSTed to these URLs.")
    timeout_s: float = Field(10.0, gt=0, description="How long one POST may take (retried through the queue).")
