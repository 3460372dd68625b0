"""Sub-command groups of `deskbot`, shared so that separate command modules can add to the same group."""

import typer

kb_app = typer.Typer(help="Inspect and maintain the knowledge base.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure retrieval and answers on a questions file.", no_args_is_help=True)
finetune_app = typer.Typer(help="Adapt the LLM (LoRA) or the embedder to your domain.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the HTTP API (printed once, stored hashed).", no_args_is_help=True)
export_app = typer.Typer(help="Export stored data.", no_args_is_help=True)
db_app = typer.Typer(help="Deskbot's database: its schema migrations.", no_args_is_help=True)

GROUPS = {
    "kb": kb_app,
    "eval": eval_app,
    "finetune": finetune_app,
    "keys": keys_app,
    "export": export_app,
    "db": db_app,
}
