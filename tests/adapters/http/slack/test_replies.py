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
    assert await replies.send(SlackTarget("C1"), Reply(text="", kind="silent"))
    assert fake_slack.calls == []
    await replies.close()


async def test_unreachable_slack_is_reported_not_raised():
    replies = SlackReplies("xoxb-1", "http://127.0.0.1:9/api/", rate_limit_retries=0)
    assert not await replies.send(SlackTarget("C1"), Reply(text="hi"))
    await replies.close()
