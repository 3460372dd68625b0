"""`answer.mode`: composed replies, generated replies whose claims are checked, and what auto picks."""

import pytest

from bot.compose import Composer
from bot.config import AnswerSettings, LLMSettings
from bot.llm.fake import FakeLLM
from bot.stages.answer import AnswerStage
from bot.types import Message, Reply, Turn
from knowledge.documents import Chunk, SearchHit
from knowledge.embedders.hashing import HashEmbedder
from prompts import PromptLibrary

BATTERY = "The Nimbus Thermo takes one CR2032 coin cell. Open the back cover with a coin to reach it."


def hits() -> list[SearchHit]:
    chunk = Chunk("battery#0", "battery", "Nimbus Thermo battery", BATTERY)
    return [SearchHit(chunk, 0.9, lexical_score=3.0)]


class SizedFakeLLM(FakeLLM):
    def __init__(self, parameters: int, script: str | None = None) -> None:
        super().__init__(script)
        self.parameters = parameters

    def parameter_count(self) -> int:
        self.counted = getattr(self, "counted", 0) + 1
        return self.parameters


def stage(llm: FakeLLM, **answer: object) -> AnswerStage:
    settings = AnswerSettings(policy="thresholds", min_score=0.1, min_coverage=0.0, **answer)  # type: ignore[arg-type]
    return AnswerStage(llm, PromptLibrary(), settings, LLMSettings(backend="fake"), composer=Composer(HashEmbedder()))


async def answer(
    answer_stage: AnswerStage, text: str = "Which coin cell does the Nimbus Thermo battery take?"
) -> tuple[Reply, list[str]]:
    sent: list[str] = []

    async def emit(piece: str) -> None:
        sent.append(piece)

    async def end(_turn: Turn) -> Reply:
        raise AssertionError("the answer stage answers")

    reply = await answer_stage(Turn(Message(text=text), hits=hits(), emit=emit), end)
    return reply, sent


async def test_compose_mode_answers_from_the_passage_without_the_model() -> None:
    llm = FakeLLM("never asked")
    reply, sent = await answer(stage(llm, mode="compose"))
    assert reply.kind == "composed" and llm.calls == []
    assert "CR2032" in reply.text and reply.text in BATTERY
    assert [citation.id for citation in reply.citations] == ["battery"]
    assert "".join(sent) == reply.text


async def test_a_generated_claim_the_passages_lack_is_replaced_by_the_composed_answer() -> None:
    llm = FakeLLM("Sure. The Nimbus Thermo uses a 1000mAh battery. It lasts long.")
    reply, sent = await answer(stage(llm, mode="generate"))
    assert reply.kind == "composed" and reply.corrected
    assert "1000mAh" not in reply.text and "CR2032" in reply.text
    assert "1000mAh" not in "".join(sent)  # the unsupported sentence was never streamed


async def test_a_generated_reply_whose_claims_hold_is_streamed_and_kept() -> None:
    llm = FakeLLM("It takes one CR2032 coin cell [1]. Open the back cover with a coin.")
    reply, sent = await answer(stage(llm, mode="generate"))
    assert reply.kind == "answer" and not reply.corrected
    assert reply.text == "It takes one CR2032 coin cell [1]. Open the back cover with a coin."
    assert "".join(sent).strip() == reply.text


async def test_claim_checks_can_be_switched_off() -> None:
    llm = FakeLLM("It uses a 1000mAh battery.")
    reply, _ = await answer(stage(llm, mode="generate", check_claims=False, check_grounding=False))
    assert reply.kind == "answer" and "1000mAh" in reply.text
    grounded_only, _ = await answer(stage(FakeLLM("It uses a 1000mAh battery."), mode="generate", check_claims=False))
    assert grounded_only.kind == "composed" and grounded_only.corrected  # "uses", "1000mAh": not the passage's


async def test_a_generated_reply_is_cut_before_a_sentence_no_passage_supports() -> None:
    llm = FakeLLM("It takes one CR2032 coin cell. Always recycle old cells at a pharmacy. Ask me more.")
    reply, sent = await answer(stage(llm, mode="generate"))
    assert reply.kind == "answer" and not reply.corrected
    assert reply.text == "It takes one CR2032 coin cell." and "".join(sent).strip() == reply.text
    assert [citation.id for citation in reply.citations] == ["battery"]


