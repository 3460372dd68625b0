"""`LoopLag`: how far behind the event loop of an HTTP process runs, the signal for shedding the work it answers itself.

`max_in_flight` bounds how many requests a process holds, not how much CPU they cost. A chat is answered in the HTTP
process (the engine's stages run on its event loop and in its threads, under its GIL), so admitted chats that need
more CPU than the process has leave the event loop behind, and everything it runs waits: the Slack acknowledgements,
and the 503s themselves, which then come as late as the answers would. `watch` wakes every `interval_s` and
records how much later than asked it woke; `behind_s` is that lateness smoothed over the last few wake-ups (an
exponential moving average, so one garbage collection pause does not count as overload while a loop that stays
behind does within about 50 ms). `InFlightLimit` refuses new requests of the lanes named in
`[server] lag_shed_lanes` (the chat lanes) while `behind_s` exceeds `[server] max_loop_lag_ms`, so the work already
admitted finishes in time and the acknowledgements keep the loop. It is off unless `max_loop_lag_ms` is set: on a
machine shared with other work, or while the models load in a thread, a loop falls behind without any overload of
its own, and callers of a chat API would get 503s they cannot explain.
"""

from __future__ import annotations

import asyncio

SMOOTHING = 0.25  # weight of the newest wake-up in `behind_s`


class LoopLag:
    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.behind_s = 0.0

    def record(self, late_s: float) -> None:
        self.behind_s += SMOOTHING * (max(0.0, late_s) - self.behind_s)

    async def watch(self) -> None:
        """Measure until cancelled (a task of the app's lifespan)."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.record(loop.time() - due)
