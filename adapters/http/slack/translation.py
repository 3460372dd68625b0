"""Slack payloads -> engine `Message`s, and where the reply goes. Pure functions over the typed shapes
(`adapters.http.slack.shapes`) the routes validate each verified body into.

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

from adapters.http.slack.shapes import BlockActions, ChatEvent, EventCallback, SlashCommand
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


def bot_user_id(callback: EventCallback) -> str | None:
    """The bot's own user id, from the `authorizations` Slack sends with each event."""
    for authorization in callback.authorizations:
        if authorization.is_bot and authorization.user_id:
            return authorization.user_id
    return None


def is_from_a_bot(event: ChatEvent, own_user_id: str | None) -> bool:
    """True for the bot's own messages and other bots' (answering them risks a loop)."""
    if event.bot_id or event.subtype == "bot_message" or event.bot_profile:
        return True
    return own_user_id is not None and event.user == own_user_id


def strip_mentions(text: str) -> str:
    return " ".join(MENTION.sub(" ", text).split())


def _conversation_id(team: str, channel: str, thread: str | None) -> str:
    return f"slack:{team}:{channel}" + (f":{thread}" if thread else "")


def is_for_the_bot(event: ChatEvent, own_user_id: str | None) -> bool:
    """App mentions, direct messages, and replies in a thread the bot started that do not mention it (the
    app_mention event of such a message answers it)."""
    if event.type == "app_mention" or event.channel_type == "im":
        return True
    in_own_thread = bool(event.thread_ts) and own_user_id is not None and event.parent_user_id == own_user_id
    return in_own_thread and f"<@{own_user_id}" not in (event.text or "")


def reply_thread(event: ChatEvent) -> str | None:
    """The thread the reply goes in: the event's thread, or a new one under a mention; None: top level of a DM."""
    return event.thread_ts or (event.ts if event.type == "app_mention" else None)


def turn_from_event(callback: EventCallback) -> SlackTurn | None:
    """The turn an `event_callback` asks for, or None when the bot should stay silent."""
    event = callback.event
    if not isinstance(event, ChatEvent):
        return None
    own = bot_user_id(callback)
    if is_from_a_bot(event, own) or event.subtype or event.user is None or not is_for_the_bot(event, own):
        return None
    question = strip_mentions(event.text or "")
    if not question:
        return None
    thread = reply_thread(event)
    message = Message(
        text=question,
        user_id=f"slack:{event.user}",
        conversation_id=_conversation_id(callback.team_id or event.team or "", event.channel, thread),
        channel="slack",
        metadata={"slack_event_id": callback.event_id},
    )
    return SlackTurn(message, SlackTarget(channel=event.channel, thread_ts=thread))


def turn_from_slash_command(command: SlashCommand) -> SlackTurn:
    """`/deskbot how do I ...` asks a question; `/deskbot reset|human|help|feedback good` runs that command."""
    text = " ".join(command.text.split())
    first = text.split(" ", 1)[0].lower()
    if not text:
        text = "/help"
    elif first in SLASH_SUBCOMMANDS:
        text = "/" + text
    message = Message(
        text=text,
        user_id=f"slack:{command.user_id}",
        conversation_id=_conversation_id(command.team_id, command.channel_id, f"user-{command.user_id}"),
        channel="slack",
    )
    return SlackTurn(message, SlackTarget(channel=command.channel_id, response_url=command.response_url))


def turn_from_interaction(interaction: BlockActions) -> SlackTurn | None:
    """A click on one of the reply's buttons, as the command it stands for, in the reply's conversation."""
    action = interaction.actions[0]
    command = BUTTON_COMMANDS.get(action.action_id)
    if command is None:
        return None
    channel = interaction.channel.id
    thread = interaction.message.thread_ts or interaction.message.ts
    team = interaction.team.id if interaction.team else ""
    conversation = action.value or _conversation_id(team, channel, thread)
    message = Message(
        text=command, user_id=f"slack:{interaction.user.id}", conversation_id=conversation, channel="slack"
    )
    return SlackTurn(message, SlackTarget(channel=channel, thread_ts=thread))
