"""The delivery queue on SQLite and a real PostgreSQL server: each delivery queued once, taken once, never lost."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from threading import Thread

import pytest

from adapters.http.deliveries import KEPT_REPLY, Deliveries, RetryBackoff, SourceFilter
from bot.store.database import Database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    database = Database(url)
    Deliveries(database)
    with database.engine.begin() as connection:  # one server for the session: start each test empty
        connection.exec_driver_sql("DELETE FROM answer_jobs")
        connection.exec_driver_sql("DELETE FROM deliveries")
    database.dispose()
    yield url


def test_a_worker_takes_and_waits_for_only_the_sources_it_delivers(database_url):
    deliveries = Deliveries(Database(database_url))
    for source in ("slack", "operator:discord", "operator", "operator:discord"):
        deliveries.submit(source, f"{source}-{deliveries.waiting()}", {"source": source})
    discord = SourceFilter(only=frozenset({"operator:discord"}))
    http = SourceFilter(excluded=frozenset({"operator:discord"}))
    assert deliveries.waiting(discord) == 2 and deliveries.waiting(http) == 2 and deliveries.waiting() == 4
    assert [job.source for job in deliveries.take(10, sources=http)] == ["slack", "operator"]
    assert deliveries.take(10, sources=http) == [], "the Discord jobs are left to the Discord client"
    taken = deliveries.take(1, sources=discord) + deliveries.take(10, sources=discord)
    assert [job.source for job in taken] == ["operator:discord", "operator:discord"]
    both = SourceFilter(only=frozenset({"slack", "operator"}), excluded=frozenset({"operator"}))
    assert deliveries.waiting(both) == 1, "a source both named and excluded is excluded"


def test_a_delivery_is_queued_once_per_source(database_url):
    deliveries = Deliveries(Database(database_url))
    assert deliveries.submit("slack", "Ev1", {"text": "hello"})
    assert not deliveries.submit("slack", "Ev1", {"text": "hello again"})
    assert deliveries.submit("webhook", "Ev1", {"text": "other source"})
    assert deliveries.waiting() == 2
    taken = deliveries.take(10)
    assert [(job.source, job.payload) for job in taken] == [
        ("slack", {"text": "hello"}),
        ("webhook", {"text": "other source"}),
    ]


def test_workers_on_one_database_queue_each_delivery_once_and_take_each_job_once(database_url):
    workers = [Deliveries(Database(database_url)) for _ in range(4)]
    queued: list[bool] = []
    taken: list[int] = []

    def submit(worker: Deliveries) -> None:
        queued.extend(worker.submit("slack", f"Ev{i}", {"i": i}) for i in range(25))

    def take(worker: Deliveries) -> None:
        for _ in range(20):
            taken.extend(job.payload["i"] for job in worker.take(3))

    for work in (submit, take):
        threads = [Thread(target=work, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert queued.count(True) == 25
    assert sorted(taken) == list(range(25))


def test_finished_jobs_go_and_unfinished_ones_come_back_after_their_lease(database_url):
    # A lease long enough that a busy machine does not outlast it between the two takes (it made this test flaky).
    deliveries = Deliveries(Database(database_url), lease=timedelta(seconds=1.0))
    deliveries.submit("slack", "Ev1", {"n": 1})
    deliveries.submit("slack", "Ev2", {"n": 2})
    first, _held = deliveries.take(10)
    deliveries.finish([first.id])
    assert deliveries.take(10) == [], "a job in a worker's hands is not offered to another"
    time.sleep(1.1)  # the worker holding the second job died
    (again,) = deliveries.take(10)
    assert again.payload == {"n": 2} and again.attempts == 2
    assert deliveries.waiting() == 1
    assert deliveries.take(10, finished=[again.id]) == []
    assert deliveries.waiting() == 0


def test_a_job_that_keeps_failing_is_given_up(database_url):
    deliveries = Deliveries(Database(database_url), lease=timedelta(seconds=0.05), max_attempts=2)
    deliveries.submit("slack", "Ev1", {})
    for _ in range(2):
        assert len(deliveries.take(1)) == 1
        time.sleep(0.1)
    assert deliveries.take(1) == []
    assert deliveries.waiting() == 0


def test_a_given_up_job_drops_its_text_and_is_forgotten_with_the_delivery_ids(database_url):
    database = Database(database_url)
    deliveries = Deliveries(database, lease=timedelta(seconds=0.05), max_attempts=1)
    deliveries.submit("slack", "Ev1", {"text": "my card is 4111 1111 1111 1111"})
    deliveries.submit("slack", "Ev2", {"text": "still waiting"})
    assert len(deliveries.take(1)) == 1
    time.sleep(0.1)  # its worker died, and one attempt was all it had
    [still_waiting] = deliveries.take(2)

    def jobs() -> list[tuple[str, str, str]]:
        with database.engine.begin() as connection:
            query = "SELECT delivery_id, state, payload FROM answer_jobs ORDER BY id"
            return [tuple(row) for row in connection.exec_driver_sql(query)]

    [(delivery_id, state, payload), still_taken] = jobs()
    assert (delivery_id, state) == ("Ev1", "failed")
    assert "4111" not in payload and "no outcome after 1 attempts" in payload
    assert still_taken == ("Ev2", "taken", '{"text": "still waiting"}')
    deliveries.forget_older_than(timedelta(hours=1))
    assert [job[0] for job in jobs()] == ["Ev1", "Ev2"], "a failure is kept as long as delivery ids are"
    assert [record.delivery_id for record in deliveries.undelivered()] == ["Ev1"]
    deliveries.forget_older_than(timedelta(seconds=-1))
    assert jobs() == [("Ev2", "taken", '{"text": "still waiting"}')], "jobs still to answer stay"
    deliveries.finish([still_waiting.id])
    assert jobs() == []


def test_forget_older_than_lets_an_old_id_be_queued_again(database_url):
    deliveries = Deliveries(Database(database_url))
    deliveries.submit("slack", "Ev1", {})
    assert deliveries.forget_older_than(timedelta(hours=1)) == 0
    assert deliveries.forget_older_than(timedelta(seconds=-1)) == 1
    assert deliveries.submit("slack", "Ev1", {})


def test_processes_opening_a_new_queue_at_once_all_get_it(tmp_path):
    """The HTTP worker and the answer processes start together on a database that has no tables yet."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    failures: list[BaseException] = []

    def open_queue() -> None:
        try:
            Deliveries(Database(url))
        except BaseException as error:  # collected for the assertion below
            failures.append(error)

    threads = [Thread(target=open_queue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_retried_job_comes_back_after_its_backoff_with_its_kept_reply(database_url):
    deliveries = Deliveries(Database(database_url), backoff=RetryBackoff(first_s=0.3), max_attempts=3)
    deliveries.submit("slack", "Ev1", {"text": "hello"})
    [first] = deliveries.take(10)
    assert first.reply is None
    assert deliveries.retry_later(first, "Slack answered HTTP 503", {"text": "Hi! How can I help?"})
    assert deliveries.take(10) == [], "held for its backoff"
    assert deliveries.waiting() == 1
    time.sleep(0.35)
    [second] = deliveries.take(10)
    assert second.payload == {"text": "hello"} and second.reply == {"text": "Hi! How can I help?"}
    assert second.attempts == 2
    assert deliveries.retry_later(second, "cannot reach Slack")  # backoff doubled: 0.6 s
    time.sleep(0.35)
    assert deliveries.take(10) == []
    time.sleep(0.3)
    [third] = deliveries.take(10)
    assert third.reply == {"text": "Hi! How can I help?"}, "the reply stays kept across retries"
    assert not deliveries.retry_later(third, "cannot reach Slack"), "the last attempt: given up"
    [record] = deliveries.undelivered()
    assert record.reason == "cannot reach Slack (after 3 attempts)" and deliveries.waiting() == 0


def test_released_jobs_wait_again_at_once_without_counting_the_cut_off_attempt(database_url):
    deliveries = Deliveries(Database(database_url))
    deliveries.submit("slack", "Ev1", {"n": 1})
    [job] = deliveries.take(10)
    deliveries.release([job.id])
    [again] = deliveries.take(10)
    assert again.id == job.id and again.attempts == 1


def test_a_payload_cannot_smuggle_a_kept_reply(database_url):
    deliveries = Deliveries(Database(database_url))
    with pytest.raises(ValueError, match="reserved key"):
        deliveries.submit("webhook", "w1", {KEPT_REPLY: {"text": "not from the engine"}})


def test_a_poll_of_an_empty_queue_does_not_wait_for_the_write_lock(tmp_path):
    """An idle answer worker's poll writes nothing, so it never waits behind (or holds up) the acknowledgements."""
    path = tmp_path / "queue.sqlite"
    deliveries = Deliveries(Database(f"sqlite:///{path}"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # an acknowledgement holding the write lock
    try:
        started = time.monotonic()
        assert deliveries.take(256) == []
        assert time.monotonic() - started < 1.0, "the poll waited for the write lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_jobs_another_worker_claimed_after_they_were_found_are_not_taken_again(tmp_path, monkeypatch):
    """`take` finds the waiting jobs before it takes the write lock: one claimed by another worker in between is
    not handed out twice, and a take that lost all it found looks again."""
    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    slow, fast = Deliveries(Database(url)), Deliveries(Database(url))
    for index in range(4):
        slow.submit("slack", f"Ev{index}", {"i": index})
    found = slow._waiting_ids
    taken_by_fast: list[int] = []

    def found_then_claimed_by_another(*args):
        ids = found(*args)
        if not taken_by_fast:  # the first round: the other worker claims what this one found
            taken_by_fast.extend(job.payload["i"] for job in fast.take(2))
        return ids

    monkeypatch.setattr(slow, "_waiting_ids", found_then_claimed_by_another)
    assert [job.payload["i"] for job in slow.take(2)] == [2, 3]
    assert taken_by_fast == [0, 1]
    assert slow.take(10) == [] and fast.take(10) == []
