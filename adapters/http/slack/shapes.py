"""The Slack payloads Deskbot reads, as typed shapes: what is validated at the edge before any of it is used.

Shaped after Slack's documented payloads, holding only the fields the translation reads (others are ignored):
- Events API (`/slack/events`, a JSON body): `url_verification` and `event_callback`, whose `event` is a
  `ChatEvent` for `message` and `app_mention` and an `OtherEvent` (its type only) for every other event type;
- slash commands (`/slack/commands`, a form);
- interactivity (`/slack/interactions`, a form whose `payload` field is JSON): `block_actions`, the reply's buttons.

`read_events`, `read_slash_command` and `read_interaction` turn a verified body into its shape. A body that is not
JSON (or not a form) is a 400 (`adapters.http.payloads`); a body that parses but is not the shape Slack documents (a
list where an object belongs, a field of the wrong type, a missing field, a payload or interaction type Deskbot does
not handle) raises `UnexpectedPayloadError`, which the app answers with 200 and the reason, so Slack does not retry it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, ValidationError

from adapters.http.payloads import first_problem, parse_form, parse_json, quotable

CHAT_EVENT_TYPES = ("message", "app_mention")


class UnexpectedPayloadError(Exception):
    """A verified Slack payload Deskbot does not handle; `reason` says why, without echoing the payload."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SlackShape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _web_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http(s) URL")
    return url


WebUrl = Annotated[str, AfterValidator(_web_url)]
BlankIsNone = BeforeValidator(_blank_is_none)  # a form sends every field: an empty one stands for none
MAX_ID_CHARS = 60  # Slack's ids are about a dozen characters; a conversation id built of three stays within 200
SlackId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
OptionalId = Annotated[str, Field(max_length=MAX_ID_CHARS)]


class Authorization(SlackShape):
    """One installation the event is for; the bot's own user id comes from here."""

    user_id: str | None = None
    is_bot: bool = False


class ChatEvent(SlackShape):
    """A `message` or `app_mention` event. Subtypes (edits, joins, bot messages) arrive as `message` too."""

    type: Literal["message", "app_mention"]
    channel: SlackId
    ts: SlackId
    user: SlackId | None = None
    text: str | None = None
    thread_ts: OptionalId | None = None
    channel_type: str | None = None
    subtype: str | None = None
    bot_id: str | None = None
    bot_profile: dict[str, Any] | None = None
    parent_user_id: str | None = None
    team: OptionalId | None = None


class OtherEvent(SlackShape):
    """Any other event type (`reaction_added`, `team_join`, ...): Deskbot only needs to know which."""

    type: str


def _event_kind(event: Any) -> str | None:
    """The union member an event is validated as, named by its type (so a problem reads `event.app_mention.text`)."""
    if not isinstance(event, dict):
        return None
    kind = event.get("type")
    return kind if kind in CHAT_EVENT_TYPES else "other"


AnyEvent = Annotated[
    Annotated[ChatEvent, Tag("message")]
    | Annotated[ChatEvent, Tag("app_mention")]
    | Annotated[OtherEvent, Tag("other")],
    Discriminator(
        _event_kind, custom_error_type="event_not_an_object", custom_error_message="Input should be an object"
    ),
]


class EventCallback(SlackShape):
    type: Literal["event_callback"]
    event_id: Annotated[str, Field(min_length=1, max_length=200)]
    event: AnyEvent
    team_id: OptionalId = ""
    authorizations: list[Authorization] = []


class UrlVerification(SlackShape):
    """Slack's handshake when the Request URL is saved: the answer echoes `challenge`."""

    type: Literal["url_verification"]
    challenge: Annotated[str, Field(max_length=200)]


class SlashCommand(SlackShape):
    channel_id: SlackId
    user_id: SlackId
    team_id: OptionalId = ""
    command: str = ""
    text: str = ""
    response_url: Annotated[WebUrl | None, BlankIsNone] = None
    trigger_id: Annotated[str, Field(max_length=200)] | None = None


class Reference(SlackShape):
    """`{"id": ...}`: the user, channel or team of an interaction."""

    id: SlackId


class Action(SlackShape):
    action_id: str
    value: Annotated[str, Field(max_length=200)] | None = None  # Deskbot's buttons carry the conversation id


class ActedOnMessage(SlackShape):
    """The message whose button was clicked: its thread is where the command's answer goes."""

    ts: OptionalId | None = None
    thread_ts: OptionalId | None = None


class BlockActions(SlackShape):
    type: Literal["block_actions"]
    user: Reference
    channel: Reference
    actions: Annotated[list[Action], Field(min_length=1)]
    team: Reference | None = None
    message: ActedOnMessage = ActedOnMessage()
    trigger_id: Annotated[str, Field(max_length=200)] | None = None


Shape = TypeVar("Shape", bound=SlackShape)


def _validated(shape: type[Shape], value: Any, what: str) -> Shape:
    try:
        return shape.model_validate(value)
    except ValidationError as error:
        raise UnexpectedPayloadError(f"unexpected {what}: {first_problem(error.errors())}") from error


def _kind_of(value: Any) -> str:
    """The `type` of a JSON object, quoted for a reason line (`'reaction_added'`, or `a list` when it is no text)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if isinstance(kind, str):
        return repr(quotable(kind, 60))
    return "missing" if kind is None else f"a {type(kind).__name__}"


def read_events(body: bytes) -> EventCallback | UrlVerification:
    """An Events API request body."""
    payload = parse_json(body)
    kind = payload.get("type") if isinstance(payload, dict) else None
    if kind == "url_verification":
        return _validated(UrlVerification, payload, "url_verification")
    if kind == "event_callback":
        return _validated(EventCallback, payload, "event_callback")
    if not isinstance(payload, dict):
        raise UnexpectedPayloadError("unexpected payload: not a JSON object")
    raise UnexpectedPayloadError(f"payload type {_kind_of(payload)}")


def read_slash_command(body: bytes) -> SlashCommand:
    """A slash command's form."""
    return _validated(SlashCommand, parse_form(body), "slash command")


def read_interaction(body: bytes) -> BlockActions:
    """An interactivity request: a form whose `payload` field holds the JSON."""
    form = parse_form(body)
    if "payload" not in form:
        raise UnexpectedPayloadError("interaction without payload")
    payload = parse_json(form["payload"])
    if isinstance(payload, dict) and payload.get("type") == "block_actions":
        return _validated(BlockActions, payload, "block_actions")
    if not isinstance(payload, dict):
        raise UnexpectedPayloadError("unexpected interaction: not a JSON object")
    raise UnexpectedPayloadError(f"interaction type {_kind_of(payload)}")
