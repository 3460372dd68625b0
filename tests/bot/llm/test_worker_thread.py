"""The worker-thread stream both local backends share: pieces in order, timeouts, failures, and leaving early."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.errors import LLMError, LLMTimeoutError
from bot.llm.worker_thread import Emit, load_on_worker, stream_from_worker


@pytest.fixture
def executor():
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True)


def _stream(executor: ThreadPoolExecutor, generate, timeout_s: float = 5.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    return stream_from_worker(executor, generate, "tiny", deadline, timeout_s)


async def test_pieces_arrive_in_order_and_empty_ones_are_dropped(executor) -> None:
    def generate(emit: Emit, cancelled: threading.Event) -> None:
        for piece in ("Hello", "", " world", "."):
            emit(piece)

    assert [piece async for piece in _stream(executor, generate)] == ["Hello", " world", "."]


async def test_a_failing_generation_is_an_llm_error_naming_the_model(executor) -> None:
    def generate(emit: Emit, cancelled: threading.Event) -> None:
        emit("Hi")
        raise RuntimeError("out of memory")

    with pytest.raises(LLMError, match="model 'tiny' failed: out of memory"):
        [piece async for piece in _stream(executor, generate)]


async def test_a_slow_generation_times_out_and_is_told_to_stop(executor) -> None:
    stopped = threading.Event()

    def generate(emit: Emit, cancelled: threading.Event) -> None:
        while not cancelled.wait(0.01):
            pass
        stopped.set()

    with pytest.raises(LLMTimeoutError, match=r"longer than 0\.2s"):
        [piece async for piece in _stream(executor, generate, timeout_s=0.2)]
    assert await asyncio.to_thread(stopped.wait, 5)


async def test_closing_the_stream_early_frees_the_thread_for_the_next_generation(executor) -> None:
    def endless(emit: Emit, cancelled: threading.Event) -> None:
        while not cancelled.is_set():
            emit("x")
            time.sleep(0.005)

    def short(emit: Emit, cancelled: threading.Event) -> None:
        emit("next")

    stream = _stream(executor, endless)
    assert await anext(stream) == "x"
    await stream.aclose()
    assert [piece async for piece in _stream(executor, short)] == ["next"]


async def test_a_generation_abandoned_before_the_thread_reached_it_never_starts(executor) -> None:
    running, release = threading.Event(), threading.Event()
    started: list[str] = []

    def blocking(emit: Emit, cancelled: threading.Event) -> None:
        running.set()
        release.wait(5)
        emit("first")

    def second(emit: Emit, cancelled: threading.Event) -> None:
        started.append("second")

    first = _stream(executor, blocking)
    first_piece = asyncio.ensure_future(anext(first))
    assert await asyncio.to_thread(running.wait, 5)
    waiting = _stream(executor, second, timeout_s=0.1)
    with pytest.raises(LLMTimeoutError):
        [piece async for piece in waiting]
    release.set()
    assert await first_piece == "first"
    await first.aclose()
    await asyncio.to_thread(executor.submit(lambda: None).result, 5)
    assert started == []


async def test_a_slow_load_is_a_timeout(executor) -> None:
    with pytest.raises(LLMTimeoutError, match=r"took longer than 0\.1s to load"):
        await load_on_worker(executor, lambda: time.sleep(0.5), "tiny", 0.1)
