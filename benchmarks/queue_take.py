"""How long `Deliveries.take` holds SQLite's write lock (acknowledgements wait for it: `Database.write_first_in_line`).

    python benchmarks/queue_take.py [--calls 400] [--jobs 4000] [--batch 8]

On a SQLite queue in a temp folder, one `Deliveries` is timed in two states, `--calls` takes each:
- idle: an empty queue, polled as an answer worker polls it (`take(256)`, nothing finished);
- busy: `--jobs` pending jobs, taken `--batch` at a time, each take deleting the jobs the previous one took (as the
  worker does with the jobs it answered).
The hold of one take is the time from its first write statement (which takes the lock) until its connection is about
to go back to the pool, right after the commit (which frees it); a take that writes nothing holds nothing. Reported
per state: the share of takes that took the lock, and the hold's p50/p99/max in microseconds. One JSON object on
stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.http.deliveries import Deliveries, NewDelivery  # noqa: E402
from bot.store.database import Database  # noqa: E402

WRITES = ("INSERT", "UPDATE", "DELETE")


class LockHolds:
    """The write-lock holds of one engine's transactions, in seconds."""

    def __init__(self, database: Database) -> None:
        self.holds: list[float] = []
        self._since: float | None = None
        event.listen(database.engine, "before_cursor_execute", self._statement)
        event.listen(database.engine, "reset", self._returned)  # right after the commit

    def _statement(self, _connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if self._since is None and statement.lstrip().upper().startswith(WRITES):
            self._since = time.perf_counter()

    def _returned(self, *_args: Any) -> None:
        if self._since is not None:
            self.holds.append(time.perf_counter() - self._since)
            self._since = None

    def take_all(self) -> list[float]:
        holds, self.holds = self.holds, []
        return holds


def summary(holds: list[float], calls: int) -> dict[str, float]:
    if not holds:
        return {"locked_share": 0.0, "hold_us_p50": 0.0, "hold_us_p99": 0.0, "hold_us_max": 0.0}
    ordered = sorted(holds)
    return {
        "locked_share": round(len(holds) / calls, 3),
        "hold_us_p50": round(statistics.median(ordered) * 1e6, 1),
        "hold_us_p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e6, 1),
        "hold_us_max": round(ordered[-1] * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    if not 1 <= args.calls <= 10_000 or not 1 <= args.jobs <= 100_000 or args.batch < 1:
        parser.error("--calls 1..10000, --jobs 1..100000, --batch >= 1")
    with tempfile.TemporaryDirectory(prefix="deskbot-take-") as folder:
        database = Database(f"sqlite:///{Path(folder) / 'queue.sqlite'}")
        deliveries = Deliveries(database)
        holds = LockHolds(database)
        for _ in range(args.calls):
            deliveries.take(256)
        idle = summary(holds.take_all(), args.calls)
        payload = {"text": "x" * 200}
        deliveries.submit_many([NewDelivery.of("slack", f"Ev{i}", payload) for i in range(args.jobs)])
        holds.take_all()
        finished: list[int] = []
        for _ in range(args.calls):
            finished = [job.id for job in deliveries.take(args.batch, finished)]
        busy = summary(holds.take_all(), args.calls)
        database.dispose()
    print(json.dumps({"idle": idle, "busy": busy, "calls": args.calls, "jobs": args.jobs, "batch": args.batch}))


if __name__ == "__main__":
    main()
