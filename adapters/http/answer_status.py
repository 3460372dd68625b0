"""`AnswerStatusBoard`: how the answer processes tell the HTTP workers that they are ready, through a shared folder.

`deskbot serve` prepares one file per answer process (`answers-<n>.json`, state `starting`) in a fresh folder and
names the folder to every process it starts. Each answer process reports its state there (`loading`, `ready`,
`failed`, `stopped`) with its pid, and repeats it every `HEARTBEAT_S` as a heartbeat; `readiness` (what `/readyz`
asks, in any HTTP worker) is ready only when every prepared process last said `ready` less than `STALE_AFTER_S` ago.
A process that died or hangs stops beating, so it stops counting as ready even before it is restarted. A report is
written to a temporary file and renamed over the old one, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT_S = 1.0
STALE_AFTER_S = 10.0


@dataclass(frozen=True)
class AnswerReadiness:
    ready: bool
    detail: str
    """What the processes said, for /readyz: `2 of 2 ready`, `answer process 1: loading`."""


class AnswerStatusBoard:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, number: int) -> Path:
        return self.folder / f"answers-{number}.json"

    def prepare(self, count: int) -> None:
        """Announce `count` answer processes, none of them started yet."""
        for number in range(count):
            self.report(number, "starting", pid=None)

    def report(self, number: int, state: str, pid: int | None) -> None:
        """Answer process `number` says `state` now (also its heartbeat: call it every `HEARTBEAT_S`)."""
        record = {"state": state, "pid": pid, "at": time.time()}
        written = self.folder / f".answers-{number}.{os.getpid()}.tmp"
        written.write_text(json.dumps(record))
        os.replace(written, self._file(number))

    def readiness(self, stale_after_s: float = STALE_AFTER_S) -> AnswerReadiness:
        files = sorted(self.folder.glob("answers-*.json"))
        if not files:
            return AnswerReadiness(False, f"no answer process announced in {self.folder}")
        now = time.time()
        problems: list[str] = []
        for file in files:
            try:
                record = json.loads(file.read_text())
            except (OSError, ValueError):
                problems.append(f"{file.stem}: unreadable status")
                continue
            state = str(record.get("state"))
            if state != "ready":
                problems.append(f"{file.stem}: {state}")
            elif now - float(record.get("at", 0.0)) > stale_after_s:
                problems.append(f"{file.stem}: no heartbeat for {now - float(record['at']):.0f}s")
        ready = len(files) - len(problems)
        if problems:
            return AnswerReadiness(False, f"{ready} of {len(files)} answer processes ready; " + "; ".join(problems))
        return AnswerReadiness(True, f"{ready} of {len(files)} answer processes ready")
