"""The Slack endpoints end to end: real slack_sdk signatures and WebClient, a fake Slack Web API on loopback."""

import asyncio
import json

from adapters.http.slack.fake_web_api import Failure
from bot.store.database import Database
from prompts import PromptLibrary
from tests.adapters.http.conftest import answered, fixture, queue_writes


async def test_url_verification_echoes_the_challenge(slack):
    payload = fixture("slack_url_verification.json")
    response = await slack.event(payload)
    assert response.status_code == 200
    assert response.json() == {"challenge": payload["challenge"]}


async def test_app_mention_is_acknowledged_then_answered_in_its_thread(slack, context, fake_slack):
    response = await slack.event(fixture("slack_app_mention.json"))
    assert response.status_code == 200
    await answered(context, 10)
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.params["channel"] == "C123ABC456"
    assert call.params["thread_ts"] == "1515449522.000016"
    assert "returns" in call.params["text"].lower() or call.params["text"]
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"
    actions = [block for block in call.params["blocks"] if block["type"] == "actions"]
    assert {e["action_id"] for e in actions[0]["elements"]} == {
        "deskbot_feedback_good",
        "deskbot_feedback_bad",
        "deskbot_human",
    }


async def test_with_redact_pii_the_queue_never_holds_the_raw_text(slack, context, fake_slack):
    context.settings.guard.redact_pii = True
    payload = fixture("slack_app_mention.json")
    payload["event"]["text"] = "<@U0LAN0Z89> Where is my order? Write to jane.doe@example.com or +44 20 7946 0958"
    with queue_writes(context) as written:
        assert (await slack.event(payload)).status_code == 200
    [job] = written
    assert "[EMAIL]" in job and "[PHONE]" in job
    assert "jane.doe" not in job and "7946" not in job
    await answered(context, 10)
    assert fake_slack.calls_to("chat.postMessage")


async def test_direct_message_and_thread_reply_are_answered(slack, context, fake_slack):
    assert (await slack.event(fixture("slack_message_im.json"))).status_code == 200
    assert (await slack.event(fixture("slack_message_thread_reply.json"))).status_code == 200
    await answered(context, 10)
    calls = fake_slack.calls_to("chat.postMessage")
    assert sorted((c.params["channel"], c.params.get("thread_ts")) for c in calls) == [
        ("C123ABC456", "1515449522.000016"),
        ("D024BE91L", None),
    ]


async def test_duplicate_delivery_and_retries_are_answered_once(slack, context, fake_slack):
    payload = fixture("slack_app_mention.json")
    first = await slack.event(payload)
    retries = await asyncio.gather(
        slack.event(payload, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}),
        slack.event(payload, **{"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}),
    )
    assert first.status_code == 200 and all(r.status_code == 200 for r in retries)
    await answered(context, 10)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_bot_messages_are_ignored(slack, context, fake_slack):
    response = await slack.event(fixture("slack_message_bot.json"))
    assert response.status_code == 200
    await answered(context, 5)
    assert fake_slack.calls == []


async def test_unknown_event_types_are_200_and_ignored(slack, context, fake_slack):
    assert (await slack.event(fixture("slack_reaction_added.json"))).status_code == 200
    assert (
        await slack.event({"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1})
    ).status_code == 200
    await answered(context, 5)
    assert fake_slack.calls == []


async def test_malformed_json_is_400(slack):
    response = await slack.post("/slack/events", b'{"type": "event_callback", ', "application/json")
    assert response.status_code == 400


async def test_rate_limited_post_is_retried_after_retry_after(slack, context, fake_slack):
    fake_slack.fail_next("chat.postMessage", Failure(status=429, retry_after=1))
    await slack.event(fixture("slack_app_mention.json"))
    await answered(context, 15)
    calls = fake_slack.calls_to("chat.postMessage")
    assert len(calls) == 2, "one refused with 429, then one accepted"


async def test_slack_api_error_is_logged_not_raised(slack, context, fake_slack, caplog):
    fake_slack.fail_next("chat.postMessage", Failure(error="channel_not_found"))
    await slack.event(fixture("slack_app_mention.json"))
    await answered(context, 10)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert "channel_not_found" in caplog.text
    assert "xoxb-test-token" not in caplog.text


async def test_llm_failure_gets_a_polite_fallback(slack, context, fake_slack, fake_llm):
    from bot.errors import LLMError

    fake_llm.fail_with = LLMError("model exploded")
    await slack.event(fixture("slack_app_mention.json"))
    await answered(context, 10)
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.params["text"].startswith("Sorry, something went wrong")
    assert "exploded" not in call.params["text"]


async def test_slash_command_runs_the_command_and_answers_on_the_response_url(slack, context, fake_slack):
    fields = fixture("slack_slash_command.json")
    fields["response_url"] = fake_slack.url("/hooks/commands/1234/5678")
    response = await slack.command(fields)
    assert response.status_code == 200
    await answered(context, 10)
    [call] = fake_slack.calls_to("/hooks/commands/1234/5678")
    assert call.params["response_type"] == "ephemeral"
    assert call.params["text"]


async def test_button_click_becomes_a_command_in_the_thread(slack, context, fake_slack, monkeypatch):
    seen = []
    context.responder.listen(lambda message, _reply: seen.append(message))
    response = await slack.interaction(fixture("slack_block_actions.json"))
    assert response.status_code == 200
    await answered(context, 10)
    assert [m.text for m in seen] == ["/feedback bad"]
    assert seen[0].conversation_id == "slack:T123ABC456:C123ABC456:1515449522.000016"
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.params["thread_ts"] == "1515449522.000016"


async def test_a_queue_that_is_down_is_503_so_slack_retries(slack, context, fake_slack, monkeypatch, caplog):
    unreachable = Database("postgresql+psycopg://deskbot@127.0.0.1:9/deskbot")  # nothing listens on port 9
    monkeypatch.setattr(context.deliveries, "_database", unreachable)
    response = await slack.event(fixture("slack_app_mention.json"))
    assert response.status_code == 503
    assert "cannot queue" in caplog.text
    monkeypatch.undo()
    assert (await slack.event(fixture("slack_app_mention.json"))).status_code == 200, "the retry is accepted"
    await answered(context, 10)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_failing_stage_gives_the_canned_reply_in_slack(exploding_stage, slack, context, fake_slack):
    response = await slack.event(fixture("slack_app_mention.json"))
    assert response.status_code == 200
    await answered(context, 10)
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.params["text"] == PromptLibrary().render("error")
    assert exploding_stage not in json.dumps(call.params)
