"""Slack payloads -> engine Messages, one rule per test, on payloads recorded from Slack's docs."""

from typing import Any

from adapters.http.slack.shapes import BlockActions, ChatEvent, EventCallback, SlashCommand
from adapters.http.slack.translation import (
    bot_user_id,
    is_from_a_bot,
    strip_mentions,
    turn_from_event,
    turn_from_interaction,
    turn_from_slash_command,
)
from tests.adapters.http.conftest import fixture


def event_callback(payload: dict[str, Any]) -> EventCallback:
    return EventCallback.model_validate(payload)


def turn_from_event_payload(payload: dict[str, Any]):
    return turn_from_event(event_callback(payload))


def turn_from_form(form: dict[str, str]):
    return turn_from_slash_command(SlashCommand.model_validate(form))


def turn_from_click(payload: dict[str, Any]):
    return turn_from_interaction(BlockActions.model_validate(payload))


def test_app_mention_strips_the_mention_and_threads_on_the_message():
    turn = turn_from_event_payload(fixture("slack_app_mention.json"))
    assert turn is not None
    assert turn.message.text.startswith("What is the returns policy?")
    assert turn.message.channel == "slack"
    assert turn.message.user_id == "slack:U123ABC456"
    assert turn.target.thread_ts == "1515449522.000016"
    assert turn.message.conversation_id == "slack:T123ABC456:C123ABC456:1515449522.000016"


def test_thread_reply_continues_the_mention_conversation():
    mention = turn_from_event_payload(fixture("slack_app_mention.json"))
    reply = turn_from_event_payload(fixture("slack_message_thread_reply.json"))
    assert mention and reply and reply.message.conversation_id == mention.message.conversation_id


def test_thread_reply_in_someone_elses_thread_is_ignored():
    payload = fixture("slack_message_thread_reply.json")
    payload["event"]["parent_user_id"] = "U999"
    assert turn_from_event_payload(payload) is None


def test_channel_message_mentioning_the_bot_is_left_to_app_mention():
    payload = fixture("slack_message_thread_reply.json")
    payload["event"]["text"] = "<@U0LAN0Z89> and opened items?"
    assert turn_from_event_payload(payload) is None


def test_direct_message_has_no_thread():
    turn = turn_from_event_payload(fixture("slack_message_im.json"))
    assert turn is not None and turn.target.thread_ts is None
    assert turn.message.conversation_id == "slack:T123ABC456:D024BE91L"


def test_ignoring_self():
    callback = event_callback(fixture("slack_message_im.json"))
    own = bot_user_id(callback)
    assert own == "U0LAN0Z89"
    assert isinstance(callback.event, ChatEvent)
    mine = callback.event.model_copy(update={"user": own})
    assert is_from_a_bot(mine, own)
    bot_event = event_callback(fixture("slack_message_bot.json")).event
    assert isinstance(bot_event, ChatEvent) and is_from_a_bot(bot_event, own)
    assert not is_from_a_bot(callback.event, own)
    assert turn_from_event_payload(fixture("slack_message_bot.json")) is None


def test_edits_and_unknown_events_are_ignored():
    edited = fixture("slack_message_im.json")
    edited["event"]["subtype"] = "message_changed"
    assert turn_from_event_payload(edited) is None
    assert turn_from_event_payload(fixture("slack_reaction_added.json")) is None
    team_join = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "team_join"}}
    assert turn_from_event_payload(team_join) is None


def test_strip_mentions():
    assert strip_mentions("<@U0LAN0Z89>   hi <@U1|bob> there") == "hi there"


def test_slash_command_subcommands_become_engine_commands():
    form = fixture("slack_slash_command.json")
    assert turn_from_form(form).message.text == "/reset"
    for text, expected in [("", "/help"), ("human", "/human"), ("feedback good", "/feedback good")]:
        assert turn_from_form({**form, "text": text}).message.text == expected
    question = turn_from_form({**form, "text": "how do I  reset my thermostat?"})
    assert question.message.text == "how do I reset my thermostat?"
    assert question.target.response_url == form["response_url"]


def test_buttons_become_engine_commands():
    payload = fixture("slack_block_actions.json")
    for action_id, command in [
        ("deskbot_feedback_good", "/feedback good"),
        ("deskbot_feedback_bad", "/feedback bad"),
        ("deskbot_human", "/human"),
    ]:
        payload["actions"][0]["action_id"] = action_id
        turn = turn_from_click(payload)
        assert turn is not None and turn.message.text == command
    payload["actions"][0]["action_id"] = "someone_elses_button"
    assert turn_from_click(payload) is None
