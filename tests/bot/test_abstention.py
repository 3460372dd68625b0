import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.abstention import (
    MAX_SPANS,
    SHIPPED_MODEL,
    SUBJECT_TURNS,
    AbstentionModel,
    AbstentionPolicy,
    Evidence,
    SentenceSimilarity,
    answer_spans,
    evidence,
    fit,
    subject,
)
from bot.config import AnswerSettings, LLMSettings
from bot.errors import ConfigError
from bot.llm.fake import FakeLLM
from bot.stages.answer import AnswerStage
from bot.types import ChatMessage, Message, Reply, Turn
from knowledge.documents import Chunk, SearchHit
from knowledge.embedders.hashing import HashEmbedder
from knowledge.titles import TitleIndex
from prompts import PromptLibrary

QUESTION = "Is the gym membership fee in Spanish pesos?"  # topic words: gym membership fee Spanish pesos


def hit(document: str, title: str, text: str, score: float, lexical: float | None = None) -> SearchHit:
    return SearchHit(Chunk(f"{document}#0", document, title, text), score, lexical_score=lexical)


def test_english_evidence_reads_coverage_sentences_agreement_and_margin():
    hits = [
        hit("fees", "Gym membership", "The membership fee is 30 euros. It can be paid in Spanish pesos.", 0.7, 9.0),
        hit("hours", "Opening hours", "The gym opens at six.", 0.6, 12.0),
        hit("fees", "Gym membership", "Cancel any time.", 0.5, None),
    ]
    found = evidence(QUESTION, hits, max_passages=3, score_reference=(0.6, 0.1))
    assert found.coverage == pytest.approx(1.0)
    assert found.passage_coverage == pytest.approx(1.0)  # the first passage has all five
    assert found.sentence_coverage == pytest.approx(0.4)  # "Spanish pesos" / "membership fee": 2 of 5 each
    assert found.title_in_query == pytest.approx(1.0)  # "gym", "membership" are in the question
    assert (found.dense_first, found.lexical_first) == (1.0, 0.0)  # BM25 ranks "Opening hours" first
    assert found.dense_margin == pytest.approx(0.5)  # 0.7 over 0.6, in a range of 0.2
    assert found.relative_score == pytest.approx(1.0)  # one spread above the embedder's typical best cosine
    assert found.distinct_documents == pytest.approx(2 / 3)
    assert found.topic_words == pytest.approx(5 / 8)


def test_chinese_evidence_segments_words_and_sees_the_named_hotel_missing():
    # The customer named 北京东直门智选假日酒店 turns earlier; the rewrite carried it into the query.
    message, query = "行，有电话吗？", "行，有电话吗？ 北京 东直门 智选 假日酒店"
    other_hotel = hit("h2", "北京亦庄智选假日酒店", "名称：北京亦庄智选假日酒店\n电话：010-67856688", 0.91, 5.0)
    named_hotel = hit("h1", "北京东直门智选假日酒店", "名称：北京东直门智选假日酒店\n电话：010-64169999", 0.92, 6.0)
    missing = evidence(message, [other_hotel], max_passages=3, query=query)
    present = evidence(message, [named_hotel], max_passages=3, query=query)
    assert missing.coverage == present.coverage == pytest.approx(0.5)  # 电话 of 行, 电话
    assert missing.sentence_coverage == pytest.approx(0.5)  # the line 电话：...
    assert missing.query_coverage == pytest.approx(4 / 6)  # 行 and 东直门 are missing
    assert present.query_coverage == pytest.approx(5 / 6)
    assert missing.title_in_query == pytest.approx(0.75)  # 亦庄 is not the hotel the customer named
    assert present.title_in_query == pytest.approx(1.0)


def test_no_hits_or_no_topic_words_is_no_evidence():
    assert evidence("thank you!", [hit("d", "Thanks", "Thank you for asking.", 0.9)], 3) == Evidence(asks_nothing=1.0)
    assert evidence(QUESTION, [], 3) == Evidence(topic_words=5 / 8)


def fee_sentences(message: str, spans: Sequence[str]) -> list[float]:
    """MiniLM-like cosines: a sentence about the fee is close to the question, others are not."""
    return [0.8 if "fee" in span else 0.2 for span in spans]