@pytest.mark.parametrize("script", ["The answer is no.", "No.", "Children cannot get it, as experts agree."])
async def test_a_generated_reply_that_draws_on_no_passage_is_replaced_by_the_composed_one(script: str) -> None:
    reply, _ = await answer(stage(FakeLLM(script), mode="generate"))
    assert reply.kind == "composed" and reply.corrected and "CR2032" in reply.text


async def test_a_reply_in_another_language_than_the_passages_is_not_held_to_their_words() -> None:
    llm = FakeLLM("它使用一颗 CR2032 纽扣电池。")  # the passage is English; the claim CR2032 is still checked
    reply, _ = await answer(stage(llm, mode="generate"), "Nimbus Thermo 用什么电池？")
    assert reply.kind == "answer" and reply.text == "它使用一颗 CR2032 纽扣电池。"
    wrong, _ = await answer(
        stage(FakeLLM("它使用一颗 CR2016 纽扣电池。"), mode="generate"), "Nimbus Thermo 用什么电池？"
    )
    assert wrong.kind == "composed" and wrong.corrected
    french = "Le Nimbus Thermo utilise une pile bouton CR2032. Vous pouvez ouvrir le couvercle avec une pièce."
    reply, _ = await answer(stage(FakeLLM(french), mode="generate"), "Quelle pile pour le Nimbus Thermo ?")
    assert reply.kind == "answer" and reply.text == french  # written in French: held to its claims only


@pytest.mark.parametrize(("parameters", "kind"), [(135_000_000, "composed"), (7_000_000_000, "answer")])
async def test_auto_composes_with_a_small_local_model_and_generates_with_a_large_one(
    parameters: int, kind: str
) -> None:
    llm = SizedFakeLLM(parameters, "It takes one CR2032 coin cell.")
    reply, _ = await answer(stage(llm, mode="auto"))
    assert reply.kind == kind


async def test_auto_counts_the_models_parameters_once() -> None:
    llm = SizedFakeLLM(135_000_000)
    answer_stage = stage(llm, mode="auto")
    for _ in range(3):
        await answer(answer_stage)
    assert llm.counted == 1


async def test_auto_generates_with_a_model_of_unknown_size() -> None:
    reply, _ = await answer(stage(FakeLLM("It takes one CR2032 coin cell."), mode="auto"))
    assert reply.kind == "answer"


async def test_compose_mode_never_loads_the_model() -> None:
    class Unloadable(FakeLLM):
        def load(self) -> None:
            raise AssertionError("compose mode must not load the model")

    await stage(Unloadable(), mode="compose").warm_up()


async def test_a_generated_reply_cites_only_the_passages_it_drew_on() -> None:
    returns = Chunk("returns#0", "returns", "Returns", "You can return any product within 30 days of delivery.")
    shipping = Chunk("shipping#0", "shipping", "Shipping", "Orders ship within two working days from our warehouse.")
    shown = [*hits(), SearchHit(returns, 0.8, lexical_score=2.0), SearchHit(shipping, 0.7, lexical_score=1.0)]

    async def end(_turn: Turn) -> Reply:
        raise AssertionError("the answer stage answers")

    async def reply_to(script: str) -> Reply:
        llm = FakeLLM(script)
        answer_stage = stage(llm, mode="generate", max_passages=3, max_context_tokens=400)
        reply = await answer_stage(Turn(Message(text="Can I return the Nimbus Thermo?"), hits=list(shown)), end)
        assert len(llm.calls) == 1 and llm.calls[0][-1].content.count("<passage ") == 3  # all three were shown
        return reply

    reply = await reply_to("You can return any product within 30 days of delivery [1].")
    assert reply.kind == "answer" and [citation.id for citation in reply.citations] == ["returns"]
    reply = await reply_to("Sorry, I am not sure about that.")  # draws on no passage: the composed answer instead
    assert reply.kind == "composed" and reply.corrected
