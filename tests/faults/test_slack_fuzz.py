"""Defect 1 (and 6, 10 for Slack): correctly signed Slack requests of any shape never give a 5xx.

The hand-made cases are the payloads that gave 500 (or were queued, or echoed garbage) before Slack payloads were
validated into typed shapes; the hypothesis cases sign arbitrary JSON, forms and mutations of the recorded payloads
for the three Slack routes. Slack retries every 5xx, so the contract is: a 401 for a bad signature, a 400 for a body
that is not JSON or not a form, and otherwise 200 — `{"ok": true, "ignored": REASON}` with nothing queued when the
payload is not what Slack documents.

One app serves the whole module (`tests.faults.fuzz_app`): it answers what was queued, and posts nothing anywhere.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http.context import ChannelContext
from tests.adapters.http.conftest import SIGNING_SECRET, answered, fixture, form_body, queue_writes
from tests.faults.fuzz_app import context_of, fuzz_client

pytestmark = pytest.mark.asyncio(loop_scope="module")

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = "application/x-www-form-urlencoded"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with fuzz_client(tmp_path_factory.mktemp("slack-fuzz")) as http:
        yield http


@pytest.fixture
def context(client: httpx.AsyncClient) -> ChannelContext:
    return context_of(client)


@pytest_asyncio.fixture(loop_scope="module")
async def fuzzed(client: httpx.AsyncClient, context: ChannelContext) -> AsyncIterator[httpx.AsyncClient]:
    """The client, and afterwards the check that the answer worker answered everything the edge accepted (a job it
    failed on would wait for its lease and keep the queue from settling)."""
    yield client
    await answered(context, 30)


def signed_headers(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's scheme over the raw bytes (slack_sdk's signer only takes text)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


async def signed_post(
    client: httpx.AsyncClient, path: str, body: bytes, content_type: str, timestamp: int | None = None
) -> httpx.Response:
    headers = {"Content-Type": content_type, **signed_headers(body, timestamp)}
    return await client.post(path, content=body, headers=headers)


async def post_event(client: httpx.AsyncClient, payload: Any) -> httpx.Response:
    return await signed_post(client, "/slack/events", json.dumps(payload).encode(), "application/json")


async def post_interaction(client: httpx.AsyncClient, payload: Any) -> httpx.Response:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return await signed_post(client, "/slack/interactions", form_body({"payload": raw}), FORM)


def with_value(payload: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    holder: Any = changed
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return changed


def without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in payload.items() if name != key}


MENTION = fixture("slack_app_mention.json")
CLICK = fixture("slack_block_actions.json")
COMMAND = fixture("slack_slash_command.json")

UNEXPECTED_EVENTS = {
    "authorizations is an object": with_value(MENTION, ("authorizations",), {"user_id": "U0LAN0Z89"}),
    "authorizations holds a number": with_value(MENTION, ("authorizations",), [1]),
    "authorizations is a string": with_value(MENTION, ("authorizations",), "U0LAN0Z89"),
    "event is a list": with_value(MENTION, ("event",), [MENTION["event"]]),
    "event.text is an object": with_value(MENTION, ("event", "text"), {"text": "hi"}),
    "event.user is an object": with_value(MENTION, ("event", "user"), {"id": "U123ABC456"}),
    "event.channel is a list": with_value(MENTION, ("event", "channel"), ["C123ABC456"]),
    "event.thread_ts is a number": with_value(MENTION, ("event", "thread_ts"), 1515449522.000016),
    "event.channel is missing": with_value(MENTION, ("event",), without(MENTION["event"], "channel")),
    "event_id is an object": with_value(MENTION, ("event_id",), {"id": "Ev123ABC456"}),
    "event_id is missing": without(MENTION, "event_id"),
    "challenge is a list": {"type": "url_verification", "token": "x", "challenge": ["abc"]},
    "the payload is a list": [MENTION],
}

UNEXPECTED_INTERACTIONS = {
    "payload is a JSON array": [CLICK],
    "actions is an object": with_value(CLICK, ("actions",), CLICK["actions"][0]),
    "actions is a string": with_value(CLICK, ("actions",), "deskbot_human"),
    "actions is empty": with_value(CLICK, ("actions",), []),
    "actions holds a string": with_value(CLICK, ("actions",), ["deskbot_human"]),
    "user is a string": with_value(CLICK, ("user",), "U123ABC456"),
    "channel is a string": with_value(CLICK, ("channel",), "C123ABC456"),
    "team is a string": with_value(CLICK, ("team",), "T123ABC456"),
    "message is a string": with_value(CLICK, ("message",), "the reply"),
    "action_id is a list": with_value(CLICK, ("actions", 0, "action_id"), ["deskbot_human"]),
    "value is an object": with_value(CLICK, ("actions", 0, "value"), {"conversation": "c-1"}),
}


def assert_ignored_as_unexpected(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["ignored"].startswith("unexpected"), body
    for word in words:
        assert word in body["ignored"]


@pytest.mark.parametrize("case", list(UNEXPECTED_EVENTS))
async def test_an_unexpected_event_payload_is_200_ignored_and_not_queued(client, context, case, caplog):
    with queue_writes(context) as written:
        response = await post_event(client, UNEXPECTED_EVENTS[case])
    assert_ignored_as_unexpected(response)
    assert written == []
    assert "ignored a Slack request to /slack/events: unexpected" in caplog.text


@pytest.mark.parametrize("case", list(UNEXPECTED_INTERACTIONS))
async def test_an_unexpected_interaction_is_200_ignored_and_not_queued(client, context, case):
    with queue_writes(context) as written:
        response = await post_interaction(client, UNEXPECTED_INTERACTIONS[case])
    assert_ignored_as_unexpected(response)
    assert written == []


async def test_the_reason_names_the_field_and_never_echoes_the_payload(client):
    secret_looking = "x" * 5000
    response = await post_event(client, with_value(MENTION, ("event", "text"), {"secret": secret_looking}))
    assert_ignored_as_unexpected(response, "event_callback", "event.app_mention.text")
    assert secret_looking not in response.text and len(response.content) < 500


async def test_a_lone_surrogate_in_the_challenge_is_ignored_not_500(client):
    body = b'{"type": "url_verification", "token": "x", "challenge": "\\ud800"}'
    response = await signed_post(client, "/slack/events", body, "application/json")
    assert_ignored_as_unexpected(response, "url_verification")


@pytest.mark.parametrize("path", ["/slack/events", "/slack/interactions"])
async def test_a_payload_type_that_is_a_lone_surrogate_is_quoted_encodably(client, path):
    payload = b'{"type": "\\ud800' + b"x" * 500 + b'"}'
    if path == "/slack/events":
        response = await signed_post(client, path, payload, "application/json")
    else:
        response = await signed_post(client, path, form_body({"payload": payload.decode()}), FORM)
    assert response.status_code == 200
    reason = response.json()["ignored"]
    assert reason.endswith("type '?" + "x" * 58 + "…'"), reason


@pytest.mark.parametrize("number", [b"1e999999", b"-1e999999", b"NaN", b"Infinity", b"-Infinity"])
async def test_numbers_json_does_not_have_are_400(client, number):
    body = b'{"type": "event_callback", "event_id": "Ev1", "event_time": ' + number + b"}"
    response = await signed_post(client, "/slack/events", body, "application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_a_slash_command_without_channel_is_ignored(client, context):
    with queue_writes(context) as written:
        response = await signed_post(client, "/slack/commands", form_body(without(COMMAND, "channel_id")), FORM)
    assert_ignored_as_unexpected(response, "channel_id")
    assert written == []


async def test_a_slash_command_with_a_response_url_that_is_not_a_web_url_is_ignored(client, context):
    with queue_writes(context) as written:
        fields = {**COMMAND, "response_url": "file:///etc/passwd"}
        response = await signed_post(client, "/slack/commands", form_body(fields), FORM)
    assert_ignored_as_unexpected(response, "response_url")
    assert written == []


async def test_a_slash_command_with_a_blank_response_url_is_answered_in_the_channel(client, context):
    with queue_writes(context) as written:
        fields = {**COMMAND, "response_url": "", "trigger_id": "blank-response-url"}
        response = await signed_post(client, "/slack/commands", form_body(fields), FORM)
    assert response.status_code == 200
    [job] = written
    assert "'response_url': None" in job or '"response_url": null' in job


async def test_an_interaction_without_payload_is_ignored(client):
    response = await signed_post(client, "/slack/interactions", form_body({"text": "hi"}), FORM)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "ignored": "interaction without payload"}


async def test_a_field_deskbot_does_not_read_may_be_anything(client, context):
    payload = with_value(with_value(MENTION, ("event", "blocks"), "not a list"), ("event_id",), "Ev-blocks")
    with queue_writes(context) as written:
        response = await post_event(client, payload)
    assert response.json() == {"ok": True}
    assert len(written) == 1


async def test_a_slash_command_without_trigger_id_is_queued_once_per_signed_request(client, context):
    body = form_body(without(COMMAND, "trigger_id"))
    now = int(time.time())
    with queue_writes(context) as written:
        first = await signed_post(client, "/slack/commands", body, FORM, timestamp=now)
        replayed = await signed_post(client, "/slack/commands", body, FORM, timestamp=now)
        again_later = await signed_post(client, "/slack/commands", body, FORM, timestamp=now + 1)
    assert [r.status_code for r in (first, replayed, again_later)] == [200, 200, 200]
    assert len(written) == 2, "the replay of the same signed request is the same delivery; a new request is not"


async def test_a_click_without_trigger_id_is_queued_once_per_signed_request(client, context):
    body = form_body({"payload": json.dumps(without(CLICK, "trigger_id"))})
    now = int(time.time())
    with queue_writes(context) as written:
        for _ in range(2):
            assert (await signed_post(client, "/slack/interactions", body, FORM, timestamp=now)).status_code == 200
    assert len(written) == 1


# ----- signed hypothesis fuzz -----

SLACK_TEXT = st.text(max_size=40)  # form fields: Slack sends UTF-8 (other bytes: test_signed_arbitrary_bytes_...)
JSON_TEXT = st.text(st.characters(exclude_categories=[]), max_size=40)  # lone surrogates too, as \udXXX escapes
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | JSON_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(JSON_TEXT, children, max_size=4),
    max_leaves=12,
)


def paths_of(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a JSON value where another value can go."""
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, recorded: list[dict[str, Any]]) -> Any:
    """A recorded payload with one to three of its values replaced by arbitrary JSON, or arbitrary JSON."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    payload = copy.deepcopy(draw(st.sampled_from(recorded)))
    for _ in range(draw(st.integers(1, 3))):
        payload = with_value(payload, draw(st.sampled_from(paths_of(payload))), draw(JSON_VALUES))
    return payload


EVENTS = [
    fixture(name)
    for name in (
        "slack_app_mention.json",
        "slack_message_im.json",
        "slack_message_thread_reply.json",
        "slack_message_bot.json",
        "slack_reaction_added.json",
        "slack_url_verification.json",
    )
]
FORM_FIELDS = st.dictionaries(st.sampled_from([*COMMAND, "payload"]) | SLACK_TEXT, SLACK_TEXT, max_size=8)


def assert_no_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200 and response.headers.get("content-type") == "application/json":
        assert response.json().get("ok", True) is True


@FUZZ
@given(payload=mutated(EVENTS))
async def test_signed_fuzzed_events_never_5xx(fuzzed, payload):
    assert_no_5xx(await post_event(fuzzed, payload))


@FUZZ
@given(fields=st.one_of(st.builds(lambda extra: {**COMMAND, **extra}, FORM_FIELDS), FORM_FIELDS))
async def test_signed_fuzzed_slash_commands_never_5xx(fuzzed, fields):
    assert_no_5xx(await signed_post(fuzzed, "/slack/commands", form_body(fields), FORM))


@FUZZ
@given(payload=st.one_of(mutated([CLICK]), SLACK_TEXT))
async def test_signed_fuzzed_interactions_never_5xx(fuzzed, payload):
    assert_no_5xx(await post_interaction(fuzzed, payload))


SLACK_PATHS = st.sampled_from(["/slack/events", "/slack/commands", "/slack/interactions"])


@FUZZ
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode), path=SLACK_PATHS)
async def test_signed_arbitrary_bytes_never_5xx(fuzzed, body, path):
    content_type = "application/json" if path == "/slack/events" else FORM
    response = await signed_post(fuzzed, path, body, content_type)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:  # Slack sends UTF-8; slack_sdk's verifier refuses anything else as unsigned
        assert response.status_code == 401
    else:
        assert_no_5xx(response)
