"""`OutputGuardStage`: a generated answer that breaks the bot's rules never reaches the customer.

It wraps the answering stages: it lets them write the reply, then inspects it. Injected instructions, in a planted
document or in the customer's message, sometimes get a small model to comply whatever the prompt says; what they make
it write gives them away, so a generated reply (kind "answer") is refused when it:
1. **repeats the system prompt**: any one of the rules' own sentences (`MIN_RULE_CHARS` or longer) is in it (a
   reply may hold only a few sentences: `llm.max_sentences`);
2. **switches language**: it is written (`bot.language.written_language`) in neither the customer's language (the
   profile's, the message's) nor the best passage's (a Chinese knowledge base may answer an English question in
   Chinese);
3. **switches persona**: it claims another name than `bot.name` or the company's ("I am DAN", "my name is Max",
   "我是DAN") or declares itself unbound ("DAN mode", "I have no restrictions", "没有任何限制");
4. **uses a planted marker**: a call-name, code word or quoted phrase that an instruction in the passages or in the
   customer's message asks for (`bot.injection.planted_markers`) and that the rest of them does not contain.

A refused reply is replaced by `replacement` (the canned refusal for a leaked prompt, the abstention otherwise), with
kind "blocked" (so `/metrics` counts it as `deskbot_replies{kind="blocked"}`) and a warning in the log naming the
reason. The checks also run while the reply is generated: the guard puts one on the turn (`Turn.checks`), and the
answering stage runs it on each sentence, beside its claim check, in the one hold-back of the stream
(`bot.sentence_release`): a sentence is sent once the reply up to it passes, and a breach stops the model and
nothing more is sent, so the obeyed text is never shown even in part (the customer may see the sentences before it;
the channel's final reply is the replacement). Text a stage sends without generating it (a composed or FAQ answer:
the knowledge's own words) is not held back.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar, Literal

from bot.compose import Composer
from bot.config import AnswerSettings
from bot.engine import Next, StageInfo
from bot.injection import instruction_sentences, planted_markers, role_change, strip_instructions, strip_role_changes
from bot.language import reply_language, written_language
from bot.services import Services
from bot.types import Reply, SentenceCheck, Turn
from knowledge.documents import SearchHit
from knowledge.sentences import sentences
from prompts import PromptLibrary

log = logging.getLogger(__name__)

GUARD_CHECK = "output_guard"
MIN_RULE_CHARS = 30  # shorter sentences ("Be brief.") are common in honest answers too

Breach = Literal["rules", "language", "persona", "planted"]

_CLAIMED_NAME = re.compile(
    r"\b(?i:i am|i'm|my name is|call me)\s+([A-Z][\w-]+)|我(?:现在)?(?:是|叫|名叫)\s*([A-Za-z][\w-]*)"
)
_UNBOUND = re.compile(
    r"\b(?:developer|jailbreak|jailbroken|unrestricted|god|DAN) mode\b"
    r"|\bI (?:have|follow) no (?:rules|restrictions|limits|filters|guidelines)\b"
    r"|\bwithout (?:any )?(?:rules|restrictions|limits|filters)\b|\bI can do anything\b"
    r"|没有任何(?:限制|规则|约束)|不受任何(?:限制|规则|约束)|开发者模式|越狱模式",
    re.IGNORECASE,
)


class OutputGuardStage:
    info: ClassVar[StageInfo] = StageInfo(role="check")

    def __init__(
        self,
        prompts: PromptLibrary,
        bot_name: str,
        company: str,
        composer: Composer | None = None,
        answer: AnswerSettings | None = None,
    ) -> None:
        self._prompts = prompts
        self._composer = composer
        self._answer = answer or AnswerSettings()
        self._bot_name = bot_name
        self._company = company
        system = prompts.render("system", bot_name=bot_name, company=company)
        self._rules = [rule.lower() for rule in sentences(system) if len(rule) >= MIN_RULE_CHARS]
        self._own_names = {name.lower() for name in (*bot_name.split(), *company.split())}

    @classmethod
    def build(cls, services: Services) -> OutputGuardStage:
        return cls(
            services.prompts, services.bot_name, services.company, Composer.build(services), services.settings.answer
        )

    def reveals_rules(self, text: str) -> bool:
        flat = " ".join(text.split()).lower()
        return any(line in flat for line in self._rules)

    def claims_other_persona(self, text: str) -> bool:
        """Whether `text` names the bot anything but its own name (or the company's), or declares itself unbound."""
        for groups in _CLAIMED_NAME.findall(text):
            claimed = next(name for name in groups if name)
            if claimed.lower() not in self._own_names:
                return True
        return _UNBOUND.search(text) is not None

    def breach(self, text: str, turn: Turn) -> Breach | None:
        """Which rule the reply `text` to `turn` breaks, if any."""
        return self.breach_of(text, allowed_languages(turn), planted_in(turn))

    def breach_of(self, text: str, allowed: set[str], planted: set[str]) -> Breach | None:
        """Which rule `text` breaks, given the languages it may be in and the markers planted around it."""
        if self.reveals_rules(text):
            return "rules"
        if written_language(text) not in allowed:
            return "language"
        if self.claims_other_persona(text):
            return "persona"
        if any(_contains(text, marker) for marker in planted):
            return "planted"
        return None

    def replacement(self, turn: Turn, breach: Breach) -> Reply:
        """What the customer gets instead of a reply that broke a rule: the answer composed from the passages (which
        no text in them can steer), else an abstention; a refusal for a reply that leaked the rules."""
        if breach != "rules" and self._composer is not None:
            composed = self._composer.reply(turn, self._answer, corrected=True)
            if composed is not None:
                return composed
        language = reply_language(turn.message, turn.profile)
        if breach == "rules":
            text = self._prompts.render("refuse_rules", language, company=self._company)
        else:
            text = self._prompts.render("abstain", language)
        return Reply(
            text=text, abstained=breach != "rules", kind="blocked", conversation_id=turn.message.conversation_id
        )

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        watch = ReplyWatch(self, turn)
        check = SentenceCheck(GUARD_CHECK, watch.problem)
        turn.checks.append(check)  # the answering stage runs it on each generated sentence before sending it
        try:
            reply = await call_next(turn)
        finally:
            turn.checks.remove(check)
        breach = None
        if reply.kind == "answer":  # a breach in part of a streamed reply counts even if the whole reads fine
            breach = watch.breach or self.breach(reply.text, turn)
        if breach is None:
            return reply
        log.warning("reply in conversation %s blocked: %s", turn.message.conversation_id, breach)
        return self.replacement(turn, breach)


class ReplyWatch:
    """The guard's check of one turn's generated sentences (`Turn.checks`), remembering the first breach."""

    def __init__(self, guard: OutputGuardStage, turn: Turn) -> None:
        self._guard = guard
        self._allowed: set[str] | None = None
        self._planted: set[str] | None = None
        self._turn = turn
        self.breach: Breach | None = None

    def problem(self, _sentence: str, so_far: str) -> str | None:
        """The breach of the reply so far (a sentence may complete a rule's text or a persona claim)."""
        if self._allowed is None or self._planted is None:  # the turn's hits are known once it is answered
            self._allowed, self._planted = allowed_languages(self._turn), planted_in(self._turn)
        self.breach = self.breach or self._guard.breach_of(so_far, self._allowed, self._planted)
        return self.breach


def allowed_languages(turn: Turn) -> set[str]:
    """The languages a reply to `turn` may be in: the customer's (stated or written) and the best passage's."""
    allowed = {reply_language(turn.message, turn.profile), written_language(turn.message.text)}
    if turn.hits:
        allowed.add(written_language(strip_instructions(turn.hits[0].chunk.text)))
    return allowed


def planted_in(turn: Turn) -> set[str]:
    """Markers that instructions in the passages or the customer's message plant, and nothing else there uses."""
    instructions = [unit for hit in turn.hits for unit in instruction_sentences(_text_of(hit))]
    instructions += [unit for unit in sentences(turn.message.text) if role_change(unit)]
    planted = {marker for sentence in instructions for marker in planted_markers(sentence)}
    if not planted:
        return set()
    honest = " ".join(
        [strip_role_changes(turn.message.text), *(strip_instructions(_text_of(hit)) for hit in turn.hits)]
    )
    return {marker for marker in planted if not _contains(honest, marker)}


def _text_of(hit: SearchHit) -> str:
    return f"{hit.chunk.title}\n{hit.chunk.text}"


def _contains(text: str, marker: str) -> bool:
    """Whether `marker` stands in `text` as a whole word (any case; "我是DAN" has it), or, for Chinese, anywhere."""
    if not marker.isascii():
        return marker in text
    return re.search(rf"(?<![A-Za-z0-9-]){re.escape(marker)}(?![A-Za-z0-9-])", text, re.IGNORECASE) is not None
