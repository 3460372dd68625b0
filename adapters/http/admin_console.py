"""`Console`: what the operator console's routes share: the operator keys and sessions, the inbox, the operator's
actions, the curated answers, and the engine's knowledge base.

It is built once per app, on the first console request (`console`), over the store's database. The knowledge base
is the one the engine built (`ChannelContext.knowledge`), asked for only once the responder is ready, so the console
never loads a second copy beside it; until then (the models still loading) a route that needs it answers 503.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from adapters.http.admin_sessions import OperatorSessions
from adapters.http.context import ChannelContext
from adapters.http.operator_keys import OperatorKeys
from bot.responder import EngineNotReadyError
from bot.store.curated_answers import CuratedAnswers
from bot.store.inbox import Inbox
from bot.store.operator_actions import OperatorActions

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase


@dataclass
class Console:
    channel: ChannelContext
    operator_keys: OperatorKeys
    sessions: OperatorSessions
    inbox: Inbox
    actions: OperatorActions
    curated: CuratedAnswers

    @classmethod
    def over(cls, context: ChannelContext) -> Console:
        database = context.databases[0]
        return cls(
            channel=context,
            operator_keys=OperatorKeys(database),
            sessions=OperatorSessions(database),
            inbox=Inbox(database),
            actions=OperatorActions(database),
            curated=CuratedAnswers(database),
        )

    async def knowledge(self) -> KnowledgeBase:
        """The engine's knowledge base, once the engine has loaded; 503 before, or where there is none."""
        if self.channel.knowledge is None:
            raise HTTPException(503, "this server has no knowledge base the console can reach")
        try:
            await self.channel.responder.engine()
        except EngineNotReadyError as error:
            raise HTTPException(503, f"the knowledge base is not ready: {error}", {"Retry-After": "5"}) from error
        return self.channel.knowledge()


async def console(request: Request) -> Console:
    """The app's `Console`, built on first use (in a thread: its stores check the schema). Two first requests at
    once may both build one; the later simply replaces the earlier, which holds nothing of its own."""
    state = request.app.state
    if getattr(state, "console", None) is None:
        state.console = await asyncio.to_thread(Console.over, state.deskbot)
    built: Console = state.console
    return built
