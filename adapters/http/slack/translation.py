"""Slack payloads -> engine `Message`s, and where the reply goes. Pure functions over the JSON Slack sends.

Answered: app mentions, direct messages, and replies in threads the bot started. Ignored: the bot's own messages
(and other bots'), edits/deletions and other subtypes, channel messages that mention the bot (the app_mention event
for the same message answers those), and every event type not listed here.
Buttons and slash sub-commands become command texts (`/feedback good`, `/human`, `/reset`) for the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.presentation import REPLY_ACTIONS, ReplyAction
from bot.types import Message

MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def slack_action_id(action: ReplyAction) -> str:
    """The button's Slack `action_id` (`deskbot_feedback_good`): stable, so buttons of old replies still work."""
    return "deskbot_" + action.id.replace(":", "_")


BUTTON_COMMANDS = {slack_action_id(action): action.command for action in REPLY_ACTIONS}
SLASH_SUBCOMMANDS = {"help", "reset", "human", "feedback"}


@dataclass(frozen=True)
class SlackTarget:
    """Where a reply goes: a channel, a thread in it (None: top level), or a slash command's response_url."""

    channel: str
    thread_ts: str | None = None
    response_url: str | None = None


@dataclass(frozen=True)
class SlackTurn:
    message: Message
    target: SlackTarget

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready form, for the answer queue."""
        return {"message": asdict(self.message), "target": asdict(self.target)}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SlackTurn:
        return cls(Message(**payload["message"]), SlackTarget(**payload["target"]))


def bot_user_id(payload: Mapping[str, Any]) -> str | None:
    """The bot's own user id, from the `authorizations` Slack sends with each event."""
    for authorization in payload.get("authorizations") or []:
        if authorization.get("is_bot") and authorization.get("user_id"):
            return str(authorization["user_id"])
    return None


def is_from_a_bot(event: Mapping[str, Any], own_user_id: str | None) -> bool:
    """True for the bot's own messages and other bots' (answering them risks a loop)."""
    if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("bot_profile"):
        return True
    return own_user_id is not None and event.get("user") == own_user_id


def strip_mentions(text: str) -> str:
    return " ".join(MENTION.sub(" ", text).split())


def _conversation_id(team: str, channel: str, thread: str | None) -> str:
    return f"slack:{team}:{channel}" + (f":{thread}" if thread else "")


def turn_from_event(payload: Mapping[str, Any]) -> SlackTurn | None:
    """The turn an `event_callback` asks for, or None when the bot should stay silent."""
    event = payload.get("event")
    if not isinstance(event, Mapping):
        return None
    own = bot_user_id(payload)
    if is_from_a_bot(event, own) or event.get("subtype"):
        return None
    kind = event.get("type")
    channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
    if not (isinstance(channel, str) and isinstance(user, str) and isinstance(ts, str)):
        return None
    text = str(event.get("text") or "")
    thread_ts = event.get("thread_ts")
    team = str(payload.get("team_id") or event.get("team") or "")
    thread: str | None
    if kind == "app_mention":
        thread = str(thread_ts or ts)
    elif kind == "message" and event.get("channel_type") == "im":
        thread = str(thread_ts) if thread_ts else None
    elif kind == "message" and thread_ts and own is not None and event.get("parent_user_id") == own:
        if f"<@{own}" in text:
            return None  # the app_mention event of this message answers it
        thread = str(thread_ts)
    else:
        return None
    question = strip_mentions(text)
    if not question:
        return None
    message = Message(
        text=question,
        user_id=f"slack:{user}",
        conversation_id=_conversation_id(team, channel, thread),
        channel="slack",
        metadata={"slack_event_id": str(payload.get("event_id") or "")},
    )
    return SlackTurn(message, SlackTarget(channel=channel, thread_ts=thread))


def turn_from_slash_command(form: Mapping[str, str]) -> SlackTurn | None:
    """`/deskbot how do I ...` asks a question; `/deskbot reset|human|help|feedback good` runs that command."""
    channel, user = form.get("channel_id"), form.get("user_id")
    if not channel or not user:
        return None
    text = " ".join(form.get("text", "").split())
    first = text.split(" ", 1)[0].lower()
    if not text:
        text = "/help"
    elif first in SLASH_SUBCOMMANDS:
        text = "/" + text
    team = form.get("team_id", "")
    message = Message(
        text=text,
        user_id=f"slack:{user}",
        conversation_id=_conversation_id(team, channel, f"user-{user}"),
        channel="slack",
    )
    return SlackTurn(message, SlackTarget(channel=channel, response_url=form.get("response_url") or None))


def turn_from_interaction(payload: Mapping[str, Any]) -> SlackTurn | None:
    """A click on one of the reply's buttons, as the command it stands for, in the reply's conversation."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], Mapping) else {}
    command = BUTTON_COMMANDS.get(str(action.get("action_id", "")))
    user = (payload.get("user") or {}).get("id")
    channel = (payload.get("channel") or {}).get("id")
    posted = payload.get("message") or {}
    if command is None or not user or not channel:
        return None
    thread = posted.get("thread_ts") or posted.get("ts")
    team = (payload.get("team") or {}).get("id", "")
    conversation = str(action.get("value") or _conversation_id(team, channel, thread))
    message = Message(text=command, user_id=f"slack:{user}", conversation_id=conversation, channel="slack")
    return SlackTurn(message, SlackTarget(channel=channel, thread_ts=str(thread) if thread else None))
