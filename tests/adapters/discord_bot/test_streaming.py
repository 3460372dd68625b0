"""StreamedAnswer against a real discord.py channel whose REST calls are recorded."""

from adapters.discord_bot.streaming import StreamedAnswer


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


async def test_edits_are_rate_limited(discord_harness):
    channel = discord_harness.message("discord_message_create_dm.json").channel
    clock = Clock()
    stream = StreamedAnswer(channel, interval_s=1.0, clock=clock)
    for index in range(50):
        clock.now = index * 0.1  # 50 deltas over 5 seconds
        await stream.add(f"word{index} ")
    await stream.finish("the final answer")
    posts = discord_harness.http.sent("POST", "/messages")
    edits = discord_harness.http.sent("PATCH", "/messages/")
    assert len(posts) == 1
    assert 4 <= len(edits) <= 6, "about one edit per second, plus the final one"
    assert edits[-1].json["content"] == "the final answer"


async def test_long_answers_continue_in_new_messages_of_at_most_2000(discord_harness):
    channel = discord_harness.message("discord_message_create_dm.json").channel
    stream = StreamedAnswer(channel, interval_s=0.0)
    text = ("A sentence about thermostats. " * 200).strip()
    messages = await stream.finish(text)
    assert len(messages) == 4
    sent = [r.json["content"] for r in discord_harness.http.sent("POST", "/messages")]
    assert all(len(piece) <= 2000 for piece in sent)
    assert " ".join(" ".join(sent).split()) == text
