"""`deskbot worker [--processes N] [--check]`: answer workers as a service of their own, apart from `deskbot serve`.

A worker answers and delivers the deliveries that HTTP-only `deskbot serve` instances (`[server] answering =
"external"`) queue in the store of `[store] url` (Slack events, incoming webhooks, outgoing announcements), with the
same answer processes `deskbot serve` starts (`adapters.http.answer_process`): each loads the runtime once, answers,
beats in the store and is restarted when it dies. SIGTERM stops them cleanly: running answers finish (bounded) or are
released to the queue for another worker. `--check` is the health check of a worker's container: exit 0 when the
answer processes of this host beat `ready` in the store lately, 1 (and why) otherwise.
"""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from bot.cli.console import err, out
from bot.cli.main import KbOption, fail, runtime, settings


def worker(
    kb: KbOption = None,
    processes: Annotated[
        int, typer.Option("--processes", help="Answer processes (each loads the models; one per spare core).")
    ] = 1,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 0 if this host's answer workers are ready (a health check).")
    ] = False,
) -> None:
    """Answer the deliveries queued in the store, for HTTP-only `deskbot serve` (server.answering = "external")."""
    if not 1 <= processes <= 64:
        fail(f"--processes {processes}: needs 1 to 64")
    if check:
        _check(kb)
        return
    from adapters.http.answer_process import run_answer_workers
    from adapters.http.deliveries import queue_database_url
    from bot.store.database import Database

    rt = runtime(kb)
    rt.database().upgrade()  # the schema migrations, once, before any answer process opens the database
    Database.from_settings(rt.settings, queue_database_url(rt.settings)).upgrade()
    run_answer_workers(rt.settings, processes)


def _check(kb: KbOption) -> None:
    from adapters.http.deliveries import queue_database_url
    from adapters.http.worker_heartbeats import WorkerHeartbeats
    from bot.store.database import Database

    loaded = settings(kb)
    queue = Database.from_settings(loaded, queue_database_url(loaded))
    readiness = WorkerHeartbeats(queue).host_readiness(socket.gethostname())
    if not readiness.ready:
        err.print(f"not ready: {readiness.detail}", highlight=False, markup=False)
        raise typer.Exit(1)
    out.print(readiness.detail, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command()(worker)