def test_the_shipped_model_loads_and_decides():
    model = AbstentionModel.load(SHIPPED_MODEL)
    assert model.provenance["dev_sets"].keys() >= {"mtrag_cloud_govt", "crosswoz_zh", "covid_faq_paraphrases"}
    assert model.score_reference("all-MiniLM-L6-v2") is not None
    assert model.score_reference("/models/multilingual-e5-small") == model.score_reference("multilingual-e5-small")
    assert "sentence_similarity" in model.features
    policy = AbstentionPolicy.from_settings(AnswerSettings(), "all-MiniLM-L6-v2", similarity=fee_sentences)
    answers = [
        hit("fees", "Gym membership fee", "The gym membership fee can be paid in euros or Spanish pesos.", 0.75, 9.0),
        hit("hours", "Opening hours", "The gym opens at six.", 0.45, 3.0),
    ]
    off_topic = [
        hit("parking", "Parking", "Parking is free for members.", 0.35, 2.0),
        hit("hours", "Opening hours", "The gym opens at six.", 0.40, 3.0),
    ]
    assert policy.answerable(QUESTION, answers) > 0.9 and policy.grounded(QUESTION, answers)
    assert policy.answerable(QUESTION, off_topic) < 0.2 and not policy.grounded(QUESTION, off_topic)


def test_min_answer_probability_overrides_the_model_files_threshold():
    hits = [hit("fees", "Gym membership fee", "The gym membership fee is 30 euros.", 0.6, 5.0)]
    p = AbstentionPolicy.from_settings(AnswerSettings(), "all-MiniLM-L6-v2").answerable(QUESTION, hits)
    assert AbstentionPolicy.from_settings(AnswerSettings(min_answer_probability=p - 0.01), "x").grounded(QUESTION, hits)
    assert not AbstentionPolicy.from_settings(
        AnswerSettings(min_answer_probability=p + 0.01), "all-MiniLM-L6-v2"
    ).grounded(QUESTION, hits)


def stage(**answer: object) -> AnswerStage:
    return AnswerStage(FakeLLM(), PromptLibrary(), AnswerSettings(**answer), LLMSettings(backend="fake"))


def test_a_missing_model_file_is_a_config_error_naming_it(tmp_path: Path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError, match=r"answer\.abstention_model .*nowhere\.json.*not found"):
        stage(abstention_model=missing)
    assert stage(policy="thresholds", abstention_model=missing)  # the thresholds policy does not read it


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"features": ["coverage"], "means": [0.5]}),
        json.dumps(
            {
                "features": ["vibes"],
                "means": [0],
                "scales": [1],
                "weights": [1],
                "bias": 0,
                "min_answer_probability": 0.5,
            }
        ),
        json.dumps(
            {
                "features": ["coverage"],
                "means": [0],
                "scales": [0],
                "weights": [1],
                "bias": 0,
                "min_answer_probability": 0.5,
            }
        ),
        json.dumps(["a list"]),
    ],
)
def test_a_corrupt_model_file_is_a_config_error(tmp_path: Path, content: str):
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"answer\.abstention_model"):
        AbstentionModel.load(path)


def test_the_thresholds_policy_keeps_todays_rule():
    # 2 of 7 topic words in the passages, but the product is named and dense ranks the hit first: the model answers
    # on such evidence, the thresholds rule (coverage 0.29 < 0.80 - 0.25) does not.
    message = "Nimbus Thermo jail sentence lawyer subpoena courtroom?"
    hits = [
        hit(
            "install",
            "How to Install Your Nimbus Thermo",
            "Most people install the Nimbus Thermo in 30 minutes.",
            0.40,
            1.6,
        ),
        hit("faq", "Nimbus Home: General Questions", "Nimbus works with most heating systems.", 0.35, 1.7),
    ]
    thresholds = stage(policy="thresholds")
    assert thresholds.coverage(message, hits) == pytest.approx(2 / 7)
    assert not thresholds.grounded(message, hits)
    assert stage(policy="thresholds", min_coverage=0.5).grounded(message, hits)  # 0.5 - 0.25 for dense agreement
    assert stage(min_answer_probability=0.0).grounded(message, hits)  # the model policy, answering everything


