"""Tiny models built inside the tests (no download): a 2-layer Llama with a word-level tokenizer and a 2-layer
BERT sentence-transformer, plus small training files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import LLMSettings

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

FAQ = [
    ("How do I reset my thermostat?", "Hold the dial for ten seconds until the light blinks blue."),
    ("How long is the warranty?", "The warranty lasts two years from the date of purchase."),
    ("Can I pay by card?", "Yes, we accept all major cards and bank transfer."),
    ("Where is my order?", "Your order ships in three days and you get a tracking email."),
    ("Does the plug work outside?", "No, the plug is for indoor use only."),
    ("How do I cancel?", "You can cancel any time from the account page."),
    ("What does error E41 mean?", "Error E41 means the sensor lost power; check the wire."),
    ("Is there an app?", "Yes, the Nimbus app runs on phones and tablets."),
]

DOCUMENTS = [{"id": f"doc-{i}", "title": question, "text": answer} for i, (question, answer) in enumerate(FAQ)]


def _words() -> list[str]:
    words: set[str] = set()
    for question, answer in FAQ:
        words.update(f"{question} {answer}".replace("?", " ? ").replace(".", " . ").replace(",", " , ").split())
    return sorted(words)


def write_questions(path: Path, count: int = len(FAQ)) -> Path:
    lines = []
    for i, (question, answer) in enumerate(FAQ[:count]):
        record = {"id": f"q{i}", "dialogue_id": f"g{i}", "question": question, "answer": answer}
        record["relevant_ids"] = [f"doc-{i}"]
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (hidden size 64) with a word-level ChatML tokenizer, saved as a model folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>"]
    vocab = {token: i for i, token in enumerate([*specials, "user", "assistant", "system", *_words()])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|im_end|>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    tokenizer.chat_template = CHATML
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=vocab["<|im_end|>"],
    )
    folder = tmp_path_factory.mktemp("tiny-llm")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_llm_settings(tiny_llm_dir: Path) -> LLMSettings:
    return LLMSettings(model=str(tiny_llm_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_embedder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT (hidden size 32) with mean pooling, saved as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    base = folder / "base"
    base.mkdir()
    words = sorted({w.lower() for w in _words()})
    (base / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8"
    )
    tokenizer = BertTokenizerFast(vocab_file=str(base / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(words) + 5,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    transformer = models.Transformer(str(base), max_seq_length=64)
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    target = folder / "st"
    model.save_pretrained(str(target))
    return target


@pytest.fixture
def questions_file(tmp_path: Path) -> Path:
    return write_questions(tmp_path / "questions.jsonl")


@pytest.fixture
def knowledge_file(tmp_path: Path) -> Path:
    path = tmp_path / "kb.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in DOCUMENTS) + "\n", encoding="utf-8")
    return path
