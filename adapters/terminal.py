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

from bot.types import Message, Reply, TextDelta, new_conversation_id

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.runtime import Runtime

QUIT = {"/quit", "/exit", "/q"}


class TerminalChat:
    def __init__(self, runtime: Runtime, console: Console | None = None) -> None:
        self._runtime = runtime
        self._console = console or Console(highlight=False)
        self._conversation_id = new_conversation_id()

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except KeyboardInterrupt:
            self._console.print()

    async def _main(self) -> None:
        engine = await self._start()
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
            await self._answer(engine, text)

    async def _start(self) -> Engine:
        console = self._console
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as progress:
            tasks: dict[str, int] = {}

            def update(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(f"Indexing knowledge: {phase}", total=total)
                progress.update(tasks[phase], completed=done, total=total)  # type: ignore[arg-type]

            with console.status("Opening the knowledge base..."):
                engine = await asyncio.to_thread(self._runtime.engine, update)
        with console.status("Loading the language model..."):
            await engine.warm_up()
        report = self._runtime.last_sync
        if report is not None and report.changed:
            console.print(f"[dim]Indexed {report.added + report.updated} documents ({report.seconds:.1f}s).[/]")
        return engine

    async def _lines(self, interactive: bool) -> AsyncIterator[str]:
        if not interactive:
            for line in sys.stdin:
                self._console.print(f"[bold cyan]you>[/] {line.rstrip()}")
                yield line
            return
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        history_file = self._runtime.settings.data_dir / "chat-history"
        history_file.parent.mkdir(parents=True, exist_ok=True)
        session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
        while True:
            try:
                yield await session.prompt_async("you> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return

    async def _answer(self, engine: Engine, text: str) -> None:
        console = self._console
        message = Message(text=text, user_id="terminal", conversation_id=self._conversation_id, channel="terminal")
        console.print("[bold green]bot>[/] ", end="")
        reply: Reply | None = None
        streamed = False
        task = asyncio.current_task()
        try:
            async for event in engine.stream(message):
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
        else:
            console.print()
        for citation in reply.citations:
            console.print(f"  [dim][{citation.number}] {citation.title}  ({citation.id})[/]", highlight=False)
        console.print()