def rows_and_labels() -> tuple[list[Evidence], list[bool]]:
    rows, labels = [], []
    for i in range(40):
        covered = (i % 10) / 10
        rows.append(Evidence(coverage=covered, lexical_first=float(i % 3 == 0), dense_margin=(i % 7) / 7))
        labels.append(covered + 0.2 * (i % 3 == 0) > 0.5)
    return rows, labels


def test_the_fit_is_deterministic_and_learns_which_way_evidence_points():
    rows, labels = rows_and_labels()
    weights = [1.0] * len(rows)
    features = ("coverage", "lexical_first", "dense_margin")
    first, second = fit(rows, labels, weights, features), fit(rows, labels, weights, features)
    assert first == second
    assert first.weights[0] > 0 and first.weights[1] > 0
    assert first.answerable(Evidence(coverage=0.9)) > 0.5 > first.answerable(Evidence(coverage=0.1))


def test_a_fitted_model_survives_its_json(tmp_path: Path):
    rows, labels = rows_and_labels()
    model = replace(fit(rows, labels, [1.0] * len(rows), ("coverage", "lexical_first")), declines=("asks_nothing",))
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    assert AbstentionModel.load(path) == model
    assert AbstentionModel.load(path).declines == ("asks_nothing",)


def test_a_model_declining_on_unknown_evidence_is_refused(tmp_path: Path):
    rows, labels = rows_and_labels()
    model = fit(rows, labels, [1.0] * len(rows), ("coverage",))
    with pytest.raises(ValueError, match="unknown evidence"):
        replace(model, declines=("gut_feeling",))
    record = json.loads(model.to_json())
    record["declines"] = ["gut_feeling"]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ConfigError, match="not an abstention model"):
        AbstentionModel.load(path)


OVERVIEW = [
    hit("iam", "IBM Cloud IAM", "IAM controls access to IBM Cloud resources. Access groups hold users.", 0.8, 9.0),
    hit("iam", "IBM Cloud IAM", "IAM service IDs identify an application to IAM.", 0.6, 4.0),
]


def test_evidence_reads_the_rules_that_decline_outright_in_english_and_chinese():
    assert evidence("Is IAM a paid service?", OVERVIEW, 3).answer_type_missing == 1.0
    assert evidence("Who can use IAM access groups?", OVERVIEW, 3).answer_type_missing == 0.0
    assert evidence("Does this IAM group need a service ID?", OVERVIEW, 3).unintroduced_reference == 1.0
    named = ["Tell me about IAM groups.", "Access groups hold users."]
    assert evidence("Does this group need a service ID?", OVERVIEW, 3, history=named).unintroduced_reference == 0.0
    venue = [hit("g", "国子监", "名称：国子监\n地址：国子监街15号\n电话：010-84011977", 0.92, 6.0)]
    assert evidence("国子监的门票多少钱？", venue, 3).answer_type_missing == 1.0
    assert evidence("国子监在哪里？这个景点的电话是多少？", venue, 3, titles=VENUES).unintroduced_reference == 0.0
    assert evidence("这个景点的电话是多少？", venue, 3, titles=VENUES).unintroduced_reference == 1.0


def test_the_shipped_model_declines_what_no_passage_answers_as_asked_whatever_its_probability():
    model = AbstentionModel.load(SHIPPED_MODEL)
    assert set(model.declines) == {"unintroduced_reference", "answer_type_missing", "asks_nothing"}
    policy = AbstentionPolicy(model, 0.0, 3, "all-MiniLM-L6-v2")  # a threshold of 0 answers anything else
    assert policy.grounded("Who can use IAM access groups?", OVERVIEW)
    assert not policy.grounded("Is IAM a paid service?", OVERVIEW)
    assert not policy.grounded("Does this IAM group need a service ID?", OVERVIEW)
    assert policy.grounded("Does this group need a service ID?", OVERVIEW, history=["Tell me about IAM groups."])
    assert not policy.grounded("Thank you!", OVERVIEW)
    assert policy.why_not("Is IAM a paid service?", OVERVIEW) == "answer_type_missing"
    assert policy.why_not("Thank you!", OVERVIEW) == "asks_nothing"
    assert policy.why_not("Who can use IAM access groups?", OVERVIEW) is None


