"""`deskbot keys create NAME | list | revoke NAME`: API keys for the HTTP API (shown once, stored hashed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.console import err, out
from bot.cli.groups import keys_app
from bot.cli.main import runtime

if TYPE_CHECKING:
    from adapters.http.api_keys import ApiKeys

NameArgument = Annotated[
    str, typer.Argument(help="A name for the key (who or what uses it): 1-64 letters, digits, '.', '_', '-'.")
]


def _keys() -> ApiKeys:
    from adapters.http.api_keys import ApiKeys

    return ApiKeys(runtime().database())


@keys_app.command("create")
def create(name: NameArgument) -> None:
    """Create a key and print it once; only its hash is stored."""
    keys = _keys()
    key = keys.create(name)
    err.print(f"Created API key '{name}'. It is shown only now; send it as 'Authorization: Bearer <key>'.")
    print(key)


@keys_app.command("list")
def list_keys() -> None:
    """List keys (name, first characters, created, revoked)."""
    keys = _keys()
    infos = keys.list()
    if not infos:
        err.print("No API keys yet: create one with `deskbot keys create NAME`.")
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        out.print(f"{info.name}\t{info.hint}\tcreated {info.created_at:%Y-%m-%d %H:%M}\t{state}")


@keys_app.command("revoke")
def revoke(name: NameArgument) -> None:
    """Revoke a key: requests with it are refused from now on."""
    keys = _keys()
    keys.revoke(name)
    err.print(f"Revoked API key '{name}'.")


def register(_app: typer.Typer) -> None:
    """The commands are added to `keys_app` on import; `main` mounts the group."""
