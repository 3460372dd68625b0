"""The built-in stages on the sample knowledge (HashEmbedder + FakeLLM)."""

from __future__ import annotations

from bot.errors import LLMTimeoutError
from bot.llm.fake import FakeLLM
from bot.runtime import Runtime
from bot.types import Message


async def test_help_lists_commands(runtime: Runtime) -> None:
    reply = await runtime.engine().handle(Message(text="/help"))
    assert reply.kind == "command" and "/reset" in reply.text


async def test_unknown_command(runtime: Runtime) -> None:
    reply = await runtime.engine().handle(Message(text="/frobnicate"))
    assert "/frobnicate" in reply.text and "/help" in reply.text


async def test_reset_forgets_history(runtime: Runtime) -> None:
    engine = runtime.engine()
    await engine.handle(Message(text="How do I reset my thermostat?", conversation_id="c"))
    assert runtime.conversations().history("c")
    await engine.handle(Message(text="/reset", conversation_id="c"))
    assert runtime.conversations().history("c") == []


async def test_history_stores_user_turn_and_reply(runtime: Runtime) -> None:
    reply = await runtime.engine().handle(Message(text="What payment methods do you accept?", conversation_id="c"))
    history = runtime.conversations().history("c")
    assert [m.role for m in history] == ["user", "assistant"]
    assert history[1].content == reply.text


async def test_low_retrieval_score_abstains_without_calling_the_model(runtime: Runtime, fake_llm: FakeLLM) -> None:
    runtime.settings.answer.min_score = 0.99
    reply = await runtime.engine().handle(Message(text="Do you sell solar panels?"))
    assert reply.abstained and reply.kind == "abstain" and not reply.citations
    assert "/human" in reply.text
    assert fake_llm.calls == []


async def test_answer_cites_the_passages_given_to_the_model(runtime: Runtime, fake_llm: FakeLLM) -> None:
    reply = await runtime.engine().handle(Message(text="Which payment methods can I use to pay?"))
    assert reply.citations and not reply.abstained
    prompt = fake_llm.calls[0][-1].content
    for citation in reply.citations:
        assert f'<passage number="{citation.number}" title="{citation.title}' in prompt


async def test_context_respects_the_token_budget(runtime: Runtime, fake_llm: FakeLLM) -> None:
    runtime.settings.answer.max_context_tokens = 40
    await runtime.engine().handle(Message(text="How do I install the thermostat?"))
    assert fake_llm.calls[0][-1].content.count("<passage ") == 1


async def test_llm_failure_gives_a_polite_reply(runtime: Runtime, fake_llm: FakeLLM) -> None:
    fake_llm.fail_with = LLMTimeoutError("model took longer than 1s")
    reply = await runtime.engine().handle(Message(text="How do I install the thermostat?"))
    assert reply.kind == "error"
    assert "took longer" not in reply.text and "try again" in reply.text


def test_every_built_in_stage_declares_its_role_and_builds_from_services(runtime: Runtime) -> None:
    from bot.engine import ROLE_ORDER, Stage, stage_info
    from bot.plugins import PluginRegistry

    services = runtime.services()
    for name in PluginRegistry().names("stages"):
        info = stage_info(runtime.registry.load("stages", name))
        assert info.role in ROLE_ORDER, f"{name} declares no role"
        [stage] = runtime.build_stages([name], services)
        assert isinstance(stage, Stage) and stage_info(stage) == info


async def test_the_output_guard_refuses_an_answer_that_repeats_the_rules(runtime: Runtime) -> None:
    from bot.stages.output_guard import OutputGuardStage
    from bot.types import Reply, Turn

    guard = OutputGuardStage.build(runtime.services())
    rules = runtime.prompts().render("system", bot_name="Deskbot", company="Nimbus Home")
    leaked = next(line for line in rules.splitlines() if len(line.strip()) >= 30)

    async def answers(text: str, kind: str = "answer") -> Reply:
        async def call_next(_turn: Turn) -> Reply:
            return Reply(text=text, kind=kind)  # type: ignore[arg-type]

        return await guard(Turn(message=Message(text="rules?")), call_next)

    assert (await answers(f"Sure! {leaked}")).kind == "blocked"
    assert (await answers("You can return items within 30 days. [1]")).kind == "answer"
    assert (await answers(leaked, kind="faq")).kind == "faq", "only generated answers are checked"
