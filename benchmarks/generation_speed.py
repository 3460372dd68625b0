"""Speed of the generative answer path: time to first token, decode rate and whole replies of the embedded model.

The prompts are the ones the engine sends: answerable dev items of mtrag_cloud_govt, covid_faq_paraphrases and
dstc11_track5 that the answer policy would give to the model (not a curated FAQ answer, not abstained), built by the
`rewrite` + `retrieve` stages and `AnswerStage.messages_for`, in the model's own tokens.

1. Decoding settings, each on every prompt with the reply forced to `--decode-tokens` tokens: plain `model.generate`
   as transformers runs it by default (the baseline: dynamic cache, torch's thread count), then one change at a time
   (threads, static KV cache, float32, torch.compile with `--compile`), and llama.cpp (`LlamaCppLLM`'s in-process
   server, one thread, on the Q8_0 copy and on the Q4_1 file as it is; EOS ignored). TTFT and decode tokens/s are
   read from a streamer (transformers) or the stream's callback (llama.cpp) that stamps every token.
2. Whole replies as a customer gets them: plain `generate` with the old defaults (160 new tokens), `TransformersLLM`
   with the old defaults, `TransformersLLM` and `LlamaCppLLM` with the chosen settings and sentence stops, with
   ROUGE-L of the replies against the dev references (bot.evaluation.metrics.rouge_l).

Ratios are against the baseline row of each table. The cores are shared on the development machine: the load
average is printed with the table, and the CPU time of each reply beside its wall time (with one thread, CPU time is
about what the reply takes on idle cores).

    .venv/bin/python benchmarks/generation_speed.py [--n 20] [--decode-tokens 24] [--compile]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rewrite_recall import DATA, RESULTS, open_runtime

from bot.config import LLMSettings
from bot.evaluation.metrics import percentile, rouge_l
from bot.evaluation.questions import load_questions
from bot.llm.base import GenerationOptions
from bot.llm.llamacpp_backend import LlamaCppLLM
from bot.llm.sentence_stop import end_of_sentences
from bot.llm.transformers_backend import TransformersLLM
from bot.stages.answer import AnswerStage
from bot.stages.faq import FaqStage
from bot.stages.retrieve import RetrieveStage
from bot.stages.rewrite import RewriteStage
from bot.types import ChatMessage, Message, Reply, Turn

DATASETS = ("mtrag_cloud_govt", "covid_faq_paraphrases", "dstc11_track5")
OLD_MAX_NEW_TOKENS = 160


@dataclass(frozen=True)
class Item:
    messages: list[ChatMessage]
    reference: str


@dataclass
class Timing:
    ttft_s: float
    total_s: float
    tokens: int
    cpu_s: float  # CPU time of the whole process: with one thread, about the wall time on an idle machine
    text: str = ""

    @property
    def decode_rate(self) -> float:
        return (self.tokens - 1) / (self.total_s - self.ttft_s) if self.tokens > 1 else 0.0


@dataclass
class Row:
    name: str
    timings: list[Timing] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def p(self, values: list[float], q: float) -> float:
        return percentile(values, q)

    @property
    def ttft_p50(self) -> float:
        return self.p([t.ttft_s for t in self.timings], 50)

    @property
    def decode_p50(self) -> float:
        return self.p([t.decode_rate for t in self.timings], 50)

    def reply(self, q: float) -> float:
        return self.p([t.total_s for t in self.timings], q)


async def grounded_items(n: int, llm: TransformersLLM) -> list[Item]:
    """Up to `n` prompts the answer policy would send to the model, spread over the dev sets, with references."""
    items: list[Item] = []
    per_set = -(-n // len(DATASETS))

    async def end(turn: Turn) -> Reply:
        return Reply(text="")

    for dataset in DATASETS:
        runtime = open_runtime(dataset)
        runtime._llm = llm  # passages are counted in the model's tokens, as in the engine
        services = runtime.services()
        rewrite, retrieve = RewriteStage.build(services), RetrieveStage(runtime.retriever(), 4)
        faq, answer = FaqStage.build(services), AnswerStage.build(services)
        taken = 0
        for q in load_questions(DATA / dataset / "dev.jsonl"):
            if not q.answerable or not q.answer or taken == per_set or len(items) == n:
                continue
            turn = Turn(message=Message(text=q.question), history=list(q.history))
            await rewrite(turn, lambda t, retrieve=retrieve: retrieve(t, end))
            if not turn.hits or faq.faq_answer(turn.hits) or not answer.grounded(q.question, turn.hits):
                continue
            history = answer.recent_history(turn.history)
            passages = answer.select_passages(turn.hits, answer.window_left(q.question, history, {}))
            if passages:
                items.append(Item(answer.messages_for(q.question, passages, history.turns, {}), q.answer))
                taken += 1
    return items


def stamping_streamer(stamps: list[float]) -> Any:
    from transformers.generation.streamers import BaseStreamer

    class Stamps(BaseStreamer):
        def put(self, value: Any) -> None:  # first the prompt, then each new token
            stamps.append(time.perf_counter())

        def end(self) -> None:
            pass

    return Stamps()


@dataclass(frozen=True)
class Decoding:
    """How `model.generate` is run: thread count (0: torch's default), KV cache, compiled forward."""

    threads: int = 0
    cache: str = "dynamic"
    compiled: bool = False


def plain_generate(llm: TransformersLLM, decoding: Decoding, item: Item, new_tokens: int, forced: bool) -> Timing:
    import torch

    model, tokenizer = llm.loaded()
    torch.set_num_threads(decoding.threads or os.cpu_count() or 1)
    inputs = llm.encode_chat(item.messages)
    stamps: list[float] = []
    kwargs: dict[str, Any] = {"max_new_tokens": new_tokens, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    if forced:
        kwargs["min_new_tokens"] = new_tokens
    if decoding.cache == "static":
        kwargs["cache_implementation"] = "static"
    if decoding.compiled:
        from transformers import CompileConfig

        compile_config = CompileConfig()
        compile_config._compile_all_devices = True  # transformers compiles on GPUs only unless told
        kwargs["compile_config"] = compile_config
    started, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        output = model.generate(**inputs, streamer=stamping_streamer(stamps), **kwargs)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    new = output[0, inputs["input_ids"].shape[1] :]
    text = tokenizer.decode(new, skip_special_tokens=True)
    return Timing(stamps[1] - started, total, len(stamps) - 1, cpu, text)


def llamacpp_forced(llm: LlamaCppLLM, item: Item, new_tokens: int) -> Timing:
    """`new_tokens` greedy tokens from llama.cpp's server (EOS ignored), each piece stamped as it arrives."""
    stamps: list[float] = []
    pieces: list[str] = []

    def on_chunk(chunk: dict[str, Any]) -> bool:
        stamps.append(time.perf_counter())
        pieces.append(chunk["choices"][0].get("text") or "")
        return False

    request = {**llm._request(item.messages, GenerationOptions(new_tokens)), "ignore_eos": True}
    started, cpu = time.perf_counter(), time.process_time()
    llm._server.handle_completions(request, on_chunk)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    tokens = sum(1 for piece in pieces if piece)
    return Timing(stamps[0] - started, total, tokens, cpu, "".join(pieces))


async def backend_reply(llm: TransformersLLM | LlamaCppLLM, item: Item, options: GenerationOptions) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    first = 0.0
    pieces: list[str] = []
    async for piece in llm.stream(item.messages, options):
        first = first or time.perf_counter() - started
        pieces.append(piece)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    text = "".join(pieces).strip()
    return Timing(first, total, llm.count_tokens(text), cpu, text)


def print_table(title: str, rows: list[Row], with_quality: bool) -> None:
    base = rows[0]
    load = os.getloadavg()[0]
    print(f"\n{title} (load average {load:.1f} on {os.cpu_count()} cores)")
    header = "| setting | prompts | TTFT p50 s | decode tok/s p50 | x baseline | reply p50 s | reply p95 s |"
    header += " CPU p50 s | CPU p95 s | tokens p50 |"
    print(header + (" ROUGE-L |" if with_quality else ""))
    print("|" + " --- |" * (header.count("|") - 1 + with_quality))  # one more column with ROUGE-L
    for row in rows:
        line = (
            f"| {row.name} | {len(row.timings)} | {row.ttft_p50:.2f} | {row.decode_p50:.1f} | "
            f"{row.decode_p50 / base.decode_p50:.2f} | "
            f"{row.reply(50):.2f} | {row.reply(95):.2f} | {row.p([t.cpu_s for t in row.timings], 50):.2f} | "
            f"{row.p([t.cpu_s for t in row.timings], 95):.2f} | {row.p([t.tokens for t in row.timings], 50):.0f} |"
        )
        if with_quality:
            line += f" {rouge_l([t.text for t in row.timings], row.references[: len(row.timings)]):.4f} |"
        print(line, flush=True)


def backend(dtype: str, **settings: Any) -> TransformersLLM:
    llm = TransformersLLM(LLMSettings(dtype=dtype, **settings), cache_dir=RESULTS / "data" / "models")  # type: ignore[arg-type]
    llm.load()
    return llm


def llamacpp_backend(requantize: str = "q8_0") -> LlamaCppLLM:
    settings = LLMSettings(backend="llamacpp", requantize=requantize)  # type: ignore[arg-type]
    llm = LlamaCppLLM(settings, cache_dir=RESULTS / "data" / "models")
    llm.load()
    return llm


def cut_after(text: str, sentences: int) -> str:
    end = end_of_sentences(text, sentences)
    return text if end is None else text[:end]


def print_sentence_cuts(llm: TransformersLLM, full: Row, limits: list[int]) -> None:
    """What each sentence stop leaves of the full greedy replies: a reply stopped after k sentences is a prefix of the
    unstopped one (greedy decoding), so no generation is needed to see its length and quality."""
    print(
        f"\nSentence stops applied to the {OLD_MAX_NEW_TOKENS}-token greedy replies above ({len(full.timings)} prompts)"
    )
    print("| max_sentences | tokens p50 | tokens p95 | tokens max | ROUGE-L |")
    print("| --- | --- | --- | --- | --- |")
    for limit in limits:
        texts = [cut_after(t.text, limit) for t in full.timings]
        tokens = [llm.count_tokens(text) + 1 for text in texts]  # +1: the token that shows the sentence ended
        print(
            f"| {limit} | {percentile(tokens, 50):.0f} | {percentile(tokens, 95):.0f} | {max(tokens)} | "
            f"{rouge_l(texts, full.references):.4f} |"
        )
    tokens = [t.tokens for t in full.timings]
    print(
        f"| none | {percentile(tokens, 50):.0f} | {percentile(tokens, 95):.0f} | {max(tokens)} | "
        f"{rouge_l([t.text for t in full.timings], full.references):.4f} |",
        flush=True,
    )


def decoding_table(new: TransformersLLM, items: list[Item], decode_tokens: int, compiled: bool) -> None:
    fp32 = backend("float32")
    decodings: list[tuple[str, TransformersLLM, Decoding]] = [
        ("plain generate, bfloat16, torch's threads (2), dynamic cache (baseline)", new, Decoding()),
        ("1 thread", new, Decoding(threads=1)),
        ("static cache", new, Decoding(cache="static")),
        ("1 thread + static cache", new, Decoding(threads=1, cache="static")),
        ("float32, 1 thread + static cache", fp32, Decoding(threads=1, cache="static")),
    ]
    if compiled:
        decodings.append(("1 thread + static cache + torch.compile", new, Decoding(1, "static", compiled=True)))
    runs: list[Callable[[Item, int], Timing]] = [
        lambda item, tokens, llm=llm, decoding=decoding: plain_generate(llm, decoding, item, tokens, forced=True)
        for _, llm, decoding in decodings
    ]
    names = [name for name, _, _ in decodings]
    for requantize, name in (("q8_0", "llama.cpp, Q8_0 copy, 1 thread"), ("none", "llama.cpp, Q4_1 as is, 1 thread")):
        fast = llamacpp_backend(requantize)
        runs.append(lambda item, tokens, fast=fast: llamacpp_forced(fast, item, tokens))
        names.append(name)
    rows = [Row(name) for name in names]
    for run in runs:  # warm-up (and compilation) outside the timings
        run(items[0], 4)
    for item in items:  # interleaved, so that a burst of load elsewhere hits every setting alike
        for row, run in zip(rows, runs, strict=True):
            row.timings.append(run(item, decode_tokens))
    print_table(f"Decoding, {decode_tokens} new tokens forced", rows, with_quality=False)


async def main(args: argparse.Namespace) -> None:
    new = backend("bfloat16")  # the defaults: 1 thread, static cache
    items = await grounded_items(args.n, new)
    tokens = [new.prompt_tokens(i.messages) for i in items]
    print(f"{len(items)} prompts, prompt tokens p50 {percentile(tokens, 50):.0f}, max {max(tokens)}", flush=True)
    if not args.new_only:
        decoding_table(new, items[: args.decode_n], args.decode_tokens, args.compile)
    old = backend("bfloat16", threads=0, kv_cache="dynamic")
    old_options = GenerationOptions(max_new_tokens=OLD_MAX_NEW_TOKENS, timeout_s=600)
    unstopped = GenerationOptions(max_new_tokens=OLD_MAX_NEW_TOKENS, timeout_s=600)
    stopped = GenerationOptions(args.max_new_tokens, max_sentences=args.max_sentences or None, timeout_s=600)
    references = [i.reference for i in items]
    fast = llamacpp_backend()
    replies: list[tuple[Row, Callable[[Item], Awaitable[Timing]], int]] = [
        (
            Row(f"plain generate, old defaults ({OLD_MAX_NEW_TOKENS} tokens)", references=references),
            lambda i: asyncio.to_thread(plain_generate, old, Decoding(), i, OLD_MAX_NEW_TOKENS, False),
            args.old_n,
        ),
        (
            Row(f"TransformersLLM, old defaults ({OLD_MAX_NEW_TOKENS} tokens)", references=references),
            lambda i: backend_reply(old, i, old_options),
            args.old_n,
        ),
        (
            Row(f"TransformersLLM, 1 thread + static cache ({OLD_MAX_NEW_TOKENS} tokens)", references=references),
            lambda i: backend_reply(new, i, unstopped),
            len(items),
        ),
        (
            Row(
                f"TransformersLLM, new defaults (1 thread, static cache, {args.max_sentences} sentences, "
                f"{args.max_new_tokens} tokens)",
                references=references,
            ),
            lambda i: backend_reply(new, i, stopped),
            len(items),
        ),
        (
            Row(
                f"LlamaCppLLM, new defaults (1 thread, Q8_0 copy, {args.max_sentences} sentences, "
                f"{args.max_new_tokens} tokens)",
                references=references,
            ),
            lambda i: backend_reply(fast, i, stopped),
            len(items),
        ),
    ]
    if args.new_only:
        replies = replies[3:]
    for number, item in enumerate(items):
        for row, run, count in replies:
            if number < count:
                row.timings.append(await run(item))
    print_table("Whole replies", [row for row, _, _ in replies], with_quality=True)
    if not args.new_only:
        print_sentence_cuts(new, replies[2][0], [1, 2, 3, 4])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="prompts")
    parser.add_argument("--decode-n", type=int, default=10, help="prompts of the decoding table")
    parser.add_argument("--decode-tokens", type=int, default=24)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (minutes to compile)")
    defaults = LLMSettings()
    parser.add_argument("--max-sentences", type=int, default=defaults.max_sentences, help="of the new settings")
    parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens, help="of the new settings")
    parser.add_argument("--old-n", type=int, default=5, help="prompts of the slow old-default rows")
    parser.add_argument("--new-only", action="store_true", help="only the whole replies of the new settings")
    asyncio.run(main(parser.parse_args()))
