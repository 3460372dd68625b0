import json
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Next, StageInfo
from bot.evaluation.questions import QuestionFileError, load_questions
from bot.evaluation.retrieval import RetrievalEvaluator
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from bot.services import Services
from bot.types import Reply, Turn

KB = [
    {"id": "ship", "title": "Shipping times", "text": "Orders ship within three days to any address."},
    {"id": "refund", "title": "Refund policy", "text": "Refunds reach your card within five days."},
    {"id": "locked", "title": "Locked account", "text": "Error QX-7731 means your account is locked for an hour."},
]
QUESTIONS = [
    {"id": "q1", "question": "How fast do orders ship?", "relevant_ids": ["ship"]},
    {
        "id": "q2",
        "history": [{"role": "user", "content": "I have an error QX-7731"}, {"role": "assistant", "content": "Ok."}],
        "question": "what does it mean?",
        "relevant_ids": ["locked"],
    },
    {"id": "q3", "question": "What is the weather?", "relevant_ids": [], "answerable": False},
]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def kb_settings(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "kb"
    folder.mkdir()
    write_jsonl(folder / "kb.jsonl", KB)
    settings.knowledge.path = folder
    return settings


class ContextRewrite:
    info = StageInfo(role="query", provides=frozenset({"query"}))
    """Stands in for the query-rewrite stage: the query is the history's user turns plus the message."""

    @classmethod
    def build(cls, services: Services) -> "ContextRewrite":
        return cls()

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        earlier = " ".join(m.content for m in turn.history if m.role == "user")
        turn.query = f"{earlier} {turn.message.text}".strip()
        return await call_next(turn)


class ExplodingGuard:
    info = StageInfo(role="guard")

    @classmethod
    def build(cls, services: Services) -> "ExplodingGuard":
        return cls()

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        raise AssertionError("guard stages are not part of the query path")


def test_metrics_over_answerable_items(kb_settings: Settings, registry: PluginRegistry, tmp_path: Path) -> None:
    questions = load_questions(write_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    report = RetrievalEvaluator(Runtime(kb_settings, registry)).evaluate(questions)
    data = report.as_json()
    assert set(data) == {
        "n",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "latency_ms_p50",
        "latency_ms_p95",
    }
    assert data["n"] == 2
    assert data["recall@10"] == 1.0  # three documents, all ranked
    assert data["recall@1"] in {0.5, 1.0}
    assert 0 < data["mrr@10"] <= 1 and data["latency_ms_p95"] >= data["latency_ms_p50"] > 0


def test_multi_turn_items_go_through_the_pipeline_rewrite(
    kb_settings: Settings, registry: PluginRegistry, tmp_path: Path
) -> None:
    registry.register("stages", "rewrite", ContextRewrite)
    registry.register("stages", "guard", ExplodingGuard)
    kb_settings.pipeline.stages = ["guard", "commands", "history", "rewrite", "retrieve", "answer"]
    [_, multi_turn, _] = load_questions(write_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    evaluator = RetrievalEvaluator(Runtime(kb_settings, registry))

    import asyncio

    ranked = asyncio.run(evaluator.rank(multi_turn))
    assert ranked.query == "I have an error QX-7731 what does it mean?"
    assert ranked.ranked_ids[0] == "locked"


def test_without_rewrite_the_query_is_the_last_user_turn(
    kb_settings: Settings, registry: PluginRegistry, tmp_path: Path
) -> None:
    import asyncio

    kb_settings.pipeline.stages = ["commands", "history", "retrieve", "answer"]
    [_, multi_turn, _] = load_questions(write_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    ranked = asyncio.run(RetrievalEvaluator(Runtime(kb_settings, registry)).rank(multi_turn))
    assert ranked.query == "what does it mean?"


def test_the_default_pipeline_rewrites_multi_turn_queries(
    kb_settings: Settings, registry: PluginRegistry, tmp_path: Path
) -> None:
    import asyncio

    [_, multi_turn, _] = load_questions(write_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    ranked = asyncio.run(RetrievalEvaluator(Runtime(kb_settings, registry)).rank(multi_turn))
    assert "QX-7731" in ranked.query
    assert ranked.ranked_ids[0] == "locked"


def test_unknown_relevant_ids_are_a_clear_error(
    kb_settings: Settings, registry: PluginRegistry, tmp_path: Path
) -> None:
    questions = load_questions(
        write_jsonl(tmp_path / "q.jsonl", [{"id": "x", "question": "?", "relevant_ids": ["nope", "ship"]}])
    )
    with pytest.raises(QuestionFileError, match=r"1 relevant id\(s\) are not in the knowledge base \(nope\)"):
        RetrievalEvaluator(Runtime(kb_settings, registry)).evaluate(questions)


def test_stages_are_picked_by_role_not_by_name(kb_settings: Settings, registry: PluginRegistry, tmp_path: Path) -> None:
    import asyncio

    registry.register("stages", "my_rewriter", ContextRewrite)  # a query stage, whatever its name
    registry.register("stages", "strict", ExplodingGuard)  # a guard without "guard" in its name
    kb_settings.pipeline.stages = ["strict", "commands", "history", "my_rewriter", "retrieve", "answer"]
    [_, multi_turn, _] = load_questions(write_jsonl(tmp_path / "q.jsonl", QUESTIONS))
    ranked = asyncio.run(RetrievalEvaluator(Runtime(kb_settings, registry)).rank(multi_turn))
    assert ranked.query == "I have an error QX-7731 what does it mean?"


def test_evaluation_leaves_the_runtime_settings_as_they_were(kb_settings: Settings, registry: PluginRegistry) -> None:
    runtime = Runtime(kb_settings, registry)
    top_k = kb_settings.knowledge.top_k
    RetrievalEvaluator(runtime)
    assert kb_settings.knowledge.top_k == top_k and runtime.settings.knowledge.top_k == top_k
