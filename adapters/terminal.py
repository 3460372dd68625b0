"""`deskbot chat`: a terminal REPL with input history, streamed answers and the sources under each one.

Ctrl-C stops the answer being written (or clears the line), Ctrl-D or /quit leaves. When stdin is not a terminal
(a pipe or a file), each line is one message, so the REPL can be scripted.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.presentation import source_lines
from bot.types import Message, Reply, TextDelta, new_conversation_id

if TYPE_CHECKING:
    from bot.adapter import AdapterContext

QUIT = {"/quit", "/exit", "/q"}


class TerminalChat:
    def __init__(self, context: AdapterContext, console: Console | None = None) -> None:
        self._context = context
        self._responder = context.responder
        self._console = console or Console(highlight=False)
        self._conversation_id = new_conversation_id()

    def run(self, **_options: object) -> None:
        try:
            asyncio.run(self._main())
        except KeyboardInterrupt:
            self._console.print()

    async def _main(self) -> None:
        await self._start()
        interactive = sys.stdin.isatty()
        self._console.print(
            "[bold]Deskbot[/] is ready. Ask a question; [cyan]/help[/] lists commands, [cyan]/quit[/] or Ctrl-D leaves."
        )
        async for line in self._lines(interactive):
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT:
                break
            await self._answer(text)

    async def _start(self) -> None:
        console = self._console
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as progress:
            tasks: dict[str, int] = {}

            def update(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(f"Indexing knowledge: {phase}", total=total)
                progress.update(tasks[phase], completed=done, total=total)  # type: ignore[arg-type]

            with console.status("Opening the knowledge base and loading the language model..."):
                await self._responder.warm_up(update)
        report = self._context.knowledge_report()
        if report is not None and report.changed:
            console.print(f"[dim]Indexed {report.added + report.updated} documents ({report.seconds:.1f}s).[/]")

    async def _lines(self, interactive: bool) -> AsyncIterator[str]:
        if not interactive:
            for line in sys.stdin:
                self._console.print(f"[bold cyan]you>[/] {line.rstrip()}")
                yield line
            return
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        history_file = self._context.data_dir / "chat-history"
        history_file.parent.mkdir(parents=True, exist_ok=True)
        session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
        while True:
            try:
                yield await session.prompt_async("you> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return

    async def _answer(self, text: str) -> None:
        console = self._console
        message = Message(text=text, user_id="terminal", conversation_id=self._conversation_id, channel="terminal")
        console.print("[bold green]bot>[/] ", end="")
        reply: Reply | None = None
        streamed = False
        task = asyncio.current_task()
        try:
            async for event in self._responder.stream(message):
                if isinstance(event, TextDelta):
                    console.file.write(event.text)
                    console.file.flush()
                    streamed = True
                else:
                    reply = event
        except (KeyboardInterrupt, asyncio.CancelledError):
            if task is not None:
                task.uncancel()
            console.print("\n[dim](stopped)[/]")
            return
        if reply is None:
            return
        if not streamed:
            console.print(reply.text, markup=False)
        elif reply.corrected:  # what was streamed failed its check: the reply replaces it
            console.print("\n[dim](corrected)[/]")
            console.print(reply.text, markup=False)
        else:
            console.print()
        for line in source_lines(reply, with_ids=True):
            console.print(f"  {line}", style="dim", highlight=False, markup=False)
        console.print()
