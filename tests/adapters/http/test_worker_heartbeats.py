"""`WorkerHeartbeats`: what `deskbot worker`'s answer processes say in the store, and the /readyz of an HTTP-only
`deskbot serve` (`[server] answering = "external"`) that reads it."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import update

from adapters.http.app import serving_app
from adapters.http.settings import ServerSettings
from adapters.http.worker_heartbeats import BEATS, FORGET_AFTER_S, WorkerHeartbeats
from bot.store.database import Database


@pytest.fixture
def heartbeats(tmp_path) -> WorkerHeartbeats:
    return WorkerHeartbeats(Database(f"sqlite:///{tmp_path / 'store.sqlite'}"))


def age(heartbeats: WorkerHeartbeats, worker_id: str, seconds: float) -> None:
    """Make `worker_id`'s last beat `seconds` old."""
    with heartbeats._database.transaction("age a heartbeat") as connection:
        connection.execute(update(BEATS).where(BEATS.c.worker_id == worker_id).values(beat_at=time.time() - seconds))


def test_ready_once_one_worker_says_ready_lately(heartbeats):
    nothing = heartbeats.readiness()
    assert not nothing.ready and "no answer worker has beaten in this store" in nothing.detail
    heartbeats.beat("host-a", 11, "loading")
    loading = heartbeats.readiness()
    assert not loading.ready and "host-a:11 loading" in loading.detail
    heartbeats.beat("host-b", 22, "ready")
    heartbeats.beat("host-a", 11, "failed")
    ready = heartbeats.readiness()
    assert ready.ready and ready.detail == "1 answer worker(s) ready: host-b:22 ready"
    assert [beat.worker_id for beat in heartbeats.beats()] == ["host-a:11", "host-b:22"]  # the newest first


def test_a_worker_that_stopped_beating_does_not_count(heartbeats):
    heartbeats.beat("host-a", 11, "ready")
    age(heartbeats, "host-a:11", 45)
    silent = heartbeats.readiness(fresh_for_s=20)
    assert not silent.ready and "host-a:11 silent 45s" in silent.detail


def test_a_stopped_worker_is_forgotten_and_long_silent_ones_go_with_the_next_beat(heartbeats):
    heartbeats.beat("host-a", 11, "ready")
    heartbeats.forget("host-a", 11)
    assert heartbeats.beats() == []
    heartbeats.beat("host-a", 12, "ready")
    age(heartbeats, "host-a:12", FORGET_AFTER_S + 1)
    heartbeats.beat("host-b", 22, "loading")
    assert [beat.worker_id for beat in heartbeats.beats()] == ["host-b:22"]


def test_a_host_is_ready_when_all_its_beating_workers_are(heartbeats):
    assert "no answer worker has beaten on host-a" in heartbeats.host_readiness("host-a").detail
    heartbeats.beat("host-a", 11, "ready")
    heartbeats.beat("host-b", 22, "failed")  # another host's trouble is not this host's
    assert heartbeats.host_readiness("host-a").ready
    assert not heartbeats.host_readiness("host-b").ready
    heartbeats.beat("host-a", 12, "failed")
    failing = heartbeats.host_readiness("host-a")
    assert not failing.ready and "not ready: host-a:12 failed" in failing.detail
    age(heartbeats, "host-a:12", 60)  # died long ago: only the live ones count
    assert heartbeats.host_readiness("host-a", fresh_for_s=20).ready


async def test_readyz_of_an_http_only_serve_waits_for_a_worker_heartbeat(http_runtime):
    http_runtime.settings.section(ServerSettings).answering = "external"
    app = serving_app(http_runtime.adapter_context())
    context = app.state.deskbot
    assert context.worker_heartbeats is not None
    async with app.router.lifespan_context(app):
        assert context.worker is None, "an HTTP-only serve answers no queued delivery itself"
        await context.responder.warm_up()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            waiting = await client.get("/readyz")
            assert waiting.status_code == 503
            assert waiting.json()["status"] == "no answer worker"
            context.worker_heartbeats.beat("host-a", 11, "ready")
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ready", "answer_workers": "1 answer worker(s) ready: host-a:11 ready"}
            context.worker_heartbeats.forget("host-a", 11)
            assert (await client.get("/readyz")).status_code == 503
