"""Privacy by default: what a customer writes is stored and logged masked, and citations show no server paths.

Replays issue 16's findings: e-mail, card and phone numbers were stored verbatim (redaction was off), Chinese numbers
written against Chinese characters or in full-width digits were not masked even with it on, and API clients were
shown the absolute server path of every cited file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config import GuardSettings, load_settings
from bot.llm.fake import FakeLLM
from bot.pii import redact
from bot.presentation import reply_json
from bot.runtime import Runtime
from bot.types import Citation, Message, Reply

PERSONAL = "I'm jane.doe@example.com, card 4111 1111 1111 1111, phone +44 20 7946 0958: how do I return an item?"


def test_redaction_is_on_by_default() -> None:
    assert GuardSettings().redact_pii is True
    assert load_settings().guard.redact_pii is True


async def test_by_default_neither_the_store_nor_the_model_sees_the_personal_data(
    runtime: Runtime, fake_llm: FakeLLM
) -> None:
    message = Message(text=PERSONAL, user_id="jane")
    await runtime.engine().handle(message)

    stored = [turn.content for turn in runtime.conversations().history(message.conversation_id)]
    assert stored[0] == "I'm [EMAIL], card [CARD], phone [PHONE]: how do I return an item?"
    seen_by_model = json.dumps([[turn.content for turn in call] for call in fake_llm.calls])
    assert "jane.doe" not in seen_by_model and "4111" not in seen_by_model and "7946" not in seen_by_model


async def test_the_setting_turns_it_off(runtime: Runtime) -> None:
    runtime.settings.guard.redact_pii = False
    message = Message(text=PERSONAL, user_id="jane")
    await runtime.engine().handle(message)
    assert runtime.conversations().history(message.conversation_id)[0].content == PERSONAL


def test_by_default_log_records_and_tracebacks_are_masked(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("deskbot.test")
    with caplog.at_level(logging.INFO):
        log.info("reply not stored: %s", "INSERT ... parameters: ('jane.doe@example.com', '+44 20 7946 0958')")
        try:
            raise ValueError("card 4111 1111 1111 1111 refused")
        except ValueError:
            log.exception("turn failed")
    text = caplog.text
    assert "[EMAIL]" in text and "[PHONE]" in text and "[CARD]" in text
    assert "jane.doe" not in text and "7946" not in text and "4111" not in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("座机010-62345678，请回电", "座机[PHONE]，请回电"),
        ("手机号１３８１２３４５６７８。", "手机号[PHONE]。"),
        ("邮箱 zhang＠example．com，谢谢", "邮箱 [EMAIL]，谢谢"),
        ("电话（010）６２３４５６７８", "电话[PHONE]"),
        ("身份证号１１０１０５１９４９１２３１００２Ｘ", "身份证号[ID]"),
    ],
)
def test_chinese_numbers_against_han_characters_or_in_full_width_digits_are_masked(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_full_width_text_around_a_match_is_kept_as_written() -> None:
    assert redact("订单号：１２３４５，邮箱 a@b.cn。") == "订单号：１２３４５，邮箱 [EMAIL]。"


def test_citations_show_the_path_below_the_knowledge_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
        "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
        "DESKBOT_LLM__BACKEND": "fake",
        "DESKBOT_ANSWER__MIN_SCORE": "0.1",
        "DESKBOT_DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(name, value)
    docs = tmp_path / "kb"
    (docs / "billing").mkdir(parents=True)
    (docs / "billing" / "refunds.md").write_text("# Refunds\n\nRefunds reach your card within five days.\n")

    result = CliRunner().invoke(app, ["ask", "How long do refunds take?", "--kb", str(docs), "--json"])
    assert result.exit_code == 0, result.output
    [citation] = json.loads(result.stdout)["citations"]
    assert citation["source"] == "billing/refunds.md"
    assert str(tmp_path) not in result.stdout


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [
        ("/home/deskbot/kb/faq-nimbus-sense.md", "faq-nimbus-sense.md"),
        ("file:///srv/kb/faq.md", "faq.md"),
        ("C:\\kb\\faq.md", "faq.md"),
        ("https://help.example.com/returns", "https://help.example.com/returns"),
        ("billing/refunds.md", "billing/refunds.md"),
    ],
)
def test_a_server_path_indexed_before_is_shown_as_its_file_name(recorded: str, shown: str) -> None:
    reply = Reply(text="Five days.", citations=(Citation(id="faq", title="FAQ", source=recorded, score=0.9),))
    assert reply_json(reply)["citations"][0]["source"] == shown
