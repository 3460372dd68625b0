"""Answer processes: `deskbot serve` runs the answer workers apart from the HTTP workers, at a lower CPU priority.

With the answers in processes of their own, the kernel runs an acknowledgement as soon as it arrives instead of after
whatever answer work the event loop had queued (at 200 Slack events/s with 2 cores, that was the difference between
a p99 of a few milliseconds and of seconds). Each process builds its runtime the way the HTTP workers do, answers
queued deliveries until SIGTERM or SIGINT, then lets running answers finish (bounded).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0


def answer_process_main(niceness: int) -> None:
    """Entry point of one answer process (started with the `spawn` method, so nothing is inherited but the env)."""
    from adapters.http.serve_environment import runtime_from_environment
    from bot.logging_setup import configure_logging

    if niceness:
        os.nice(niceness)
    runtime = runtime_from_environment()
    configure_logging(runtime.settings.logging, logging.INFO, role="answers")
    asyncio.run(_answer_until_stopped(runtime))


async def _answer_until_stopped(runtime: Runtime) -> None:
    from adapters.http.app import SHUTDOWN_GRACE_S, answer_worker, build_context, close_context

    context = build_context(runtime.adapter_context(), owns_process=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    orphan_watch = asyncio.create_task(_stop_when_orphaned(stopped), name="deskbot-orphan-watch")
    context.responder.start()
    worker = answer_worker(context)
    answering = asyncio.create_task(worker.run(), name="deskbot-answer-worker")
    log.info("answer process %d started", os.getpid())
    await stopped.wait()
    orphan_watch.cancel()
    await worker.stop(SHUTDOWN_GRACE_S)
    await answering
    await close_context(context)
    log.info("answer process %d stopped", os.getpid())


async def _stop_when_orphaned(stopped: asyncio.Event) -> None:
    """`deskbot serve` was killed without stopping us (kill -9): stop too, rather than answer on unsupervised."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    log.warning("the serving process %d is gone; stopping", parent)
    stopped.set()


class AnswerProcesses:
    def __init__(self, count: int, niceness: int) -> None:
        self._count = count
        self._niceness = niceness
        self._processes: list[BaseProcess] = []

    def start(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        for number in range(self._count):
            process = spawn.Process(
                target=answer_process_main, args=(self._niceness,), name=f"deskbot-answers-{number}", daemon=True
            )
            process.start()
            self._processes.append(process)

    def stop(self) -> None:
        for process in self._processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self._processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                log.warning("answer process %s did not stop in %.0fs; killing it", process.pid, STOP_TIMEOUT_S)
                process.kill()
                process.join()
