"""Answer processes: `deskbot serve` runs the answer workers apart from the HTTP workers, at a lower CPU priority.

With the answers in processes of their own, the kernel runs an acknowledgement as soon as it arrives instead of after
whatever answer work the event loop had queued (at 200 Slack events/s with 2 cores, that was the difference between
a p99 of a few milliseconds and of seconds). Each process builds its runtime the way the HTTP workers do, loads its
models, reports `ready` on the `AnswerStatusBoard` (which `/readyz` reads) and only then takes queued deliveries,
until SIGTERM or SIGINT; then it lets running answers finish (bounded) and releases the rest to the queue.

The chat turns of the HTTP workers (`/v1/chat`, its stream, the OpenAI-compatible and the widget's routes) come to the
process of `deskbot serve` on a Unix socket in the status folder (`adapters.http.answer_channel_server`), listened
on from the start: a turn that arrives while the models load waits for them (`[server] ready_timeout_s`), as it did
in the HTTP process. At the stop, running turns get the same grace as the deliveries; a turn cut off, or one running
when the process died, is a 503 for its caller (`adapters.http.answer_channel`).

Supervision, both ways. A process is given its parent's pid when it is spawned, and its first instruction starts a
`ParentWatch`: a thread that compares `os.getppid()` with that pid and sends the process SIGTERM once the parent is
gone (`deskbot serve` killed with kill -9), whether the process is still importing, loading models or answering. An
orphan stops within `ORPHAN_GRACE_S` plus a poll, instead of answering on unsupervised beside a restarted server.
The parent, for its part, restarts an answer process that died (`AnswerProcesses`), waiting longer after each quick
death so a process that cannot start does not spin.

`deskbot worker` (`run_answer_workers`) is the same supervisor without an HTTP app: HTTP-only `deskbot serve`
instances (`[server] answering = "external"`) on other machines cannot read a local status folder, so these answer
processes also beat in the store (`adapters.http.worker_heartbeats`), which their `/readyz` reads, and remove their
row when they stop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.http.answer_channel_server import AnswerChannelServer, socket_path
from adapters.http.answer_status import HEARTBEAT_S, AnswerStatusBoard
from adapters.http.worker_heartbeats import BEAT_EVERY_S, WorkerHeartbeats
from bot.store.database import StoreError

if TYPE_CHECKING:
    from adapters.http.context import ChannelContext
    from bot.config import Settings
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
ORPHAN_GRACE_S = 2.0
PARENT_POLL_S = 0.25
SUPERVISE_POLL_S = 1.0
RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0
QUICK_DEATH_S = 30.0


class ParentWatch:
    """Sends this process SIGTERM when its parent is no longer `parent_pid` (it died; we were re-parented).

    Before the event loop handles SIGTERM its default action ends the process at once (nothing is taken yet);
    afterwards the loop's handler stops it, and `gone` tells it to keep the grace short.
    """

    def __init__(self, parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
        self.parent_pid = parent_pid
        self.gone = threading.Event()
        self._poll_s = poll_s

    def start(self) -> None:
        threading.Thread(target=self._watch, name="deskbot-parent-watch", daemon=True).start()

    def _watch(self) -> None:
        while os.getppid() == self.parent_pid:
            time.sleep(self._poll_s)
        self.gone.set()
        log.warning("the serving process %d is gone; answer process %d stops", self.parent_pid, os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)


def answer_process_main(
    number: int, niceness: int, parent_pid: int, status_folder: str, beats_in_store: bool = False
) -> None:
    """Entry point of answer process `number` (started with the `spawn` method, so nothing is inherited but the
    env and these arguments); `beats_in_store`: a process of `deskbot worker`, which also beats in the store."""
    watch = ParentWatch(parent_pid)
    watch.start()
    board = AnswerStatusBoard(Path(status_folder))
    board.report(number, "loading", os.getpid())
    if niceness:
        os.nice(niceness)
    from adapters.http.serve_environment import runtime_from_environment
    from bot.logging_setup import configure_logging

    runtime = runtime_from_environment()
    configure_logging(runtime.settings.logging, logging.INFO, role="answers")
    asyncio.run(_answer_until_stopped(runtime, board, number, watch, beats_in_store))


async def _answer_until_stopped(
    runtime: Runtime, board: AnswerStatusBoard, number: int, watch: ParentWatch, beats_in_store: bool
) -> None:
    from adapters.http.app import SHUTDOWN_GRACE_S, answer_worker, build_context, close_context

    context = build_context(runtime.adapter_context(), owns_process=True)
    store = WorkerHeartbeats(context.deliveries.database) if beats_in_store else None
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    # `deskbot worker`'s processes answer the queue only: the HTTP processes of their serves answer their chats.
    chats = None if beats_in_store else AnswerChannelServer(context.responder, socket_path(board.folder, number))
    if chats is not None:
        await chats.start()
    heartbeat = asyncio.create_task(_report_state(board, number, context, store), name="deskbot-answer-heartbeat")
    if not await _loaded_unless_stopped(context, stopped):
        # Nothing was taken from the queue yet (a chat turn waiting for the models gets a 503 as the socket closes),
        # and the thread loading the models cannot be interrupted: leave without waiting.
        board.report(number, "stopped", os.getpid())
        await _forget(store)
        log.info("answer process %d stopped while loading", os.getpid())
        logging.shutdown()
        os._exit(0)
    worker = answer_worker(context)
    answering = asyncio.create_task(worker.run(), name="deskbot-answer-worker")
    log.info("answer process %d ready", os.getpid())
    await stopped.wait()
    heartbeat.cancel()
    board.report(number, "stopping", os.getpid())
    await _beat(store, "stopping")
    grace_s = ORPHAN_GRACE_S if watch.gone.is_set() else SHUTDOWN_GRACE_S
    await asyncio.gather(worker.stop(grace_s), chats.stop(grace_s) if chats is not None else asyncio.sleep(0))
    await answering
    board.report(number, "stopped", os.getpid())
    await _forget(store)
    await close_context(context)
    log.info("answer process %d stopped", os.getpid())


async def _loaded_unless_stopped(context: ChannelContext, stopped: asyncio.Event) -> bool:
    """Wait until the engine loaded (True) or the process was told to stop (False); a failed load is reported and
    the process waits to be stopped, answering nothing."""
    responder = context.responder
    loading = asyncio.create_task(responder.warm_up(), name="deskbot-answer-warm-up")
    stopping = asyncio.create_task(stopped.wait(), name="deskbot-answer-stopping")
    await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if loading.done() and loading.exception() is None:
        return True
    if loading.done():
        log.error("answer process %d cannot load the engine: %s", os.getpid(), loading.exception())
        await stopped.wait()
    return False


async def _report_state(
    board: AnswerStatusBoard, number: int, context: ChannelContext, store: WorkerHeartbeats | None
) -> None:
    """The heartbeat: the state on the board every `HEARTBEAT_S`, and in the `store` (when given) every
    `BEAT_EVERY_S` and whenever it changed."""
    said, said_at = "", 0.0
    while True:
        responder = context.responder
        state = "ready" if responder.ready else "failed" if responder.failure is not None else "loading"
        await asyncio.to_thread(board.report, number, state, os.getpid())
        if state != said or time.monotonic() - said_at >= BEAT_EVERY_S:
            said_at = time.monotonic()
            if await _beat(store, state):
                said = state
        await asyncio.sleep(HEARTBEAT_S)


async def _beat(store: WorkerHeartbeats | None, state: str) -> bool:
    """Say `state` in the store; False when it could not be written (the store is down: the next beat tries again)."""
    if store is None:
        return True
    try:
        await asyncio.to_thread(store.beat, socket.gethostname(), os.getpid(), state)
    except StoreError as error:
        log.warning("answer process %d cannot beat in the store: %s", os.getpid(), error)
        return False
    return True


async def _forget(store: WorkerHeartbeats | None) -> None:
    if store is None:
        return
    try:
        await asyncio.to_thread(store.forget, socket.gethostname(), os.getpid())
    except StoreError as error:
        log.warning("answer process %d cannot remove its heartbeat (it goes silent instead): %s", os.getpid(), error)


class AnswerProcesses:
    """Starts `count` answer processes, restarts one that dies, and stops them all with `stop`; with
    `beats_in_store`, they also beat in the store (`deskbot worker`)."""

    def __init__(self, count: int, niceness: int, board: AnswerStatusBoard, beats_in_store: bool = False) -> None:
        self._count = count
        self._niceness = niceness
        self._board = board
        self._beats_in_store = beats_in_store
        self._processes: list[BaseProcess] = []
        self._started_at: list[float] = []
        self._restart_delay = [RESTART_DELAY_S] * count
        self._stopping = threading.Event()
        self._spawning = threading.Lock()  # a restart and `stop` never overlap

    def start(self) -> None:
        self._board.prepare(self._count)
        with self._spawning:
            for number in range(self._count):
                self._processes.append(self._spawn(number))
                self._started_at.append(time.monotonic())
        threading.Thread(target=self._supervise, name="deskbot-answer-supervisor", daemon=True).start()

    def _spawn(self, number: int) -> BaseProcess:
        spawn = multiprocessing.get_context("spawn")
        process = spawn.Process(
            target=answer_process_main,
            args=(number, self._niceness, os.getpid(), str(self._board.folder), self._beats_in_store),
            name=f"deskbot-answers-{number}",
            daemon=True,
        )
        process.start()
        return process

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_POLL_S):
            for number, process in enumerate(self._processes):
                if process.is_alive() or self._stopping.is_set():
                    continue
                lived = time.monotonic() - self._started_at[number]
                delay = self._restart_delay[number] if lived < QUICK_DEATH_S else RESTART_DELAY_S
                log.error(
                    "answer process %s exited (code %s) after %.0fs; restarting it in %.0fs",
                    process.pid,
                    process.exitcode,
                    lived,
                    delay,
                )
                self._board.report(number, "starting", pid=None)
                if self._stopping.wait(delay):
                    return
                self._restart_delay[number] = min(MAX_RESTART_DELAY_S, delay * 2)
                with self._spawning:
                    if self._stopping.is_set():
                        return
                    self._processes[number] = self._spawn(number)
                    self._started_at[number] = time.monotonic()

    def stop(self) -> None:
        with self._spawning:
            self._stopping.set()
        for process in self._processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self._processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                log.warning("answer process %s did not stop in %.0fs; killing it", process.pid, STOP_TIMEOUT_S)
                process.kill()
                process.join()


def run_answer_workers(settings: Settings, processes: int) -> None:
    """`deskbot worker`: `processes` answer processes that answer the store's queue and beat in it, supervised until
    SIGTERM or SIGINT, which stops them (their running answers finish, bounded, or go back to the queue)."""
    from adapters.http.serve_environment import pass_configuration_on
    from adapters.http.settings import ServerSettings
    from bot.logging_setup import configure_logging

    configure_logging(settings.logging, logging.INFO, role="worker")  # the answer processes' level, not the CLI's
    pass_configuration_on(settings)
    status_dir = tempfile.mkdtemp(prefix="deskbot-worker-")
    board = AnswerStatusBoard(Path(status_dir))
    answers = AnswerProcesses(processes, settings.section(ServerSettings).answer_niceness, board, beats_in_store=True)
    stopping = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopping.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    log.info("answer worker %d starts %d answer process(es)", os.getpid(), processes)
    try:
        answers.start()
        was_ready = False
        while not stopping.wait(SUPERVISE_POLL_S):
            readiness = board.readiness()
            if readiness.ready != was_ready:  # a line when all are ready, and one when that stops being so
                level = logging.INFO if readiness.ready else logging.WARNING
                log.log(level, "answer worker %d: %s", os.getpid(), readiness.detail)
            was_ready = readiness.ready
        log.info("answer worker %d stops", os.getpid())
    finally:
        answers.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        shutil.rmtree(status_dir, ignore_errors=True)
    log.info("answer worker %d stopped", os.getpid())
