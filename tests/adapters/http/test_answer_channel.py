"""The answer channel inside one event loop: the app's chat routes answered through a real Unix socket by an
`AnswerChannelServer` over the same runtime, compared with the app answering them itself; admission (places, the
wait queue, 503 + Retry-After at once), the end of an answer process mid-turn, and cancelled turns."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from adapters.http.answer_channel import AnswerChannel, AnswersUnavailableError
from adapters.http.answer_channel_frames import (
    TurnRequest,
    event_frame,
    event_from_record,
    frame,
    read_frame,
    turn_request,
)
from adapters.http.answer_channel_server import AnswerChannelServer
from adapters.http.answer_status import AnswerStatusBoard
from adapters.http.app import build_context, chat_channel, create_app, serving_app
from adapters.http.context import ChannelContext
from bot.logging_setup import log_context
from bot.runtime import Runtime
from bot.types import Citation, Message, Reply

QUESTION = "What is the returns policy? How many days do I have to return?"


@pytest.fixture
def socket_file() -> Iterator[Path]:
    """Where the answer process listens: not under pytest's tmp_path, too long for a Unix socket (108 bytes)."""
    with tempfile.TemporaryDirectory(prefix="deskbot-") as folder:
        yield Path(folder) / "answers-0.sock"


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, ChannelContext]]:
    """The app, and its context; `context.chat_channel` (None: the app answers itself) is the test's to set."""
    app = create_app(build_context(runtime.adapter_context()))
    context: ChannelContext = app.state.deskbot
    async with app.router.lifespan_context(app):
        await context.responder.warm_up()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test", timeout=30) as client:
            yield client, context


@pytest.fixture
async def answer_server(served, socket_file: Path) -> AsyncIterator[AnswerChannelServer]:
    _client, context = served
    server = AnswerChannelServer(context.responder, socket_file)
    await server.start()
    yield server
    await server.stop(1.0)


def channel_to(path: Path, places: int = 32, queue: int = 32, wait_s: float = 2.0) -> AnswerChannel:
    return AnswerChannel([path], turns_per_process=places, queue_length=queue, queue_wait_s=wait_s, retry_after_s=3)


def without_latency(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "latency_ms"}


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def test_a_reply_crosses_the_channel_unchanged():
    reply = Reply(
        text="Thirty days 😊",
        citations=(Citation("refund-policy", "Refunds", "faq/refunds.md", 0.8123456789012345, 1),),
        conversation_id="api:tests:c-1",
        latency_ms=12.345678901234567,
        kind="faq",
        ttft_ms=None,
        corrected=True,
    )
    reader = asyncio.StreamReader()
    reader.feed_data(event_frame(reply))
    assert event_from_record(await read_frame(reader)) == reply


async def test_chat_routes_answer_through_the_channel_as_in_process(served, answer_server, socket_file):
    client, context = served
    key = context.api_keys.create("tests")
    headers = {"Authorization": f"Bearer {key}"}
    bodies, streams, stored = {}, {}, {}
    for where, channel in (("here", None), ("channel", channel_to(socket_file))):
        context.chat_channel = channel
        conversation = f"c-{where}"
        chat = await client.post(
            "/v1/chat", json={"message": QUESTION, "conversation_id": conversation}, headers=headers
        )
        assert chat.status_code == 200
        bodies[where] = without_latency(chat.json()) | {"conversation_id": None}
        stream = await client.post(
            "/v1/chat/stream", json={"message": QUESTION, "conversation_id": conversation + "-s"}, headers=headers
        )
        assert stream.status_code == 200
        streams[where] = [
            (name, without_latency(data) | {"conversation_id": None}) for name, data in sse_events(stream.text)
        ]
        thread = await client.get(f"/v1/conversations/{conversation}/messages", headers=headers)
        stored[where] = [(m["role"], m["kind"], m["text"], m["citations"]) for m in thread.json()["messages"]]
    assert bodies["channel"] == bodies["here"]
    assert streams["channel"] == streams["here"]
    assert [name for name, _data in streams["channel"]][-1] == "reply" and len(streams["channel"]) > 1
    assert stored["channel"] == stored["here"] and len(stored["here"]) == 2
    assert answer_server.turns == 0


