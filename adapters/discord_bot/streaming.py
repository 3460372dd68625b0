"""`StreamedAnswer`: shows a reply while it is written, by editing Discord messages at a bounded rate.

Text goes into a first message that is edited at most once every `interval_s`; past 2000 characters it continues in
new messages. `finish` writes the final text (with sources) and attaches the buttons to the last message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import discord

from adapters.splitting import split_message

log = logging.getLogger(__name__)

DISCORD_LIMIT = 2000


class StreamedAnswer:
    def __init__(
        self,
        channel: discord.abc.Messageable,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        limit: int = DISCORD_LIMIT,
    ) -> None:
        self._channel = channel
        self._interval_s = interval_s
        self._clock = clock
        self._limit = limit
        self._text = ""
        self._last_flush = float("-inf")
        self.messages: list[discord.Message] = []
        self.edits = 0
        self._streaming = True

    async def add(self, delta: str) -> None:
        """Take the next piece of text; show it when the last edit is old enough. Never fails the turn: the
        in-progress view is best effort (a refused edit stops it, and `finish` tries once more)."""
        self._text += delta
        if self._streaming and self._clock() - self._last_flush >= self._interval_s:
            try:
                await self._show(self._text + " …")
            except discord.HTTPException as error:
                log.warning("streaming to Discord stopped (HTTP %s); the whole answer follows", error.status)
                self._streaming = False

    async def finish(self, text: str, view: discord.ui.View | None = None) -> list[discord.Message]:
        """Show the final text; raises `discord.HTTPException` when Discord refuses it."""
        await self._show(text, view)
        return self.messages

    async def _show(self, text: str, view: discord.ui.View | None = None) -> None:
        self._last_flush = self._clock()
        pieces = split_message(text, self._limit) or ["…"]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            attach = view if last and view is not None else None
            if index < len(self.messages):
                current = self.messages[index]
                if current.content != piece or attach is not None:
                    if attach is not None:
                        self.messages[index] = await current.edit(content=piece, view=attach)
                    else:
                        self.messages[index] = await current.edit(content=piece)
                    self.edits += 1
            elif attach is not None:
                self.messages.append(await self._channel.send(piece, view=attach))
            else:
                self.messages.append(await self._channel.send(piece))
        for stale in self.messages[len(pieces) :]:
            await stale.delete()
        del self.messages[len(pieces) :]
