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
    from bot.types import Message, new_conversation_id

    if not question.strip():
        fail("the question is empty")
    if adapter is not None and not adapter.is_dir():
        fail(f"{adapter}: adapter folder not found")
    rt = runtime(kb, adapter=adapter.resolve() if adapter else None)
    message = Message(text=question, user_id=user, conversation_id=conversation or new_conversation_id(), channel="cli")

    async def answer() -> object:
        if as_json:
            engine = rt.engine()
            return await engine.handle(message)
        with err.status("Loading the knowledge base and the model..."):
            engine = rt.engine()
            await engine.warm_up()
        return await engine.handle(message)

    reply = asyncio.run(answer())
    from bot.types import Reply

    assert isinstance(reply, Reply)
    if as_json:
        payload = {
            "answer": reply.text,
            "citations": [
                {"id": c.id, "title": c.title, "source": c.source, "score": c.score} for c in reply.citations
            ],
            "abstained": reply.abstained,
            "handoff": reply.handoff,
            "conversation_id": reply.conversation_id,
            "latency_ms": round(reply.latency_ms, 1),
        }
        print(json.dumps(payload, ensure_ascii=False))
        return
    out.print(reply.text)
    for citation in reply.citations:
        out.print(f"  [{citation.number}] {citation.title} ({citation.id})", style="dim")


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
