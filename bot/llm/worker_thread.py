"""How a local backend's blocking generation reaches the event loop: one worker thread, pieces through a queue.

A local model (`TransformersLLM`, `LlamaCppLLM`) generates on its own single worker thread (`ThreadPoolExecutor` of
one: the model and its caches are not shared between concurrent generations, which wait their turn there). Both
backends stream the same way, so the mechanism lives here once:

- `load_on_worker` loads the model on that thread, bounded by the caller's timeout, so that a slow first load is an
  `LLMTimeoutError` and not a hung turn;
- `stream_from_worker` runs `generate(emit, cancelled)` there: the backend calls `emit(text)` for each decoded piece
  (from the worker thread; the piece is handed to the event loop's queue) and stops at its next token once
  `cancelled` is set. The caller reads the pieces until the end of the generation, `options.timeout_s` counting from
  the stream's start (time spent waiting behind other generations included). Leaving the stream early (its timeout,
  the sentence stop, a cancelled turn, `aclose`) sets `cancelled`, so the thread is freed for the next generation;
  a generation abandoned before the thread reached it never starts. Any failure of the generation is an `LLMError`
  naming the model.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor

from bot.errors import LLMError, LLMTimeoutError

log = logging.getLogger(__name__)

Emit = Callable[[str], None]


async def load_on_worker(executor: ThreadPoolExecutor, load: Callable[[], None], name: str, timeout_s: float) -> None:
    """Run `load` on the worker thread, at most `timeout_s`."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(executor, load), timeout_s)
    except TimeoutError as error:
        raise LLMTimeoutError(f"model '{name}' took longer than {timeout_s:g}s to load") from error


async def stream_from_worker(
    executor: ThreadPoolExecutor,
    generate: Callable[[Emit, threading.Event], None],
    name: str,
    deadline: float,
    timeout_s: float,
) -> AsyncGenerator[str, None]:
    """The pieces `generate` emits on the worker thread, until it returns; `deadline` is the event loop's time by
    which the whole generation must have ended (`timeout_s`, for the error, is what it allowed)."""
    loop = asyncio.get_running_loop()
    cancelled = threading.Event()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def emit(text: str) -> None:
        if text:
            loop.call_soon_threadsafe(queue.put_nowait, text)

    def run() -> None:
        try:
            if cancelled.is_set():  # given up while it waited for the thread: spare the others its prefill
                log.debug("skipping a generation abandoned before it started")
                return
            generate(emit, cancelled)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    future = loop.run_in_executor(executor, run)
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LLMTimeoutError(f"model '{name}' took longer than {timeout_s:g}s")
            try:
                piece = await asyncio.wait_for(queue.get(), timeout=remaining)
            except TimeoutError as error:
                raise LLMTimeoutError(f"model '{name}' took longer than {timeout_s:g}s") from error
            if piece is None:
                break
            yield piece
        await future
    except Exception as error:
        if isinstance(error, LLMError):
            raise
        raise LLMError(f"model '{name}' failed: {error}") from error
    finally:
        cancelled.set()
