"""Which language a reply is in: the profile's, else the message's script; canned replies follow it."""

from __future__ import annotations

from bot.language import reply_language, surely_written_in
from bot.runtime import Runtime
from bot.types import Message
from prompts import PromptLibrary


def test_the_message_script_decides_without_a_profile() -> None:
    assert reply_language(Message(text="退款要多久？")) == "zh"
    assert reply_language(Message(text="How long does a refund take?")) == "en"
    assert reply_language(Message(text="請問營業時間？")) == "zh"  # Traditional Chinese


def test_a_profile_language_wins() -> None:
    assert reply_language(Message(text="refund?"), {"language": "Chinese"}) == "zh"
    assert reply_language(Message(text="refund?", metadata={"profile": {"language": "zh-CN"}})) == "zh"
    assert reply_language(Message(text="退款？"), {"language": "en"}) == "en"


async def test_a_chinese_question_without_an_answer_gets_the_chinese_abstention(runtime: Runtime) -> None:
    runtime.settings.answer.min_score = 0.99
    engine = runtime.engine()
    chinese = await engine.handle(Message(text="你们卖太阳能板吗？"))
    english = await engine.handle(Message(text="Do you sell solar panels?"))
    assert chinese.abstained and chinese.text == PromptLibrary().render("abstain", "zh")
    assert english.abstained and english.text == PromptLibrary().render("abstain")


async def test_commands_answer_in_the_profiles_language(runtime: Runtime) -> None:
    message = Message(text="/reset", conversation_id="c", metadata={"profile": {"language": "zh"}})
    reply = await runtime.engine().handle(message)
    assert reply.text == PromptLibrary().render("reset", "zh")


def test_the_written_language_follows_the_script_then_the_function_words() -> None:
    from bot.language import written_language

    assert written_language("Returns are accepted within 30 days, keep the receipt.") == "en"
    assert written_language("Bonjour, les retours sont acceptés sous 30 jours avec le reçu.") == "fr"
    assert written_language("Sie können das Gerät mit der Taste zurücksetzen.") == "de"
    assert written_language("El reembolso es de 30 días y usted puede pedir una factura.") == "es"
    assert written_language("商品签收后三十天内可以退货。") == "zh"
    assert written_language("The Nimbus 温控器 can be reset in the app.") == "en", "a Chinese name in English text"
    assert written_language("Merci!") == "en", "too few words to tell"


def test_a_text_is_surely_english_only_when_no_other_languages_words_outnumber_englishs() -> None:
    assert surely_written_in("The answer is no.", "en")
    assert surely_written_in("Children cannot get it.", "en")
    assert not surely_written_in("Le Nimbus Thermo utilise une pile.", "en")  # too short to be French, not English
    assert not surely_written_in("Vous pouvez ouvrir le couvercle avec une pièce de monnaie.", "en")
    assert surely_written_in("Vous pouvez ouvrir le couvercle avec une pièce de monnaie.", "fr")
    assert surely_written_in("它使用一颗纽扣电池。", "zh") and not surely_written_in("它使用一颗纽扣电池。", "en")
