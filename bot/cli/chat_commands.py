"""`deskbot ask` and `deskbot chat`: talk to the bot from the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.console import err, out
from bot.cli.main import KbOption, fail, runtime


def ask(
    question: Annotated[str, typer.Argument(help="The customer's question.")],
    kb: KbOption = None,
    conversation: Annotated[str | None, typer.Option("--conversation", help="Conversation id to continue.")] = None,
    user: Annotated[str, typer.Option("--user", help="Id of the asking user.")] = "cli",
    adapter: Annotated[Path | None, typer.Option("--adapter", help="LoRA adapter folder to load.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Answer one question from the knowledge base, with citations."""
    from bot.presentation import reply_json, source_lines
    from bot.types import Message, Reply, new_conversation_id

    if not question.strip():
        fail("the question is empty")
    if adapter is not None and not adapter.is_dir():
        fail(f"{adapter}: adapter folder not found")
    rt = runtime(kb, adapter=adapter.resolve() if adapter else None)
    message = Message(text=question, user_id=user, conversation_id=conversation or new_conversation_id(), channel="cli")
    responder = rt.responder()

    async def answer() -> Reply:
        if as_json:
            await responder.warm_up()
        else:
            with err.status("Loading the knowledge base and the model..."):
                await responder.warm_up()
        return await responder.reply(message)

    reply = asyncio.run(answer())
    if as_json:
        print(json.dumps(reply_json(reply), ensure_ascii=False))
        return
    out.print(reply.text, markup=False)
    for line in source_lines(reply, with_ids=True):
        out.print(f"  {line}", style="dim", markup=False)


def chat(
    kb: KbOption = None,
    adapter: Annotated[Path | None, typer.Option("--adapter", help="LoRA adapter folder to load.")] = None,
) -> None:
    """Chat in the terminal: streamed answers, sources under each answer, /help for commands."""
    if adapter is not None and not adapter.is_dir():
        fail(f"{adapter}: adapter folder not found")
    rt = runtime(kb, adapter=adapter.resolve() if adapter else None)
    rt.adapter("terminal").run()


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(chat)
