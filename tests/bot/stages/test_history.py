"""Bad input around the store and the model: the customer always gets a reply, the turn is stored when it can be."""

import logging

from bot.errors import LLMTimeoutError
from bot.llm.fake import FakeLLM
from bot.runtime import Runtime
from bot.terms import content_words
from bot.types import Message, Reply, Turn


async def test_turn_and_reply_are_stored_with_citations(runtime):
    reply = await runtime.engine().handle(
        Message(text="What is the returns policy?", conversation_id="h1", user_id="u")
    )
    (record,) = [r for r in runtime.conversations().export() if r["conversation_id"] == "h1"]
    assert [m["role"] for m in record["messages"]] == ["user", "assistant"]
    assert record["messages"][1]["content"] == reply.text
    assert record["messages"][1]["citations"] == [c.id for c in reply.citations]


async def test_each_reply_is_stored_with_its_kind_best_retrieval_score_and_latency(runtime, settings):
    settings.answer.min_score = 1.0  # nothing scores that high: the question is abstained on
    settings.answer.faq_min_score = 1.01
    reply = await runtime.engine().handle(Message(text="Can I pay with bitcoin?", conversation_id="h3", user_id="u"))
    (record,) = [r for r in runtime.conversations().export() if r["conversation_id"] == "h3"]
    question, answer = record["messages"]
    assert answer["kind"] == reply.kind == "abstain"
    assert 0.0 < answer["retrieval_score"] < 1.0
    assert 0.0 < answer["latency_ms"] <= reply.latency_ms
    assert question["kind"] is None and question["retrieval_score"] is None and question["latency_ms"] is None


async def test_second_turn_sees_history_and_profile(runtime, fake_llm, settings):
    settings.answer.faq_min_score = 1.01
    settings.answer.min_answer_probability = 0.0  # answer both turns, whatever the passages' evidence
    engine = runtime.engine()
    profile = {"profile": {"name": "Ada", "plan": "Nimbus Plus", "language": "German"}}
    await engine.handle(
        Message(text="How do I reset my Nimbus Thermo?", conversation_id="h2", user_id="ada", metadata=profile)
    )
    await engine.handle(Message(text="And how long does that take?", conversation_id="h2", user_id="ada"))
    last_prompt = fake_llm.calls[-1]
    assert [m.role for m in last_prompt][:2] == ["system", "user"]
    assert last_prompt[1].content == "How do I reset my Nimbus Thermo?"
    assert "Ada" in last_prompt[-1].content and "German" in last_prompt[-1].content
    assert runtime.conversations().profile("ada")["plan"] == "Nimbus Plus"


async def test_a_follow_up_after_an_abstention_is_searched_without_the_abstain_text(runtime, registry, settings):
    queries: list[str] = []

    async def record_query(turn: Turn, call_next) -> Reply:
        queries.append(turn.query)
        return await call_next(turn)

    registry.register("stages", "record_query", lambda _services: record_query)
    stages = settings.pipeline.stages
    stages.insert(stages.index("rewrite") + 1, "record_query")
    settings.answer.min_score = 1.0  # nothing scores that high: every question is abstained on
    settings.answer.faq_min_score = 1.01
    engine = runtime.engine()
    first = await engine.handle(Message(text="Can I pay with bitcoin?", conversation_id="a1", user_id="u"))
    assert first.kind == "abstain"
    await engine.handle(Message(text="what about paypal?", conversation_id="a1", user_id="u"))
    added = {w.lower() for w in content_words(queries[-1])} - {"paypal"}
    assert added == {"pay", "bitcoin"}, queries[-1]
    abstain_words = {w.lower() for w in content_words(runtime.prompts().render("abstain"))}
    assert not added & abstain_words


async def test_llm_timeout_gives_polite_fallback_logs_and_stores(settings, caplog):
    from bot.plugins import PluginRegistry

    slow = FakeLLM(first_token_delay_s=5.0)
    settings.llm.timeout_s = 0.2
    settings.answer.faq_min_score = 1.01
    registry = PluginRegistry()
    registry.register("llm", "fake", lambda _s: slow)
    runtime = Runtime(settings, registry)
    with caplog.at_level(logging.ERROR):
        reply = await runtime.engine().handle(Message(text="How do I reset my Nimbus Thermo?", conversation_id="t1"))
    assert reply.kind == "error" and "try again" in reply.text
    assert "longer than" not in reply.text
    assert any("LLM failed" in r.getMessage() for r in caplog.records)
    (record,) = [r for r in runtime.conversations().export() if r["conversation_id"] == "t1"]
    assert [(m["role"], m["kind"]) for m in record["messages"]] == [("user", None), ("assistant", "error")]


async def test_llm_connection_refused_gives_polite_fallback(settings):
    from bot.errors import LLMError
    from bot.plugins import PluginRegistry

    settings.answer.faq_min_score = 1.01
    registry = PluginRegistry()
    registry.register("llm", "fake", lambda _s: FakeLLM(fail_with=LLMError("connection refused by 127.0.0.1:9")))
    runtime = Runtime(settings, registry)
    reply = await runtime.engine().handle(Message(text="How do I reset my Nimbus Thermo?", conversation_id="t2"))
    assert reply.kind == "error" and "127.0.0.1" not in reply.text
    (record,) = [r for r in runtime.conversations().export() if r["conversation_id"] == "t2"]
    assert record["messages"][-1]["content"] == reply.text
    assert [m.role for m in runtime.conversations().history("t2")] == ["user"], "a canned reply is not history"


async def test_store_that_is_down_still_answers(settings, registry, caplog):
    settings.store.url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    runtime = Runtime(settings, registry)
    engine = runtime.engine()
    with caplog.at_level(logging.ERROR):
        reply = await engine.handle(Message(text="What is the returns policy?", conversation_id="down"))
        command = await engine.handle(Message(text="/human", conversation_id="down"))
    assert reply.text and reply.kind in {"answer", "faq"}
    assert command.kind == "error" and "OperationalError" not in command.text
    assert any("without memory" in r.getMessage() for r in caplog.records)


def test_timeout_error_is_an_llm_error():
    from bot.errors import LLMError

    assert issubclass(LLMTimeoutError, LLMError)
