"""The one text layer: Chinese segmented into words, other unspaced scripts in character pairs, the rest unchanged."""

from __future__ import annotations

import re
import time

from knowledge.text import DEFAULT_WORD, has_han, words


def test_english_gives_exactly_the_callers_pattern_matches() -> None:
    text = "Reset the Nimbus Thermo (E41) in 30 s: hold both buttons - it's wi-fi/C++ safe."
    assert words(text) == DEFAULT_WORD.findall(text)
    terms = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.+#/-]*")
    assert words(text, terms) == terms.findall(text)


def test_chinese_is_segmented_into_words_and_punctuation_is_dropped() -> None:
    found = words("这个景点的游玩时间是多长时间啊？")
    assert "景点" in found and "游玩" in found
    assert "？" not in found and all(len(word) < 8 for word in found), "a clause is not one token"


def test_mixed_text_keeps_each_runs_words_in_order() -> None:
    assert words("Nimbus Thermo怎么重置？") == ["Nimbus", "Thermo", "怎么", "重置"]


def test_other_unspaced_scripts_fall_back_to_character_pairs() -> None:
    assert words("カタカナ") == ["カタ", "タカ", "カナ"]
    assert words("ไทย") == ["ไท", "ทย"]


def test_full_width_digits_emoji_and_traditional_chinese() -> None:
    assert "123" in words("订单１２３号")  # full-width digits match their plain forms
    assert words("great 👍 thanks") == ["great", "thanks"]
    assert "營業" in "".join(words("請問營業時間是幾點？"))


def test_text_without_any_word() -> None:
    assert words("？！。，") == [] and words("") == []


def test_a_very_long_unsegmented_line_is_fast() -> None:
    line = "营业时间退款政策配送范围" * 5000  # 60,000 characters without a space or a stop
    started = time.perf_counter()
    found = words(line)
    assert len(found) > 10_000 and time.perf_counter() - started < 10


def test_has_han() -> None:
    assert has_han("退款 policy") and not has_han("refund policy") and not has_han("カタカナ")


def test_language_of_reads_the_script() -> None:
    from knowledge.text import language_of

    assert language_of("Nimbus Thermo 怎么重置？") == "zh"
    assert language_of("カタカナの説明") == "ja" and language_of("안녕하세요") == "ko" and language_of("สวัสดี") == "th"
    assert language_of("Wie lange dauert eine Rückerstattung?") == "en"  # Latin script: not told apart
    assert language_of("") == "und" and language_of("12345 !!") == "und" and language_of("👍😀 ２０２６") == "und"
    assert language_of("Привет, как дела?") == "ru"


def test_mixed_text_goes_by_the_script_with_most_words() -> None:
    from knowledge.text import language_of

    assert language_of("我的 Nimbus Thermo Mini 不能连接 WiFi 了") == "zh"
    assert language_of("In Chinese a refund is 退款, and a return is another word") == "en"
    assert language_of("請問營業時間是幾點？") == "zh"  # Traditional Chinese


def test_full_width_forms_are_normalised_for_matching_only() -> None:
    from knowledge.text import matching_form

    text = "ＮＩＭＢＵＳ　Ｔｈｅｒｍｏ，订单１２３！"
    assert words(text) == words("NIMBUS Thermo,订单123!")
    assert matching_form(text) == "NIMBUS Thermo,订单123!" and text.startswith("ＮＩＭＢＵＳ")
    assert matching_form("plain ascii") == "plain ascii"


def test_traditional_chinese_is_segmented_into_words() -> None:
    found = words("請問退貨政策是什麼？運費由誰負擔？")
    assert "請問" in found or "退貨" in found
    assert all(len(word) <= 4 for word in found), found
