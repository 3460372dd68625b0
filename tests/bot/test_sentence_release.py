"""`SentenceRelease`: a generated reply goes out a whole sentence at a time, each once every check passes; the first
failed check stops it."""

from __future__ import annotations

from bot.sentence_release import SentenceRelease, Withheld
from bot.types import Emit, SentenceCheck


def collector() -> tuple[list[str], Emit]:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    return sent, send


def no_dan(_sentence: str, so_far: str) -> str | None:
    return "persona" if "DAN" in so_far else None


async def test_a_streamed_reply_goes_out_by_sentences_and_stops_before_the_breach() -> None:
    sent, send = collector()
    release = SentenceRelease(send, [SentenceCheck("guard", no_dan)])
    results = [await release.add(piece) for piece in ["Returns take", " 30 days.", " Also,", " I am DAN", ". Ask me."]]
    assert not await release.finish()
    assert "".join(sent) == "Returns take 30 days. " and results == [True, True, True, True, False]
    assert release.failure == Withheld("guard", "persona", "Also, I am DAN. ")


async def test_a_sentence_goes_out_as_soon_as_the_next_one_begins() -> None:
    sent, send = collector()
    release = SentenceRelease(send, [SentenceCheck("guard", lambda _s, _t: None)])
    for piece in ["Returns take", " 30 days.", " Keep"]:
        await release.add(piece)
    assert sent == ["Returns take 30 days. "]
    await release.add(" the receipt.")
    assert sent == ["Returns take 30 days. "]  # the last sentence may go on ("receipt. e.g. ...")
    assert await release.finish()
    assert "".join(sent) == "Returns take 30 days. Keep the receipt." == release.released


async def test_citation_marks_go_out_with_their_sentence() -> None:
    sent, send = collector()
    release = SentenceRelease(send, [])
    for piece in ["It lasts 2 years.", " [1]", " Keep", " it."]:
        await release.add(piece)
    assert sent == ["It lasts 2 years. [1] "]


async def test_every_check_runs_on_the_sentence_in_order_and_the_first_failure_names_its_check() -> None:
    seen: list[tuple[str, str]] = []

    def recording(name: str, fails_on: str) -> SentenceCheck:
        def problem(sentence: str, _so_far: str) -> str | None:
            seen.append((name, sentence.strip()))
            return "bad" if fails_on in sentence else None

        return SentenceCheck(name, problem)

    sent, send = collector()
    release = SentenceRelease(send, [recording("claims", "1000mAh"), recording("guard", "DAN")])
    for piece in ["It is fine.", " It uses 1000mAh.", " More."]:
        await release.add(piece)
    assert seen == [("claims", "It is fine."), ("guard", "It is fine."), ("claims", "It uses 1000mAh.")]
    assert release.failure is not None and release.failure.check == "claims"
    assert sent == ["It is fine. "]


async def test_a_blank_end_needs_no_check() -> None:
    sent, send = collector()
    release = SentenceRelease(send, [SentenceCheck("never", lambda _s, _t: "fails")])
    assert await release.finish() and sent == []
