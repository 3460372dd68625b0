"""Verified Slack bodies -> typed shapes; anything else is `UnexpectedPayloadError` with a reason, or a 400."""

import json

import pytest
from fastapi import HTTPException

from adapters.http.slack.shapes import (
    BlockActions,
    ChatEvent,
    EventCallback,
    OtherEvent,
    UnexpectedPayloadError,
    UrlVerification,
    read_events,
    read_interaction,
    read_slash_command,
)
from tests.adapters.http.conftest import fixture, form_body, json_body


def test_recorded_events_read_as_their_shapes():
    mention = read_events(json_body(fixture("slack_app_mention.json")))
    assert isinstance(mention, EventCallback) and isinstance(mention.event, ChatEvent)
    assert mention.event.type == "app_mention" and mention.authorizations[0].user_id == "U0LAN0Z89"
    reaction = read_events(json_body(fixture("slack_reaction_added.json")))
    assert isinstance(reaction, EventCallback) and reaction.event == OtherEvent(type="reaction_added")
    challenge = read_events(json_body(fixture("slack_url_verification.json")))
    assert isinstance(challenge, UrlVerification)


def test_a_recorded_slash_command_and_click_read_as_their_shapes():
    command = read_slash_command(form_body(fixture("slack_slash_command.json")))
    assert command.channel_id == "C2147483705" and command.response_url == "https://hooks.slack.com/commands/1234/5678"
    click = read_interaction(form_body({"payload": json.dumps(fixture("slack_block_actions.json"))}))
    assert isinstance(click, BlockActions) and click.actions[0].action_id == "deskbot_feedback_bad"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"type": "app_rate_limited"}, "payload type 'app_rate_limited'"),
        ({"token": "x"}, "payload type missing"),
        ({"type": ["event_callback"]}, "payload type a list"),
        ([1], "unexpected payload: not a JSON object"),
        ({"type": "event_callback", "event_id": "Ev1", "event": "hi"}, "unexpected event_callback: event: Input"),
    ],
)
def test_what_is_not_a_documented_event_payload_says_why(payload, reason):
    with pytest.raises(UnexpectedPayloadError) as unexpected:
        read_events(json_body(payload))
    assert unexpected.value.reason.startswith(reason)


def test_an_id_too_long_for_a_conversation_id_is_unexpected():
    payload = fixture("slack_app_mention.json")
    payload["event"]["channel"] = "C" * 61
    with pytest.raises(UnexpectedPayloadError, match=r"event\.app_mention\.channel"):
        read_events(json_body(payload))


def test_a_body_that_is_not_json_is_400_not_ignored():
    with pytest.raises(HTTPException) as refused:
        read_events(b'{"type": ')
    assert refused.value.status_code == 400
    with pytest.raises(HTTPException):
        read_interaction(form_body({"payload": "{not json"}))
