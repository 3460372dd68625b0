"""The handoff stage keeps the bot quiet in a handed-off conversation, also when the store fails."""

import logging

from bot.conversations import InMemoryConversationStore
from bot.stages.handoff import HandoffStage
from bot.store.database import StoreError
from bot.types import Message, Reply, Turn


class FailingStore(InMemoryConversationStore):
    """An in-memory store whose `append` (or also `handed_off`) raises, as a database that went down does."""

    def __init__(self, handed_off_fails: bool = False) -> None:
        super().__init__()
        self.handed_off_fails = handed_off_fails

    def append(self, *args, **kwargs) -> None:
        raise StoreError("conversation store: cannot store a message (OperationalError)")

    def handed_off(self, conversation_id: str) -> bool:
        if self.handed_off_fails:
            raise StoreError("conversation store: cannot read the handoff state (OperationalError)")
        return super().handed_off(conversation_id)


async def answered(turn: Turn) -> Reply:
    return Reply(text="the bot's answer", conversation_id=turn.message.conversation_id)


async def test_a_handed_off_conversation_stays_silent_when_its_message_cannot_be_stored(caplog):
    store = FailingStore()
    store.start_handoff("c1", "u1", "api")
    with caplog.at_level(logging.ERROR):
        reply = await HandoffStage(store)(Turn(Message(text="Hello? Anyone?", conversation_id="c1")), answered)
    assert reply.kind == "silent" and reply.handoff and reply.text == ""
    assert any("not stored" in record.getMessage() for record in caplog.records)


async def test_the_bot_answers_when_the_handoff_state_cannot_be_read(caplog):
    store = FailingStore(handed_off_fails=True)
    with caplog.at_level(logging.ERROR):
        reply = await HandoffStage(store)(Turn(Message(text="Where is my order?", conversation_id="c2")), answered)
    assert reply.text == "the bot's answer"
    assert any("handed off" in record.getMessage() for record in caplog.records)


async def test_a_conversation_that_is_not_handed_off_goes_on():
    reply = await HandoffStage(FailingStore())(Turn(Message(text="Where is my order?", conversation_id="c3")), answered)
    assert reply.text == "the bot's answer"
