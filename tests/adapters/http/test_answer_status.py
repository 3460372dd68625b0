"""`AnswerStatusBoard`: /readyz is ready only when every answer process has loaded and keeps beating."""

from __future__ import annotations

import json

from adapters.http.answer_status import AnswerStatusBoard


def test_ready_only_when_every_announced_process_says_ready(tmp_path):
    board = AnswerStatusBoard(tmp_path)
    board.prepare(2)
    assert not board.readiness().ready
    board.report(0, "ready", pid=101)
    waiting = board.readiness()
    assert not waiting.ready and "1 of 2" in waiting.detail and "answers-1: starting" in waiting.detail
    board.report(1, "loading", pid=102)
    assert "answers-1: loading" in board.readiness().detail
    board.report(1, "ready", pid=102)
    assert board.readiness().ready
    board.report(1, "failed", pid=102)
    assert "answers-1: failed" in board.readiness().detail


def test_a_process_that_stopped_beating_is_not_ready(tmp_path):
    board = AnswerStatusBoard(tmp_path)
    board.prepare(1)
    board.report(0, "ready", pid=101)
    record = json.loads((tmp_path / "answers-0.json").read_text())
    (tmp_path / "answers-0.json").write_text(json.dumps({**record, "at": record["at"] - 60}))
    stale = board.readiness(stale_after_s=10)
    assert not stale.ready and "no heartbeat for 60s" in stale.detail


def test_nothing_announced_or_unreadable_is_not_ready(tmp_path):
    board = AnswerStatusBoard(tmp_path)
    assert not board.readiness().ready
    (tmp_path / "answers-0.json").write_text("{half")
    assert "unreadable" in board.readiness().detail


async def test_readyz_waits_for_the_answer_processes(app_client, context, tmp_path):
    await context.responder.warm_up()
    assert (await app_client.get("/readyz")).status_code == 200
    board = AnswerStatusBoard(tmp_path)
    board.prepare(1)
    context.answer_processes = board
    loading = await app_client.get("/readyz")
    assert loading.status_code == 503
    detail = "0 of 1 answer processes ready; answers-0: starting"
    assert loading.json() == {"status": "loading", "answer_processes": detail}
    board.report(0, "ready", pid=101)
    assert (await app_client.get("/readyz")).json() == {"status": "ready"}
