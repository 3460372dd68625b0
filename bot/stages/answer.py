"""`AnswerStage`: an answer from the passages when they are evidence of one, else honest abstention.

(A curated FAQ answer, verbatim, is `FaqStage`'s, before this stage; a reply that repeats the system prompt is
caught by `OutputGuardStage`, around it.)

1. **An answer**, when the passages are evidence of one: the best hit scores at least `answer.min_score`, and
   `answer.policy` finds that they answer the message. `model` (default): the abstention model (`bot.abstention`)
   gives P(answerable) from evidence that reads the same across languages and knowledge bases (topic-word coverage,
   whether the search query names the best hit's title, BM25 agreement, the cosine margin, the embedder-relative
   score, the best sentence's similarity to the message), and the bot answers at or above
   `answer.min_answer_probability` unless the message is one no passage answers as asked (a reference nothing
   introduced, an asked price, time or count the passages lack, a closer: the model file's `declines`).
   `thresholds`: the top passages contain `answer.min_coverage` of the message's topic words (`coverage`), less
   `answer.agreement_credit` for each of dense similarity and BM25 that ranks the best hit first among the
   retrieved hits (unanswerable questions are usually on topic - similar passages that lack what the customer asks
   about - so similarity alone separates them poorly).
   For generation, the best passages that fit `answer.max_context_tokens` (counted in the model's own tokens), and
   what is left of `llm.context_window` after the system prompt, the history, the question and
   `llm.max_new_tokens`, go to the model as numbered, delimited context with the last `answer.history_tokens` of the
   conversation and the user's profile; the reply cites the documents of the passages its sentences draw on
   (`bot.stages.passages.drawn_on`).
   How the answer is written is `answer.mode`: **compose** takes the passages' own sentences that answer the question
   (`bot.compose`: verbatim, in the knowledge's language, tens of milliseconds, nothing invented); **generate** has the
   LLM write it, streamed a sentence at a time through the one hold-back (`bot.sentence_release`): each sentence's
   checkable claims (numbers, codes, names, links, yes/no: `bot.claims`) are verified against the passages, and the
   checks of the stages around this one (`Turn.checks`: the output guard's) run on the same sentence, before it is
   sent - the first unsupported claim stops the model and the composed answer replaces the reply (`corrected`);
   each sentence must also draw on a passage (`bot.stages.grounding`): the reply ends before the first that does
   not, and one that draws on none is composed instead (`corrected`); a failed check of another stage stops it
   too, and that stage replaces the reply; **auto** composes with a local
   model smaller than `answer.compose_below_parameters` (the embedded 135M model, whose answers score about half
   the composed ones' ROUGE-L on the same passages) and generates with a larger or a remote one.
2. **Honest abstention.** Otherwise the bot says it could not find the answer and offers a person (`/human`): small
   models answer confidently from nothing, so abstention comes from retrieval evidence, not from the model.

The model and the thresholds are fitted on the dev sets' `answerable` labels (`benchmarks/calibrate_answer_policy.py`,
docs/conversation-engine.md). Retrieved text and the customer's message are wrapped in tags that their content
cannot close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import ClassVar, NamedTuple

from bot.abstention import UNLIKELY, AbstentionPolicy, SentenceCosines, SentenceSimilarity
from bot.claims import ClaimEvidence
from bot.compose import Composer
from bot.config import AnswerSettings, LLMSettings
from bot.engine import Next, StageInfo
from bot.errors import LLMError
from bot.language import reply_language
from bot.llm.base import GenerationOptions, LLMBackend
from bot.sentence_release import SentenceRelease
from bot.services import Services
from bot.stages.grounding import GROUNDING_CHECK, Grounding
from bot.stages.passages import Passage, citations_for, drawn_on, heading, neutralise_tags, passage_text
from bot.terms import coverage
from bot.types import ChatMessage, Reply, SentenceCheck, Turn
from knowledge.documents import SearchHit
from knowledge.titles import TitleIndex, TitleLookup
from prompts import PromptLibrary

log = logging.getLogger(__name__)

# The reply to a turn without an answer, by why (`why_not`); any other reason: "abstain" (I could not find this).
ABSTAIN_TEMPLATES = {"unintroduced_reference": "clarify", "asks_nothing": "closer"}
CLARIFY_OPTIONS = 3  # titles a "which one do you mean?" reply offers
CLARIFY_TITLE_CHARS = 80
_TOLERANCE = 1e-9  # coverage is a ratio of small counts; 0.8 - 2 * 0.3 must still admit 1/5
CHAT_TEMPLATE_TOKENS = 8  # what a chat template adds around each message, at most, in the models we ship for
CLAIM_CHECK = "claims"


class RecentHistory(NamedTuple):
    """The conversation turns that go to the model, and their length in the model's tokens."""

    turns: list[ChatMessage]
    tokens: int


