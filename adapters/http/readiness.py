"""`EngineLoader`: builds the engine and loads the models in the background, so the server starts listening at once.

`/readyz` reports whether loading has finished; requests that need the engine wait for it (bounded).

In a process of its own (a `deskbot serve` worker or answer process), the loader then freezes the heap (`gc.freeze`):
the models and libraries just loaded live as long as the process, and without that every full collection walked
them all again, stopping the process for about 100 ms, long enough to hold up the acknowledgements arriving then.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING

from knowledge.errors import DeskbotError

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class EngineNotReadyError(DeskbotError):
    """The knowledge base or the models are still loading (or failed to load)."""


class EngineLoader:
    def __init__(self, runtime: Runtime, timeout_s: float, owns_process: bool = False) -> None:
        self._runtime = runtime
        self._timeout_s = timeout_s
        self._owns_process = owns_process
        self._task: asyncio.Task[Engine] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._load(), name="deskbot-engine-loader")

    async def _load(self) -> Engine:
        engine = await asyncio.to_thread(self._runtime.engine)
        await engine.warm_up()
        if self._owns_process:
            gc.collect()
            gc.freeze()
        log.info("engine ready")
        return engine

    @property
    def ready(self) -> bool:
        return self._task is not None and self._task.done() and self._task.exception() is None

    @property
    def failure(self) -> BaseException | None:
        if self._task is None or not self._task.done() or self._task.cancelled():
            return None
        return self._task.exception()

    async def engine(self) -> Engine:
        self.start()
        assert self._task is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._task), self._timeout_s)
        except TimeoutError as error:
            raise EngineNotReadyError(f"the models are still loading after {self._timeout_s:g}s") from error
        except DeskbotError as error:
            raise EngineNotReadyError(f"the engine failed to load: {error}") from error

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
