"""Languages of a turn: the one a reply should be in (the customer's stated one, else the message's own), and the one
a text is written in (what the output guard holds a reply to)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bot.types import Message
from knowledge.text import language_of, words
from prompts import language_code


def reply_language(message: Message, profile: Mapping[str, str] | None = None) -> str:
    """A language code ("zh", "en", ...): `profile["language"]` (loaded, or passed by the adapter in
    `message.metadata["profile"]`) when there is one, else what the message's script says."""
    given = message.metadata.get("profile")
    for facts in (profile, given if isinstance(given, Mapping) else None):
        if facts and str(facts.get("language") or "").strip():
            return language_code(str(facts["language"]))
    return language_of(message.text)


_FUNCTION_WORDS = {  # common words of each language, few of them shared with English
    "en": "the and is are you your to of for with this that it can not be have will please what how from by or",
    "fr": (
        "de un je mon ma mes comment combien quand où le la les des du une est et vous votre vos pour avec "
        "dans pas que qui sur ce cette sont nous au aux être"
    ),
    "es": (
        "de un mi cómo cuánto cuándo dónde qué el los las del una es y usted su sus para con por que lo como "
        "está son muy pero también puede"
    ),
    "de": (
        "wie wann wo was mein meine der das und ist sie ihr ihre mit für nicht ein eine zu auf dem sind ich "
        "wir werden können bitte"
    ),
    "it": ("come quando dove cosa mio mia un il gli della di è per con non che una sono anche più può questo essere"),
    "pt": ("de como quando onde meu minha os das dos é você para com não que um uma em são também pode está seu sua"),
    "nl": "de hoe wanneer waar wat mijn het een en je jij uw voor met niet op van zijn dat wij kunt worden",
}
_LANGUAGES_OF_WORD = {
    word: frozenset(code for code, listed in _FUNCTION_WORDS.items() if word in listed.split())
    for listed in _FUNCTION_WORDS.values()
    for word in listed.split()
}
MIN_FUNCTION_WORDS = 3  # fewer tell nothing: "Merci!" is not a French reply to hold against anyone


def written_language(text: str) -> str:
    """The language `text` is mostly written in: "zh", "ja", "ko" or "th" when that script makes up at least a
    third of its letters; in Latin script, the language of the common function words it uses ("en", "fr", "de",
    "es", "it", "pt", "nl"), English unless another has at least `MIN_FUNCTION_WORDS` and twice English's count."""
    return _script_language(text) or _latin_language(_function_words(text))


def surely_written_in(text: str, language: str) -> bool:
    """Whether `text` is written in `language` beyond doubt: `written_language` says so and, for English, no other
    language's function words outnumber English's ("Le Nimbus Thermo utilise une pile." is too short to be called
    French, and it is not English either)."""
    script = _script_language(text)
    if script is not None:
        return script == language
    counts = _function_words(text)
    if _latin_language(counts) != language:
        return False
    return language != "en" or all(count <= counts["en"] for count in counts.values())


def _script_language(text: str) -> str | None:
    """The language of the script that makes up at least a third of the letters of `text`, None for Latin."""
    letters = [char for char in text if char.isalpha()]
    scripts = Counter(language_of(char) for char in letters if language_of(char) != "en")
    if letters and scripts.total() * 3 >= len(letters):
        return scripts.most_common(1)[0][0]
    return None


def _latin_language(counts: dict[str, int]) -> str:
    """The Latin-script language of text with these function-word `counts`: English unless another has at least
    `MIN_FUNCTION_WORDS` and twice English's count."""
    best = max(counts, key=lambda code: (counts[code], code == "en"))
    if best != "en" and counts[best] >= MIN_FUNCTION_WORDS and counts[best] >= 2 * counts["en"]:
        return best
    return "en"


def _function_words(text: str) -> dict[str, int]:
    """How many of each language's common function words `text` uses."""
    counts = dict.fromkeys(_FUNCTION_WORDS, 0)
    for word in words(text.lower()):
        for code in _LANGUAGES_OF_WORD.get(word, ()):
            counts[code] += 1
    return counts
