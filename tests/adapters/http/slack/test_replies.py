import pytest

from adapters.http.deliveries import DeliveryFailedError
from adapters.http.slack.fake_web_api import Failure
from adapters.http.slack.replies import SlackReplies, reply_blocks
from adapters.http.slack.translation import SlackTarget
from bot.types import Citation, Reply


def test_long_answers_are_split_into_sections_and_commands_have_no_buttons():
    reply = Reply(text="word " * 1500, conversation_id="c1", citations=(Citation("d", "Returns", "r.md", 0.9, 1),))
    blocks = reply_blocks(reply)
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 3 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert blocks[-2]["type"] == "context" and "Returns" in blocks[-2]["elements"][0]["text"]
    assert blocks[-1]["type"] == "actions"
    assert all(b["type"] != "actions" for b in reply_blocks(Reply(text="Done.", kind="command")))


async def test_silent_replies_are_not_posted(fake_slack):
    replies = SlackReplies("xoxb-1", fake_slack.api_url)
    await replies.send(SlackTarget("C1"), Reply(text="", kind="silent"))
    assert fake_slack.calls == []
    await replies.close()


async def test_unreachable_slack_is_a_delivery_failure_worth_retrying():
    replies = SlackReplies("xoxb-1", "http://127.0.0.1:9/api/", rate_limit_retries=0)
    with pytest.raises(DeliveryFailedError, match="cannot reach Slack") as failure:
        await replies.send(SlackTarget("C1"), Reply(text="hi"))
    assert not failure.value.permanent
    await replies.close()


@pytest.mark.parametrize(
    ("failure", "permanent"),
    [
        (Failure(status=503), False),
        (Failure(status=429, retry_after=0), False),
        (Failure(error="internal_error"), False),
        (Failure(error="channel_not_found"), True),
        (Failure(error="invalid_auth"), True),
    ],
)
async def test_slack_errors_are_delivery_failures_permanent_only_when_no_retry_helps(fake_slack, failure, permanent):
    replies = SlackReplies("xoxb-1", fake_slack.api_url, rate_limit_retries=0)
    fake_slack.fail_next("chat.postMessage", failure)
    with pytest.raises(DeliveryFailedError) as raised:
        await replies.send(SlackTarget("C1"), Reply(text="hi"))
    assert raised.value.permanent is permanent
    await replies.close()