async def _stage_reply(stage: AnswerStage, text: str, hits: list[SearchHit]) -> Reply:
    turn = Turn(message=Message(text=text))
    turn.hits = hits

    async def unreachable(_turn: Turn) -> Reply:
        raise AssertionError("the answer stage ends the chain")

    return await stage(turn, unreachable)


async def test_a_declined_turn_gets_the_reply_that_fits_why_in_its_language():
    prompts = PromptLibrary()
    answer = stage(mode="compose")
    unnamed = await _stage_reply(answer, "Does this Superior Court publish a judges roster?", OVERVIEW)
    assert unnamed.abstained and unnamed.kind == "abstain"
    assert unnamed.text == prompts.render("clarify", options=["IBM Cloud IAM"])  # what the knowledge base has
    closer = await _stage_reply(answer, "Thank you!", OVERVIEW)
    assert closer.abstained and closer.text == prompts.render("closer")
    faint = [replace(OVERVIEW[0], score=0.1)]  # below answer.min_score: still a closer, not "I could not find"
    assert (await _stage_reply(answer, "Thanks a lot!", faint)).text == prompts.render("closer")
    venue = [hit("g", "国子监", "名称：国子监\n地址：国子监街15号", 0.92, 6.0)]
    chinese = await _stage_reply(answer, "这个景点的电话是多少？", venue)
    assert chinese.abstained and chinese.text == prompts.render("clarify", "zh", options=["国子监"])
    assert "例如：国子监。" in chinese.text
    unanswered = await _stage_reply(answer, "Is IAM a paid service?", OVERVIEW)
    assert unanswered.abstained and unanswered.text == prompts.render("abstain")


# A venue knowledge base in miniature: 北京鹏润国际大酒店 is listed by its neighbours but has no document of its own.
VENUE_TITLES = {"g": "国子监", "y": "雍和宫", "d": "地坛", "b": "北京饭店", "l": "北京丽晶酒店"}
NEIGHBOURS = "周边酒店：北京饭店、北京丽晶酒店、北京鹏润国际大酒店\n周边景点：雍和宫、地坛"
VENUES = TitleIndex.build(
    VENUE_TITLES,
    [Chunk("g#0", "g", "国子监", f"名称：国子监\n{NEIGHBOURS}"), Chunk("b#0", "b", "北京饭店", "名称：北京饭店")],
)
MENTIONS = [hit("g", "国子监", f"名称：国子监\n{NEIGHBOURS}", 0.92, 6.0)]
PRODUCT_TITLES = {"hub": "Nimbus Hub", "sensor": "Nimbus Sensor", "billing": "Billing"}
PRODUCTS = TitleIndex.build(
    PRODUCT_TITLES,
    [
        Chunk(
            "hub#0",
            "hub",
            "Nimbus Hub",
            "The Nimbus Hub needs no batteries.\nWorks with: Nimbus Sensor, Nimbus Relay, Nimbus Hub",
        )
    ],
)
HUB_PAGE = [
    hit("hub", "Nimbus Hub", "The Nimbus Hub needs no batteries.\nWorks with: Nimbus Sensor, Nimbus Relay", 0.7, 8.0)
]


def test_a_chinese_subject_named_earlier_without_a_document_of_its_own():
    history = ["推荐一家评分4.5分以上的酒店。", "推荐您去北京鹏润国际大酒店。"]
    held_out = evidence("这家酒店是什么类型的？", MENTIONS, 3, history=history, titles=VENUES)
    assert held_out.subject_without_document == pytest.approx(1.0)
    documented = evidence("这家酒店是什么类型的？", MENTIONS, 3, history=["推荐您去北京饭店。"], titles=VENUES)
    assert documented.subject_without_document == 0.0
    either = evidence("电话是多少？", MENTIONS, 3, history=["推荐您去北京饭店或北京鹏润国际大酒店。"], titles=VENUES)
    assert either.subject_without_document == pytest.approx(0.5)  # a choice of two: one has no document