async def test_openai_completions_answer_through_the_channel_as_in_process(served, answer_server, socket_file):
    client, context = served
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    request = {"model": "deskbot", "messages": [{"role": "user", "content": QUESTION}]}
    answers, streamed = {}, {}
    for where, channel in (("here", None), ("channel", channel_to(socket_file))):
        context.chat_channel = channel
        completion = (await client.post("/v1/chat/completions", json=request, headers=headers)).json()
        answers[where] = (completion["choices"], completion["citations"], completion["abstained"])
        chunks = await client.post("/v1/chat/completions", json={**request, "stream": True}, headers=headers)
        lines = [line for line in chunks.text.splitlines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
        streamed[where] = [json.loads(line[6:])["choices"] for line in lines[:-1]]
    assert answers["channel"] == answers["here"]
    assert streamed["channel"] == streamed["here"]


async def test_metrics_count_the_replies_the_channel_gave(served, answer_server, socket_file):
    client, context = served
    context.chat_channel = channel_to(socket_file)
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    assert (await client.post("/v1/chat", json={"message": QUESTION}, headers=headers)).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'deskbot_replies_total{channel="api",kind="answer"} 1.0' in metrics


async def turn_holding_its_place(
    client: httpx.AsyncClient, answer_server: AnswerChannelServer, headers: dict[str, str], path: str = "/v1/chat"
) -> asyncio.Task[httpx.Response]:
    """A turn posted to `path`, once the answer process has taken it (it holds its place while it is answered)."""
    first = asyncio.create_task(client.post(path, json={"message": QUESTION}, headers=headers))
    while answer_server.turns == 0:
        await asyncio.sleep(0.01)
    return first


async def test_beyond_the_places_and_the_queue_a_turn_is_refused_at_once(served, answer_server, socket_file, fake_llm):
    client, context = served
    server = context.server  # as `deskbot serve` configures it: [server] answer_processes, chat_* and Retry-After
    server.answer_processes, server.chat_turns_per_answer_process, server.chat_queue = 1, 1, 1
    server.chat_queue_wait_s, server.shed_retry_after_s = 0.3, 3
    context.chat_channel = chat_channel(context, AnswerStatusBoard(socket_file.parent))
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    fake_llm.first_token_delay_s = 1.0
    first = await turn_holding_its_place(client, answer_server, headers)
    queued = asyncio.create_task(client.post("/v1/chat", json={"message": QUESTION}, headers=headers))
    while context.chat_channel.waiting == 0:
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    refused = await client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "3"
    assert time.perf_counter() - started < 0.2
    waited = await queued  # the queue's wait (0.3 s) ends before the first turn (1 s): refused too
    assert waited.status_code == 503 and "within 0.3s" in waited.json()["detail"]
    assert (await first).status_code == 200
    assert context.chat_channel.in_flight == [0] and context.chat_channel.waiting == 0
    metrics = (await client.get("/metrics")).text
    assert "deskbot_http_shed_requests_total 2.0" in metrics


async def test_a_waiting_turn_takes_the_place_that_comes_free(served, answer_server, socket_file, fake_llm):
    client, context = served
    context.chat_channel = channel_to(socket_file, places=1, queue=4, wait_s=5.0)
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    fake_llm.first_token_delay_s = 0.2
    replies = await asyncio.gather(
        *(client.post("/v1/chat", json={"message": QUESTION}, headers=headers) for _ in range(4))
    )
    assert [reply.status_code for reply in replies] == [200] * 4
    assert context.chat_channel.in_flight == [0]


async def test_a_turn_that_would_only_time_out_in_the_queue_is_refused_at_once(
    served, answer_server, socket_file, fake_llm
):
    client, context = served
    context.chat_channel = channel = channel_to(socket_file, places=1, queue=4, wait_s=1.0)
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    fake_llm.first_token_delay_s = 0.5
    first = await turn_holding_its_place(client, answer_server, headers)
    channel.turn_s = 3.0  # answered turns held their place 3 s: the queue's 1 s cannot be enough (nor its half)
    assert channel.expected_wait_s() == 3.0
    started = time.perf_counter()
    refused = await client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert refused.status_code == 503 and time.perf_counter() - started < 0.2
    channel.turn_s = 0.5  # a place comes free every 0.5 s: within half the queue's 1 s, worth the wait
    queued = asyncio.create_task(client.post("/v1/chat", json={"message": QUESTION}, headers=headers))
    assert (await first).status_code == 200 and (await queued).status_code == 200
    assert 0.5 < channel.turn_s < 3.0  # the answered turns moved the average


async def test_with_no_place_left_the_load_shedding_refuses_chats_before_their_key_is_checked(
    runtime, socket_file, fake_llm
):
    context = build_context(runtime.adapter_context())
    context.chat_channel = channel = channel_to(socket_file, places=1, queue=0)
    app = create_app(context)  # as serve builds it: the channel is known to the load shedding
    async with app.router.lifespan_context(app):
        server = AnswerChannelServer(context.responder, socket_file)
        await server.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test", timeout=30) as client:
            headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
            assert (await client.post("/v1/chat", json={"message": "hi"})).status_code == 401  # places free
            fake_llm.first_token_delay_s = 0.5
            first = await turn_holding_its_place(client, server, headers)
            assert channel.no_place()
            for path in ("/v1/chat", "/v1/chat/stream", "/v1/chat/completions"):
                refused = await client.post(path, content=b"not even JSON")  # no key, no body: refused first
                assert refused.status_code == 503 and refused.headers["Retry-After"] == "1", path
            assert (await client.get("/v1/models")).status_code == 401  # not a turn: served as ever
            assert (await first).status_code == 200
            assert not channel.no_place()
        await server.stop(1.0)


async def test_a_stream_refused_for_overload_is_a_503_before_it_starts(served, answer_server, socket_file, fake_llm):
    client, context = served
    context.chat_channel = channel_to(socket_file, places=1, queue=0)
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    fake_llm.first_token_delay_s = 0.5
    first = await turn_holding_its_place(client, answer_server, headers, "/v1/chat/stream")
    for path, body in (
        ("/v1/chat/stream", {"message": QUESTION}),
        ("/v1/chat/completions", {"model": "deskbot", "messages": [{"role": "user", "content": QUESTION}]}),
    ):
        refused = await client.post(path, json={**body, "stream": True}, headers=headers)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "3", path
    assert "error" in refused.json()  # OpenAI's shape on its route
    assert (await first).status_code == 200


async def test_no_answer_process_listening_is_a_503(served, tmp_path):
    client, context = served
    context.chat_channel = channel_to(tmp_path / "nobody.sock")
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    refused = await client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "3"
    assert "no answer process is reachable" in refused.json()["detail"]
    assert context.chat_channel.in_flight == [0]


async def dies_mid_turn(socket: Path, after: list[bytes]) -> asyncio.Server:
    """An answer process that reads a turn, sends `after` frames and dies (closes the connection)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_frame(reader)
        for data in after:
            writer.write(data)
        await writer.drain()
        writer.transport.abort()

    return await asyncio.start_unix_server(serve, path=str(socket))


async def test_an_answer_process_that_dies_mid_turn_is_a_503_and_a_started_stream_ends_with_an_error(
    served, socket_file
):
    client, context = served
    context.chat_channel = channel_to(socket_file)
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    dying = await dies_mid_turn(socket_file, [])
    try:
        refused = await client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "3"
        assert "stopped during the turn" in refused.json()["detail"]
        assert (await client.post("/v1/chat/stream", json={"message": QUESTION}, headers=headers)).status_code == 503
    finally:
        dying.close()
    dying = await dies_mid_turn(socket_file, [frame({"delta": "Thirty "})])
    try:
        stream = await client.post("/v1/chat/stream", json={"message": QUESTION}, headers=headers)
        assert stream.status_code == 200
        assert [name for name, _data in sse_events(stream.text)] == ["delta", "error"]
        request = {"model": "deskbot", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
        chunks = await client.post("/v1/chat/completions", json=request, headers=headers)
        lines = [line for line in chunks.text.splitlines() if line.startswith("data: ")]
        assert json.loads(lines[-2][6:])["error"]["type"] == "server_error" and lines[-1] == "data: [DONE]"
    finally:
        dying.close()
    assert context.chat_channel.in_flight == [0]


async def test_a_turn_left_by_its_caller_is_cancelled_in_the_answer_process(answer_server, socket_file, fake_llm):
    fake_llm.first_token_delay_s = 30.0
    channel = channel_to(socket_file)
    asking = asyncio.create_task(channel.reply(Message("How do I reset my Nimbus Thermo?", conversation_id="c-left")))
    while answer_server.turns == 0:
        await asyncio.sleep(0.01)
    asking.cancel()
    deadline = time.monotonic() + 2.0
    while answer_server.turns:
        assert time.monotonic() < deadline, "the answer process still answers a turn nobody waits for"
        await asyncio.sleep(0.01)
    assert channel.in_flight == [0]
    with pytest.raises(asyncio.CancelledError):
        await asking


async def test_a_stream_read_to_its_end_frees_its_place(answer_server, socket_file):
    channel = channel_to(socket_file)
    events = [event async for event in channel.stream(Message(QUESTION, conversation_id="c-s"))]
    assert isinstance(events[-1], Reply) and len(events) >= 2
    assert channel.in_flight == [0]


async def test_stopping_the_answer_process_cuts_off_turns_with_a_503(served, socket_file, fake_llm):
    _client, context = served
    server = AnswerChannelServer(context.responder, socket_file)
    await server.start()
    fake_llm.first_token_delay_s = 30.0
    channel = channel_to(socket_file)
    asking = asyncio.create_task(channel.reply(Message(QUESTION, conversation_id="c-cut")))
    while server.turns == 0:
        await asyncio.sleep(0.01)
    await server.stop(0.1)
    with pytest.raises(AnswersUnavailableError):
        await asking
    assert not socket_file.exists()


def test_a_turn_request_carries_the_request_log_context_and_nothing_else():
    with log_context(request_id="req-7", channel="api"):
        sent = turn_request(Message(text="hi", conversation_id="api:k:c", user_id="api:k:u"), (), stream=False)
    record = json.loads(sent[4:])
    assert record["context"] == {"request_id": "req-7", "channel": "api"}
    record["context"]["password"] = "x"  # a field the log context does not know is dropped, not logged
    assert dict(TurnRequest.from_record(record).context) == {"request_id": "req-7", "channel": "api"}


def test_an_http_process_with_answer_processes_leaves_the_models_to_them(runtime, socket_file):
    elsewhere = serving_app(runtime.adapter_context(), AnswerStatusBoard(socket_file.parent)).state.deskbot
    assert elsewhere.chat_channel is not None and not elsewhere.responder.warm_models
    in_process = serving_app(runtime.adapter_context()).state.deskbot
    assert in_process.chat_channel is None and in_process.responder.warm_models


async def test_by_default_a_turn_beyond_the_places_is_refused_at_once(served, answer_server, socket_file, fake_llm):
    client, context = served
    context.server.answer_processes, context.server.chat_turns_per_answer_process = 1, 1  # the queue as shipped
    context.chat_channel = chat_channel(context, AnswerStatusBoard(socket_file.parent))
    headers = {"Authorization": f"Bearer {context.api_keys.create('tests')}"}
    fake_llm.first_token_delay_s = 1.0
    first = await turn_holding_its_place(client, answer_server, headers)
    started = time.perf_counter()
    refused = await client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert refused.status_code == 503 and "every answer place is taken" in refused.json()["detail"]
    assert time.perf_counter() - started < 0.2 and context.chat_channel.waiting == 0
    assert (await first).status_code == 200
