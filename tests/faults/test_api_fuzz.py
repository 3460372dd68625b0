"""Defect 6: no JSON body gives a 500 on `/v1/chat`, `/v1/chat/stream` or the incoming webhook, and a 422 never
echoes the body (its size is bounded whatever was sent).

The hand-made cases gave 500 before (lone surrogate escapes, `1e999999`, `NaN`, `Infinity`: the validation error
echoed an input that JSON cannot carry back) or echoed a megabyte; the hypothesis cases send arbitrary JSON, with
any code point (lone surrogates included) and any float, with a valid API key. One app serves the whole module
(`tests.faults.fuzz_app`).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http.webhook_signing import signature_headers
from tests.faults.fuzz_app import WEBHOOK_SECRET, context_of, fuzz_client

pytestmark = pytest.mark.asyncio(loop_scope="module")

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CHAT_ROUTES = ["/v1/chat", "/v1/chat/stream"]
MAX_ERROR_BYTES = 4096


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with fuzz_client(tmp_path_factory.mktemp("api-fuzz")) as http:
        yield http


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def key_headers(client: httpx.AsyncClient) -> dict[str, str]:
    key = context_of(client).api_keys.create("fuzz")
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


async def post_chat(client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(path, content=body, headers=headers)


def assert_answered_or_refused(response: httpx.Response) -> None:
    """200 with a whole answer, or a short 4xx that is JSON."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code == 200:
        if response.headers["content-type"].startswith("text/event-stream"):
            assert "event: reply" in response.text, "the stream ended without its reply"
        else:
            assert "answer" in response.json()
        return
    assert response.status_code in (400, 422), response.text[:500]
    assert len(response.content) <= MAX_ERROR_BYTES
    response.json()


UNENCODABLE = {
    "a lone high surrogate": b'{"message": "\\ud800"}',
    "a lone low surrogate after text": b'{"message": "hi \\udfff"}',
    "a lone surrogate in user_id": b'{"message": "hi", "user_id": "\\ud83d"}',
    "1e999999": b'{"message": 1e999999}',
    "-1e999999 as conversation_id": b'{"message": "hi", "conversation_id": -1e999999}',
    "NaN": b'{"message": NaN}',
    "Infinity": b'{"message": Infinity}',
    "-Infinity in user_id": b'{"message": "hi", "user_id": -Infinity}',
}


@pytest.mark.parametrize("path", CHAT_ROUTES)
@pytest.mark.parametrize("case", list(UNENCODABLE))
async def test_values_no_response_can_echo_are_422_not_500(client, key_headers, path, case):
    response = await post_chat(client, path, UNENCODABLE[case], key_headers)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert set(problem) == {"type", "loc", "msg"}, "no input, no ctx"


@pytest.mark.parametrize("path", CHAT_ROUTES)
async def test_a_422_is_small_whatever_the_body(client, key_headers, path):
    huge = {"message": {"text": "x" * 900_000}, "conversation_id": ["y" * 1000], "user_id": 7}
    response = await post_chat(client, path, json.dumps(huge).encode(), key_headers)
    assert response.status_code == 422
    assert len(response.content) < 1000
    assert [problem["loc"] for problem in response.json()["detail"]] == [
        ["body", "message"],
        ["body", "conversation_id"],
        ["body", "user_id"],
    ]


async def test_a_too_long_message_is_refused_without_echoing_it(client, key_headers):
    response = await post_chat(client, "/v1/chat", json.dumps({"message": "z" * 500_000}).encode(), key_headers)
    assert response.status_code == 422
    assert len(response.content) < 500 and "zzzz" not in response.text


async def test_a_lone_surrogate_in_a_key_the_route_does_not_read_is_answered(client, key_headers):
    response = await post_chat(client, "/v1/chat", b'{"message": "hi", "\\ud800": 1}', key_headers)
    assert response.status_code == 200


def signed_webhook(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", **signature_headers(WEBHOOK_SECRET, body)}


async def test_the_incoming_webhook_refuses_numbers_json_does_not_have(client):
    body = b'{"id": "d-1", "text": 1e999999}'
    response = await client.post("/webhooks/incoming", content=body, headers=signed_webhook(body))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_the_incoming_webhook_422_does_not_echo_the_body(client):
    body = json.dumps({"id": "d-2", "text": ["w" * 500_000]}).encode()
    response = await client.post("/webhooks/incoming", content=body, headers=signed_webhook(body))
    assert response.status_code == 422
    assert len(response.content) < 500 and "wwww" not in response.text


# ----- hypothesis fuzz with a valid key -----

ANY_TEXT = st.text(st.characters(exclude_categories=[]), max_size=30)  # lone surrogates included
UNENCODABLE_VALUES = st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "a\udfff"])
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT | UNENCODABLE_VALUES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(ANY_TEXT, children, max_size=3),
    max_leaves=8,
)
CHAT_FIELDS = st.fixed_dictionaries(
    {}, optional={"message": ANY_JSON, "conversation_id": ANY_JSON, "user_id": ANY_JSON}
)
CHAT_BODIES = st.one_of(
    st.builds(lambda fields, extra: {**extra, **fields}, CHAT_FIELDS, st.dictionaries(ANY_TEXT, ANY_JSON, max_size=2)),
    st.fixed_dictionaries({"message": ANY_TEXT}, optional={"conversation_id": ANY_TEXT, "user_id": ANY_TEXT}),
    ANY_JSON,
)


@FUZZ
@given(payload=CHAT_BODIES, path=st.sampled_from(CHAT_ROUTES))
async def test_fuzzed_chat_bodies_never_5xx(client, key_headers, payload, path):
    body = json.dumps(payload).encode()  # ensure_ascii: lone surrogates become \\udXXX escapes, NaN stays NaN
    assert_answered_or_refused(await post_chat(client, path, body, key_headers))


@FUZZ
@given(body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode), path=st.sampled_from(CHAT_ROUTES))
async def test_fuzzed_raw_chat_bodies_never_5xx(client, key_headers, body, path):
    assert_answered_or_refused(await post_chat(client, path, body, key_headers))