def test_a_listing_answer_is_not_the_subject_the_next_question_asks_about():
    history = ["推荐您去北京鹏润国际大酒店。", "这家酒店的周边有哪些景点？", "周边的景点有雍和宫、地坛。"]
    asked = evidence("这家酒店的地址在哪？", MENTIONS, 3, history=history, titles=VENUES)
    assert asked.subject_without_document == pytest.approx(1.0)  # the hotel, not 雍和宫 and 地坛
    assert [name.text for name in subject("它的地址？", history, VENUES)] == ["北京鹏润国际大酒店"]
    assert subject("它的地址？", history[:1] + ["好的"] * SUBJECT_TURNS, VENUES) == []  # named too long ago


def test_an_english_product_named_without_a_page_of_its_own():
    relay = evidence("Does the Nimbus Relay need batteries?", HUB_PAGE, 3, titles=PRODUCTS)
    hub = evidence("Does the Nimbus Hub need batteries?", HUB_PAGE, 3, titles=PRODUCTS)
    assert relay.subject_without_document == pytest.approx(1.0)
    assert hub.subject_without_document == 0.0
    assert relay.coverage == hub.coverage  # the passage mentions both: only the subject evidence tells them apart


def test_no_titles_no_history_or_nothing_named_is_no_subject_evidence():
    message = "这家酒店是什么类型的？"
    assert evidence(message, MENTIONS, 3).subject_without_document == 0.0  # no title index
    assert evidence(message, MENTIONS, 3, history=[], titles=VENUES).subject_without_document == 0.0
    untitled = TitleIndex.build({"x": "", "y": "  "}, [Chunk("x#0", "x", "", NEIGHBOURS)])
    history = ["推荐您去北京鹏润国际大酒店。"]
    assert evidence(message, MENTIONS, 3, history=history, titles=untitled) == evidence(
        message, MENTIONS, 3, history=history
    )


def test_the_shipped_model_declines_a_venue_the_knowledge_base_only_mentions():
    history = [ChatMessage("user", "推荐一家酒店。"), ChatMessage("assistant", "推荐您去北京鹏润国际大酒店。")]
    documented = [ChatMessage("user", "推荐一家酒店。"), ChatMessage("assistant", "推荐您去国子监附近的北京饭店。")]
    hits = [hit("b", "北京饭店", "名称：北京饭店\n酒店类型：高档型\n" + NEIGHBOURS, 0.93, 9.0)]
    answer = AnswerStage(
        FakeLLM(),
        PromptLibrary(),
        AnswerSettings(),
        LLMSettings(backend="fake"),
        embedder_model="multilingual-e5-small",
        titles=lambda: VENUES,
    )
    assert answer.grounded("这家酒店是什么类型的？", hits, "这家酒店是什么类型的？ 北京饭店", documented)
    assert not answer.grounded("这家酒店是什么类型的？", hits, "这家酒店是什么类型的？ 北京鹏润国际大酒店", history)
    assert "subject_without_document" in AbstentionModel.load(SHIPPED_MODEL).features


async def test_the_answer_stage_reads_the_titles_of_the_index_it_answers_from(runtime, settings, tmp_path: Path):
    venues = [
        {"id": "g", "title": "国子监", "text": f"名称：国子监\n门票：30\n{NEIGHBOURS}"},
        {"id": "b", "title": "北京饭店", "text": "名称：北京饭店\n酒店类型：豪华型\n周边景点：国子监、雍和宫、地坛"},
        {"id": "l", "title": "北京丽晶酒店", "text": "名称：北京丽晶酒店\n酒店类型：豪华型"},
        {"id": "y", "title": "雍和宫", "text": "名称：雍和宫\n门票：25"},
        {"id": "d", "title": "地坛", "text": "名称：地坛\n门票：2"},
    ]
    folder = tmp_path / "venues"
    folder.mkdir()
    (folder / "kb.jsonl").write_text("\n".join(json.dumps(v, ensure_ascii=False) for v in venues), encoding="utf-8")
    settings.knowledge.path = folder
    # The hash embedder has no score reference, so its dense evidence counts as typical and the subject alone
    # decides: P(answerable) 0.96 with the venue documented, 0.28 without, either side of 0.4.
    settings.answer.min_answer_probability = 0.4
    services = runtime.services()
    stage = AnswerStage.build(services)
    await stage.warm_up()
    question, query = "这家酒店是什么类型的？", "这家酒店是什么类型的？ 国子监 北京饭店 北京鹏润国际大酒店"
    hits = services.retriever.retrieve(query, 4)
    documented = [ChatMessage("assistant", "推荐您去北京饭店。")]
    held_out = [ChatMessage("assistant", "推荐您去北京鹏润国际大酒店。")]
    assert stage.grounded(question, hits, query, documented)
    assert not stage.grounded(question, hits, query, held_out)  # the same passages, about a thing they only list
    assert not stage.grounded(question, hits, query, [])  # "这家酒店" with nothing named before: which one?


