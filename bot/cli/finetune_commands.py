"""`deskbot finetune lora` and `deskbot finetune embedder`: adapt the models to your domain and report the gain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.console import err, out, progress_bar
from bot.cli.groups import finetune_app
from bot.cli.main import fail, runtime, settings

DataOption = Annotated[
    Path, typer.Option("--data", help="Questions/FAQ jsonl, FAQ csv, or a conversation export (jsonl).")
]
OutputOption = Annotated[Path, typer.Option("--output", help="Folder to write the trained model into.")]
MaxStepsOption = Annotated[int, typer.Option("--max-steps", help="Stop after N optimizer steps (-1: use --epochs).")]
ValidationOption = Annotated[
    float, typer.Option("--validation", min=0.0, max=0.9, help="Fraction of groups held out for evaluation.")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the split and of training.")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in OUTPUT.")]
NoEvalOption = Annotated[bool, typer.Option("--no-eval", help="Skip the before/after evaluation.")]


def _print_comparison(before: dict[str, float], after: dict[str, float]) -> None:
    for name, value in before.items():
        if name in after:
            change = f" ({(after[name] - value) / abs(value) * 100:+.1f}%)" if value else ""
            out.print(f"  {name:<18} {value:10.4f} -> {after[name]:10.4f}{change}")


def _prepare(data: Path, knowledge: Path | None, validation: float, seed: int) -> object:
    from bot.finetune.preparation import SplitOptions, prepare
    from bot.finetune.sources import load_knowledge, read_training_file

    documents = load_knowledge(knowledge) if knowledge is not None else None
    prepared = prepare(read_training_file(data, documents), SplitOptions(validation_fraction=validation, seed=seed))
    summary = prepared.summary()
    dropped = ", ".join(f"{count} {why}" for why, count in summary["dropped"].items()) or "none"
    err.print(
        f"data: {summary['read']} read ({summary['format']}), {summary['train']} train / "
        f"{summary['validation']} validation; dropped: {dropped}; {summary['pii_replacements']} PII replacements"
    )
    return prepared


@finetune_app.command("lora")
def lora(
    data: DataOption,
    output: OutputOption,
    knowledge: Annotated[
        Path | None, typer.Option("--knowledge", help="Knowledge jsonl: answers for questions without one.")
    ] = None,
    max_steps: MaxStepsOption = -1,
    epochs: Annotated[float, typer.Option("--epochs", min=0.0)] = 3.0,
    rank: Annotated[int, typer.Option("--rank", min=1, help="LoRA rank r.")] = 16,
    alpha: Annotated[int, typer.Option("--alpha", min=1, help="LoRA alpha (scale = alpha / r).")] = 32,
    target_modules: Annotated[
        str, typer.Option("--target-modules", help="Comma-separated module names to adapt.")
    ] = "q_proj,k_proj,v_proj,o_proj",
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Learning rate.")] = 5e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
    max_length: Annotated[
        int, typer.Option("--max-length", min=16, help="Tokens per example (prompt + answer).")
    ] = 256,
    save_steps: Annotated[int, typer.Option("--save-steps", min=1, help="Checkpoint every N steps.")] = 25,
    validation: ValidationOption = 0.2,
    seed: SeedOption = 13,
    resume: ResumeOption = False,
    merge: Annotated[bool, typer.Option("--merge", help="Also write OUTPUT/merged: base model + adapter.")] = False,
    eval_generate: Annotated[
        int, typer.Option("--eval-generate", min=0, help="Held-out questions answered for ROUGE-L/BLEU.")
    ] = 8,
    no_eval: NoEvalOption = False,
) -> None:
    """Train a LoRA adapter for the configured local LLM; serve it with `--adapter OUTPUT` or llm.adapter."""
    from bot.finetune.lora import LoraArguments, TrainingOptions, train_lora
    from bot.finetune.preparation import PreparedData

    targets = tuple(name.strip() for name in target_modules.split(",") if name.strip())
    if not targets:
        fail("--target-modules is empty")
    prepared = _prepare(data, knowledge, validation, seed)
    assert isinstance(prepared, PreparedData)
    config = settings()
    if config.llm.backend not in {"auto", "transformers"}:  # auto serves a LoRA adapter with transformers
        fail(f"LoRA needs the local transformers backend; [llm] backend is '{config.llm.backend}'")
    options = TrainingOptions(
        output_dir=output,
        max_steps=max_steps,
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch_size,
        max_length=max_length,
        save_steps=save_steps,
        seed=seed,
        resume=resume,
        merge=merge,
        evaluate=not no_eval,
        eval_generate=eval_generate,
    )
    with progress_bar() as update:
        result = train_lora(
            config.llm,
            prepared,
            LoraArguments(rank=rank, alpha=alpha, target_modules=targets),
            options,
            cache_dir=config.llm.cache_dir or config.data_dir / "models",
            progress=update,  # type: ignore[arg-type]
        )
    err.print(
        f"trained {result.steps} steps on {result.train_examples} examples in {result.seconds:.0f}s "
        f"({result.tokens_per_second:.0f} tokens/s)"
    )
    if result.before:
        out.print(f"held-out ({result.validation_examples} examples), before -> after:")
        _print_comparison(result.before, result.after)
    out.print(f"adapter: {output}  (report: {output / 'report.html'})")
    if result.merged_dir is not None:
        out.print(f"merged model: {result.merged_dir}  (use it as [llm] model)", markup=False)
    out.print(f'use it: deskbot ask --adapter {output} "..."   or   [llm] adapter = "{output}"', markup=False)


@finetune_app.command("embedder")
def embedder(
    data: DataOption,
    knowledge: Annotated[Path, typer.Option("--knowledge", help="Knowledge jsonl holding the relevant documents.")],
    output: OutputOption,
    max_steps: MaxStepsOption = -1,
    epochs: Annotated[float, typer.Option("--epochs", min=0.0)] = 1.0,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Learning rate.")] = 5e-5,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2, help="Pairs per batch (in-batch negatives).")] = 32,
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="Embedder to start from (default: [knowledge] embedder_model).")
    ] = None,
    save_steps: Annotated[int, typer.Option("--save-steps", min=1, help="Checkpoint every N steps.")] = 100,
    validation: ValidationOption = 0.2,
    seed: SeedOption = 13,
    resume: ResumeOption = False,
    no_eval: NoEvalOption = False,
    rebuild_kb: Annotated[
        Path | None, typer.Option("--rebuild-kb", help="Then rebuild this knowledge folder's index with the new model.")
    ] = None,
) -> None:
    """Fine-tune the embedder on (question, relevant passage) pairs; serve it as knowledge.embedder_model."""
    from bot.finetune.embedder import EmbedderOptions, train_embedder
    from bot.finetune.preparation import PreparedData
    from bot.finetune.sources import load_knowledge
    from knowledge.embedders.sentence_transformer import DEFAULT_EMBEDDER

    if rebuild_kb is not None and not rebuild_kb.is_dir():
        fail(f"{rebuild_kb}: knowledge folder not found (--rebuild-kb)")
    prepared = _prepare(data, knowledge, validation, seed)
    assert isinstance(prepared, PreparedData)
    config = settings()
    start = base_model or config.knowledge.embedder_model or DEFAULT_EMBEDDER
    if base_model is None and config.knowledge.embedder not in {"sentence-transformers", "auto"}:
        fail(f"the configured embedder '{config.knowledge.embedder}' is not trainable; pass --base-model")
    options = EmbedderOptions(
        output_dir=output,
        base_model=start,
        max_steps=max_steps,
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch_size,
        save_steps=save_steps,
        seed=seed,
        resume=resume,
        evaluate=not no_eval,
    )
    with progress_bar() as update:
        result = train_embedder(prepared, load_knowledge(knowledge), options, progress=update)  # type: ignore[arg-type]
    err.print(f"trained {result.steps} steps on {result.train_pairs} pairs in {result.seconds:.0f}s")
    if result.before:
        out.print(f"held-out ({result.validation_queries} queries), before -> after:")
        _print_comparison(result.before, result.after)
    out.print(f"embedder: {output}  (report: {output / 'report.html'})")
    out.print(
        f'use it: [knowledge] embedder = "sentence-transformers" and embedder_model = "{output.resolve()}", '
        "then rebuild the index: deskbot kb rebuild",
        markup=False,
    )
    if rebuild_kb is not None:
        from bot.cli.knowledge_commands import restore_curated_answers

        rt = runtime(rebuild_kb)
        rt.settings.knowledge.embedder = "sentence-transformers"
        rt.settings.knowledge.embedder_model = str(output.resolve())
        knowledge_base = rt.knowledge(sync=False, load=False)
        with progress_bar() as update:
            rebuilt = knowledge_base.writer.rebuild(progress=update)  # type: ignore[arg-type]
        err.print(f"rebuilt {rebuilt.chunks_embedded} chunks of {rebuild_kb} in {rebuilt.seconds:.1f}s")
        restore_curated_answers(rt, knowledge_base.writer)


def register(app: typer.Typer) -> None:
    """The commands live on the shared `finetune` group; nothing to add at the top level."""
