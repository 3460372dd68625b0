from bot.types import Message, Reply, TextDelta


async def test_sample_question_is_answered_with_citation(runtime):
    runtime.settings.answer.max_context_tokens = 600  # HashEmbedder ranks returns-policy third
    engine = runtime.engine()
    reply = await engine.handle(Message(text="What is the returns policy? How many days do I have to return?"))
    assert not reply.abstained
    cited = [c.id for c in reply.citations]
    assert cited == ["refund-policy"]  # FakeLLM echoes the best passage (HashEmbedder ranks it first): its document


async def test_stream_yields_deltas_then_reply(runtime):
    responder = runtime.responder()
    events = [event async for event in responder.stream(Message(text="How do I reset my Nimbus Thermo?"))]
    assert isinstance(events[-1], Reply)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas and "".join(deltas).strip() == events[-1].text
