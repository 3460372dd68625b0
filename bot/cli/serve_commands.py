"""`deskbot serve` (the HTTP app: chat API, Slack endpoints, webhooks) and `deskbot discord` (the Discord bot)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.main import KbOption, fail, runtime


def serve(
    kb: KbOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on (default: server.port).")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: server.workers).")
    ] = None,
) -> None:
    """Serve the HTTP app: /v1/chat (+ streaming), Slack endpoints, webhooks, /healthz, /readyz, /metrics, /docs."""
    if port is not None and not 1 <= port <= 65535:
        fail(f"--port {port}: not a port number (1-65535)")
    if workers is not None and workers < 1:
        fail(f"--workers {workers}: needs at least 1")
    rt = runtime(kb)
    rt.database().upgrade()  # the schema migrations, once, before any worker process opens the database
    rt.adapter("http").run(host=host, port=port, workers=workers)


def discord(kb: KbOption = None) -> None:
    """Run the Discord bot (token from DESKBOT_DISCORD__TOKEN, or token in the discord section of deskbot.toml)."""
    runtime(kb).adapter("discord").run()


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(discord)
