"""`deskbot keys create NAME | list | revoke NAME`: API keys for the HTTP API (shown once, stored hashed);
`deskbot keys create-widget NAME --origin URL | list-widget | revoke-widget NAME`: the chat widget's public keys
(`adapters.http.widget_keys`); `deskbot keys create-operator NAME | list-operator | revoke-operator NAME`: the
operator console's keys (`adapters.http.operator_keys`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.console import err, out
from bot.cli.groups import keys_app
from bot.cli.main import runtime

if TYPE_CHECKING:
    from adapters.http.api_keys import ApiKeys
    from adapters.http.operator_keys import OperatorKeys
    from adapters.http.widget_keys import WidgetKeys

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


WidgetNameArgument = Annotated[
    str, typer.Argument(help="A name for the widget key (the site it is for): 1-64 letters, digits, '.', '_', '-'.")
]


def _widget_keys() -> WidgetKeys:
    from adapters.http.widget_keys import WidgetKeys

    return WidgetKeys(runtime().database())


@keys_app.command("create-widget")
def create_widget(
    name: WidgetNameArgument,
    origin: Annotated[
        list[str],
        typer.Option(help="A site that may embed the widget, e.g. https://help.example.com (repeat for more)."),
    ],
    per_session: Annotated[int, typer.Option(min=1, help="Messages one browser session may send per day.")] = 50,
    per_day: Annotated[int, typer.Option(min=1, help="Messages all sessions of this key may send per day.")] = 1000,
    expires_in_days: Annotated[
        int | None, typer.Option(help="Refuse the key after this many days (default: valid until revoked).")
    ] = None,
) -> None:
    """Create a public key for the chat widget, limited to its sites and to messages per session and per day."""
    keys = _widget_keys()
    key = keys.create(name, origin, per_session=per_session, per_day=per_day, expires_in_days=expires_in_days)
    tag = f'<script src="https://<deskbot>/widget.js" data-key="{key}" async></script>'
    err.print(f"Created widget key '{name}'. Add it to your pages with: {tag}")
    print(key)


@keys_app.command("list-widget")
def list_widget_keys() -> None:
    """List widget keys (name, key, origins, limits, created, state: active until a date, revoked or expired)."""
    infos = _widget_keys().list()
    if not infos:
        err.print("No widget keys yet: create one with `deskbot keys create-widget NAME --origin URL`.")
    for info in infos:
        if info.revoked_at:
            state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
        elif info.expires_at:
            state = f"{'expired' if info.expired() else 'active until'} {info.expires_at:%Y-%m-%d %H:%M}"
        else:
            state = "active"
        limits = f"{info.per_session}/session/day, {info.per_day}/day"
        created = f"created {info.created_at:%Y-%m-%d %H:%M}"
        out.print(f"{info.name}\t{info.key}\t{' '.join(info.origins)}\t{limits}\t{created}\t{state}")


@keys_app.command("revoke-widget")
def revoke_widget(name: WidgetNameArgument) -> None:
    """Revoke a widget key: its pages and their sessions are refused from now on."""
    _widget_keys().revoke(name)
    err.print(f"Revoked widget key '{name}'.")


OperatorNameArgument = Annotated[
    str, typer.Argument(help="The operator's name (shown with their replies): 1-64 letters, digits, '.', '_', '-'.")
]


def _operator_keys() -> OperatorKeys:
    from adapters.http.operator_keys import OperatorKeys

    return OperatorKeys(runtime().database())


@keys_app.command("create-operator")
def create_operator(name: OperatorNameArgument) -> None:
    """Create an operator key for the console (/admin) and print it once; only its hash is stored."""
    key = _operator_keys().create(name)
    err.print(f"Created operator key '{name}'. It is shown only now; log in with it at https://<deskbot>/admin/login.")
    print(key)


@keys_app.command("list-operator")
def list_operator_keys() -> None:
    """List operator keys (name, first characters, created, revoked)."""
    infos = _operator_keys().list()
    if not infos:
        err.print(
            "No operator keys yet, so the console is closed: create one with `deskbot keys create-operator NAME`."
        )
    for info in infos:
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        out.print(f"{info.name}\t{info.hint}\tcreated {info.created_at:%Y-%m-%d %H:%M}\t{state}")


@keys_app.command("revoke-operator")
def revoke_operator(name: OperatorNameArgument) -> None:
    """Revoke an operator key: its console sessions end and it is refused from now on."""
    _operator_keys().revoke(name)
    err.print(f"Revoked operator key '{name}'.")


def register(_app: typer.Typer) -> None:
    """The commands are added to `keys_app` on import; `main` mounts the group."""