def agreeing_retrievers(hits: Sequence[SearchHit]) -> int:
    """How many of the two retrievers, dense similarity (`score`) and BM25 (`lexical_score`), rank the best hit
    first among `hits`: 0, 1 or 2. A hit that BM25 did not find (no lexical score) is not BM25's first."""
    if not hits:
        return 0
    best = hits[0]
    dense_first = best.score >= max(hit.score for hit in hits)
    lexical = [hit.lexical_score for hit in hits if hit.lexical_score is not None]
    lexical_first = best.lexical_score is not None and best.lexical_score >= max(lexical)
    return int(dense_first) + int(lexical_first)


async def close(stream: AsyncIterator[str]) -> None:
    """Close an LLM stream that was left early (closing cancels the generation)."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def embedder_model(services: Services) -> str:
    """The model the knowledge's embedder runs ("multilingual-e5-small@q4" runs "multilingual-e5-small"): the
    abstention model's score statistics are recorded per embedder model."""
    if services.embedder is not None:
        return services.embedder.name.split("@")[0]
    return services.settings.knowledge.embedder_model or ""


class AnswerStage:
    info: ClassVar[StageInfo] = StageInfo(role="answer", needs=frozenset({"hits"}))

    def __init__(
        self,
        llm: LLMBackend,
        prompts: PromptLibrary,
        answer: AnswerSettings,
        llm_settings: LLMSettings,
        bot_name: str = "Deskbot",
        company: str = "our company",
        composer: Composer | None = None,
        embedder_model: str = "",
        titles: Callable[[], TitleIndex | None] | None = None,
        similarity: SentenceCosines | None = None,
    ) -> None:
        self._llm = llm
        self._prompts = prompts
        self._answer = answer
        self._composer = composer or Composer(None)
        self._auto_composes: bool | None = None
        self._own_names = (bot_name, company)
        self._model_policy = (
            AbstentionPolicy.from_settings(answer, embedder_model, titles or (lambda: None), similarity)
            if answer.policy == "model"
            else None
        )
        self._context_window = llm_settings.context_window
        self._options = GenerationOptions(
            max_new_tokens=llm_settings.max_new_tokens,
            temperature=llm_settings.temperature,
            timeout_s=llm_settings.timeout_s,
            max_sentences=llm_settings.max_sentences or None,
        )
        self._system = prompts.render("system", bot_name=bot_name, company=company)
        self._system_tokens: int | None = None

    @classmethod
    def build(cls, services: Services) -> AnswerStage:
        settings = services.settings
        composer = Composer.build(services)  # its sentence vectors serve the abstention evidence too
        return cls(
            services.llm,
            services.prompts,
            settings.answer,
            settings.llm,
            services.bot_name,
            services.company,
            composer=composer,
            embedder_model=embedder_model(services),
            titles=TitleLookup(lambda: getattr(services.retriever, "store", None)).current,
            similarity=(
                SentenceSimilarity(services.embedder, composer.document_vectors).cosines
                if services.embedder is not None
                else None
            ),
        )

    async def warm_up(self) -> None:
        if self._model_policy is not None:
            await asyncio.to_thread(self._model_policy.warm_up)
        await asyncio.to_thread(self._composer.warm_up)  # composed replies also replace failed generated ones
        if self._answer.mode != "compose":  # compose never calls the model; auto needs its size
            await asyncio.to_thread(self._llm.load)

    def composes(self) -> bool:
        """Whether replies are composed rather than generated (`answer.mode`; auto: by the local model's size)."""
        if self._answer.mode != "auto":
            return self._answer.mode == "compose"
        if self._auto_composes is None:  # the model's size is fixed once loaded: counted once
            parameters = getattr(self._llm, "parameter_count", None)
            count = parameters() if callable(parameters) else None
            self._auto_composes = count is not None and count < self._answer.compose_below_parameters
        return self._auto_composes

    def coverage(self, message: str, hits: Sequence[SearchHit]) -> float:
        """Share of the message's topic words found in the top passages (titles included)."""
        top = hits[: self._answer.max_passages]
        return coverage(message, " ".join(hit.chunk.embedding_text() for hit in top))

    def required_coverage(self, hits: Sequence[SearchHit]) -> float:
        """Share of topic words the passages must contain: `min_coverage`, less `agreement_credit` for each
        retriever that ranks the best hit first."""
        return self._answer.min_coverage - self._answer.agreement_credit * agreeing_retrievers(hits)

    def grounded(
        self, message: str, hits: Sequence[SearchHit], query: str = "", history: Sequence[ChatMessage] = ()
    ) -> bool:
        """True when the passages carry enough of what the message (searched as `query`, after `history`) asks
        about to answer from them: by the abstention model (`answer.policy = "model"`, bot/abstention.py, which
        reads the knowledge's titles) or the thresholds."""
        return self.why_not(message, hits, query, history) is None

    def why_not(
        self, message: str, hits: Sequence[SearchHit], query: str = "", history: Sequence[ChatMessage] = ()
    ) -> str | None:
        """Why the passages do not answer the message (`AbstentionPolicy.why_not`; the thresholds: `UNLIKELY`),
        None when they do."""
        if self._model_policy is not None:
            return self._model_policy.why_not(message, hits, query, [turn.content for turn in history])
        return None if self.coverage(message, hits) >= self.required_coverage(hits) - _TOLERANCE else UNLIKELY

    def declined_by_message(self, message: str, history: Sequence[ChatMessage] = ()) -> str | None:
        """The model's decline that the message shows without any passage (a reference nothing introduced, a
        closer: `AbstentionPolicy.declined_by_message`), else None; the thresholds read none."""
        if self._model_policy is None:
            return None
        return self._model_policy.declined_by_message(message, [turn.content for turn in history])

    def window_left(self, question: str, history: RecentHistory, profile: dict[str, str]) -> int:
        """Tokens of `llm.context_window` the passages may use: what the system prompt, the history, the prompt
        around the passages and the reply (`llm.max_new_tokens`) leave."""
        if self._system_tokens is None:
            self._system_tokens = self._llm.count_tokens(self._system)
        shell = self._prompts.render("answer", passages=[], question=neutralise_tags(question), profile=profile)
        used = self._system_tokens + self._llm.count_tokens(shell) + self._options.max_new_tokens
        used += history.tokens + CHAT_TEMPLATE_TOKENS * (len(history.turns) + 2)
        return self._context_window - used

    def select_passages(self, hits: list[SearchHit], window_left: int | None = None) -> list[Passage]:
        """The best passages, in rank order, that fit `answer.max_context_tokens` (at least one) and `window_left`
        (when given: none when not even the best passage fits)."""
        passages: list[Passage] = []
        used = 0
        for hit in hits[: self._answer.max_passages]:
            if hit.score < self._answer.min_score:
                break
            title = heading(hit)
            cost = self._llm.count_tokens(f"{title}\n{hit.chunk.text}")
            if passages and used + cost > self._answer.max_context_tokens:
                break
            if window_left is not None and used + cost > window_left:
                break
            used += cost
            passages.append(Passage(len(passages) + 1, passage_text(title), passage_text(hit.chunk.text), hit))
        return passages

    def recent_history(self, history: list[ChatMessage]) -> RecentHistory:
        """The latest turns that fit `answer.history_tokens`, oldest first, starting with a user turn, with their
        token count (counted once, here)."""
        kept: list[tuple[ChatMessage, int]] = []
        used = 0
        for turn in reversed(history):
            if turn.role not in {"user", "assistant"}:
                continue
            cost = self._llm.count_tokens(turn.content)
            if used + cost > self._answer.history_tokens:
                break
            used += cost
            kept.append((turn, cost))
        kept.reverse()
        while kept and kept[0][0].role != "user":
            used -= kept.pop(0)[1]
        return RecentHistory([turn for turn, _ in kept], used)

    def messages_for(
        self,
        question: str,
        passages: list[Passage],
        history: list[ChatMessage] | None = None,
        profile: dict[str, str] | None = None,
    ) -> list[ChatMessage]:
        prompt = self._prompts.render(
            "answer", passages=passages, question=neutralise_tags(question), profile=profile or {}
        )
        return [ChatMessage("system", self._system), *(history or []), ChatMessage("user", prompt)]

    def abstain(self, turn: Turn, why: str = UNLIKELY) -> Reply:
        """ "I could not find this", or the reply that fits why there is no answer (`ABSTAIN_TEMPLATES`): a question
        about "this X" with nothing named asks which one, naming the things the knowledge base has that it may mean
        (`clarify_options`); a closer is acknowledged."""
        template = ABSTAIN_TEMPLATES.get(why, "abstain")
        options = self.clarify_options(turn.hits) if template == "clarify" else []
        return Reply(
            text=self._prompts.render(template, reply_language(turn.message, turn.profile), options=options),
            abstained=True,
            kind="abstain",
            conversation_id=turn.message.conversation_id,
        )

    def clarify_options(self, hits: Sequence[SearchHit]) -> list[str]:
        """The titles of the documents among `hits` that reach `answer.min_score`, distinct, in rank order, the first
        `CLARIFY_OPTIONS` (each cut to `CLARIFY_TITLE_CHARS`): what "this X" may be, for the customer to choose."""
        titles: list[str] = []
        for hit in hits:
            title = " ".join(hit.chunk.title.split())
            if hit.score < self._answer.min_score or len(titles) == CLARIFY_OPTIONS:
                break
            if title and title not in titles:
                titles.append(title)
        return [
            title if len(title) <= CLARIFY_TITLE_CHARS else title[: CLARIFY_TITLE_CHARS - 1] + "…" for title in titles
        ]

    def composed(self, turn: Turn, corrected: bool = False) -> Reply:
        """The composed answer for the turn (an abstention when the passages have no usable sentence)."""
        return self._composer.reply(turn, self._answer, corrected) or self.abstain(turn)

    def reaches_min_score(self, hits: Sequence[SearchHit]) -> bool:
        """Whether the best hit scores at least `answer.min_score`: below it no passage is evidence of an answer,
        whichever way the answer is written (the abstention model is calibrated with this floor)."""
        return bool(hits) and hits[0].score >= self._answer.min_score

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        # The passages' evidence is weighed only above the floor; below it, what the message alone declines still
        # gives a closer or an unnamed "this X" its own reply.
        if self.reaches_min_score(turn.hits):
            why_not = self.why_not(turn.message.text, turn.hits, turn.query, turn.history)
        else:
            why_not = self.declined_by_message(turn.message.text, turn.history) or UNLIKELY
        if why_not is not None:
            return self.abstain(turn, why_not)
        if self.composes():
            reply = self.composed(turn)
            await turn.send(reply.text)
            return reply
        return await self.generated(turn)

    async def generated(self, turn: Turn) -> Reply:
        history = self.recent_history(turn.history)
        window_left = self.window_left(turn.message.text, history, turn.profile)
        passages = self.select_passages(turn.hits, window_left)
        if not passages:
            if self.select_passages(turn.hits):
                log.warning(
                    "no passage fits llm.context_window (%d tokens) in conversation %s; abstaining",
                    self._context_window,
                    turn.message.conversation_id,
                )
            return self.abstain(turn)
        messages = self.messages_for(turn.message.text, passages, history.turns, turn.profile)
        evidence = ClaimEvidence(
            [f"{passage.title} {passage.text}" for passage in passages], (turn.message.text, *self._own_names)
        )
        claims = [self._claim_check(evidence)] if self._answer.check_claims else []
        grounding = Grounding(passages) if self._answer.check_grounding else None
        # The output guard's checks (a leaked prompt, another persona) come before the grounding one, so that the
        # guard answers a breach with its own reply.
        release = SentenceRelease(turn.send, [*claims, *turn.checks, *([grounding.check()] if grounding else [])])
        stream = self._llm.stream(messages, self._options)
        try:
            async for piece in stream:
                if not await release.add(piece):
                    break
            else:
                await release.finish()
        except LLMError as error:
            log.error("LLM failed in conversation %s: %s", turn.message.conversation_id, error)
            language = reply_language(turn.message, turn.profile)
            return Reply(
                text=self._prompts.render("error", language), kind="error", conversation_id=turn.message.conversation_id
            )
        finally:
            await close(stream)  # stops the model when a check failed
        return self._generated_reply(turn, release, passages, grounding)

    def _claim_check(self, evidence: ClaimEvidence) -> SentenceCheck:
        def problem(sentence: str, _so_far: str) -> str | None:
            wrong = evidence.unsupported(sentence)
            return ", ".join(claim.value for claim in wrong) if wrong else None

        return SentenceCheck(CLAIM_CHECK, problem)

    def _generated_reply(
        self, turn: Turn, release: SentenceRelease, passages: list[Passage], grounding: Grounding | None
    ) -> Reply:
        """The reply the released text makes: composed instead when a claim failed or nothing drawn on a passage
        is left (`Grounding`); cut before the first sentence no passage supports; with the stopped sentence
        when another stage's check failed (that stage replaces the reply); an abstention when the model wrote
        nothing."""
        failure = release.failure
        text = release.released
        conversation = turn.message.conversation_id
        if failure is not None and failure.check == CLAIM_CHECK:
            log.warning(
                "generated reply in conversation %s claims what its passages do not say (%s); composing instead",
                conversation,
                failure.problem,
            )
            return self.composed(turn, corrected=True)
        if failure is not None and failure.check != GROUNDING_CHECK:
            text += failure.sentence
            return self._reply(turn, text, drawn_on(text, passages))
        if failure is None and not text.strip():
            return self.abstain(turn)
        drawn = drawn_on(text, passages)
        if grounding is not None and grounding.draws_on_nothing(text, drawn):
            log.warning("generated reply in conversation %s draws on no passage; composing instead", conversation)
            return self.composed(turn, corrected=True)
        if failure is not None:
            log.info("generated reply in conversation %s cut before a sentence no passage supports", conversation)
        return self._reply(turn, text, drawn)

    def _reply(self, turn: Turn, text: str, drawn: list[Passage]) -> Reply:
        """A generated reply citing the passages its sentences draw on (`drawn`)."""
        return Reply(text=text.strip(), citations=citations_for(drawn), conversation_id=turn.message.conversation_id)