def test_answer_spans_are_the_top_passages_sentences_in_order_and_bounded():
    hits = [
        hit("hotel", "北京饭店", "名称：北京饭店\n电话：010-65137766。地址：东长安街33号", 0.92),
        hit("fees", "Gym membership", "The fee is 30 euros. Pay in pesos.", 0.7),
        hit("hours", "Opening hours", "The gym opens at six.", 0.6),
    ]
    assert answer_spans(hits, max_passages=2) == [
        "名称：北京饭店",
        "电话：010-65137766。",
        "地址：东长安街33号",
        "The fee is 30 euros.",
        "Pay in pesos.",
    ]
    long = [hit("long", "Long", "\n".join(f"Line {i}." for i in range(50)), 0.5)]
    assert len(answer_spans(long, 3)) == MAX_SPANS


def test_sentence_similarity_is_the_best_sentence_cosine_on_the_embedders_scale():
    embedder = HashEmbedder()
    spans = ["The membership fee is 30 euros.", "The gym opens at six.", "会员费是三十欧元。"]
    cosines = SentenceSimilarity(embedder).cosines("membership fee", spans)
    asked = embedder.embed_query("membership fee")
    assert cosines == pytest.approx([float(row @ asked) for row in embedder.embed_documents(spans)])
    assert max(cosines) == cosines[0]  # the sentence that names the fee
    assert SentenceSimilarity(embedder).cosines("membership fee", []) == []
    hits = [hit("fees", "Gym membership", " ".join(spans), 0.7)]
    found = evidence(QUESTION, hits, 3, score_reference=(0.6, 0.1), sentence_cosines=[0.2, 0.8, 0.5])
    assert found.sentence_similarity == pytest.approx(2.0)  # 0.8 is two spreads above the typical best cosine
    assert evidence(QUESTION, hits, 3, sentence_cosines=[0.8]).sentence_similarity == 0.0  # no reference: typical
    assert evidence(QUESTION, hits, 3, score_reference=(0.6, 0.1)).sentence_similarity == 0.0  # not measured


def test_chinese_sentence_similarity_prefers_the_line_that_holds_the_asked_field():
    # A hotel's page answers 电话 (phone) in one line; the customer asks for the phone number.
    spans = answer_spans([hit("h", "北京饭店", "名称：北京饭店\n电话：010-65137766\n地址：东长安街33号", 0.9)], 3)
    cosines = SentenceSimilarity(HashEmbedder()).cosines("电话是多少？", spans)
    assert spans[max(range(len(spans)), key=cosines.__getitem__)] == "电话：010-65137766"


def model_reading(features: tuple[str, ...]) -> AbstentionModel:
    size = len(features)
    return AbstentionModel(features, (0.0,) * size, (1.0,) * size, (1.0,) * size, 0.0, 0.5, {"m": (0.5, 0.1)})


def test_the_policy_measures_sentence_similarity_only_when_its_model_reads_it():
    asked: list[tuple[str, list[str]]] = []

    def similarity(message: str, spans: Sequence[str]) -> list[float]:
        asked.append((message, list(spans)))
        return [0.9 if "30 euros" in span else 0.1 for span in spans]

    hits = [hit("fees", "Gym membership", "Opening in May. The fee is 30 euros.", 0.7)]
    without = AbstentionPolicy(model_reading(("coverage",)), 0.5, 3, "m", similarity=similarity)
    without.answerable(QUESTION, hits)
    assert asked == []
    reading = AbstentionPolicy(model_reading(("sentence_similarity",)), 0.5, 3, "m", similarity=similarity)
    assert reading.answerable(QUESTION, hits) == pytest.approx(1 / (1 + math.exp(-4.0)))  # (0.9 - 0.5) / 0.1
    assert asked == [(QUESTION, ["Opening in May.", "The fee is 30 euros."])]
    assert reading.answerable(QUESTION, []) == pytest.approx(0.5)  # no hits: nothing to measure


def test_a_model_reading_sentence_similarity_survives_its_json(tmp_path: Path):
    model = model_reading(("coverage", "sentence_similarity"))
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    assert AbstentionModel.load(path) == model


async def test_a_composed_answer_needs_a_best_hit_above_min_score_as_a_generated_one_does():
    answer = AnswerSettings(mode="compose", min_answer_probability=0.0)
    composing = AnswerStage(FakeLLM(), PromptLibrary(), answer, LLMSettings(backend="fake"))
    weak = [hit("iam", "IBM Cloud IAM", "IAM access groups hold users.", answer.min_score - 0.01, 9.0)]
    strong = [replace(weak[0], score=answer.min_score + 0.2)]

    async def end(_turn: Turn) -> Reply:
        raise AssertionError("the answer stage answers")

    question = "Who can use IAM access groups?"
    assert (await composing(Turn(Message(text=question), hits=weak), end)).abstained
    assert not (await composing(Turn(Message(text=question), hits=strong), end)).abstained


async def test_below_min_score_only_the_message_is_read_not_the_passages_evidence():
    measured: list[str] = []

    def cosines(message: str, spans: Sequence[str]) -> list[float]:
        measured.append(message)
        return [0.5] * len(spans)

    answer = AnswerStage(
        FakeLLM(), PromptLibrary(), AnswerSettings(mode="compose"), LLMSettings(backend="fake"), similarity=cosines
    )
    faint = [replace(OVERVIEW[0], score=0.1)]  # below answer.min_score
    assert (await _stage_reply(answer, "Thank you!", faint)).text == PromptLibrary().render("closer")
    unanswered = await _stage_reply(answer, "Who can use IAM access groups?", faint)
    assert unanswered.abstained and unanswered.text == PromptLibrary().render("abstain")
    assert measured == []  # no sentence similarity for a turn the floor already declines
    await _stage_reply(answer, "Who can use IAM access groups?", OVERVIEW)
    assert measured == ["Who can use IAM access groups?"]


def test_only_the_question_readings_a_model_reads_are_computed():
    assert evidence("Thank you!", OVERVIEW, 3, readings=frozenset()).asks_nothing == 0.0
    assert evidence("Is IAM a paid service?", OVERVIEW, 3, readings={"asks_nothing"}).answer_type_missing == 0.0
    model = replace(AbstentionModel.load(SHIPPED_MODEL), declines=("asks_nothing",))
    policy = AbstentionPolicy(model, 0.0, 3, "all-MiniLM-L6-v2")
    found = policy.evidence("Does this IAM group need a paid service ID?", OVERVIEW)
    assert (found.unintroduced_reference, found.answer_type_missing) == (0.0, 0.0)  # not read by this model
    assert policy.why_not("Does this IAM group need a paid service ID?", OVERVIEW) is None
    assert policy.declined_by_message("Thank you!") == "asks_nothing"
    assert policy.declined_by_message("Does this IAM group need a service ID?") is None


def test_the_clarifying_reply_offers_the_distinct_titles_that_reach_min_score_in_rank_order():
    answer = stage(mode="compose", min_score=0.5)
    courts = [
        hit("sc", "Superior Court  of Santa Clara", "Jury duty at the Superior Court.", 0.7),
        hit("sc", "Superior Court  of Santa Clara", "Judges are listed by department.", 0.68),
        hit("sm", "Superior Court of San Mateo", "Court hours are 8 to 4.", 0.6),
        hit("long", "Small Claims " + "Advisor " * 20, "Small claims up to $12,500.", 0.55),
        hit("ca", "California Courts", "The judicial branch of California.", 0.54),
        hit("weak", "Parking", "Parking near the court.", 0.3),
    ]
    options = answer.clarify_options(courts)
    assert options[:2] == ["Superior Court of Santa Clara", "Superior Court of San Mateo"]
    assert len(options) == 3 and options[2].endswith("…") and len(options[2]) == 80
    assert answer.clarify_options(courts[-1:]) == []  # below the floor: nothing to offer, the plain question
    assert "For example" not in PromptLibrary().render("clarify", options=[])
