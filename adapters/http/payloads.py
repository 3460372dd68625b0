"""Request bodies that cannot become a 500: parsing the bodies routes read themselves, and short validation errors.

Routes that must verify the raw bytes first (Slack, signed webhooks) parse them here: anything that is not JSON is a
400, and so are the values Python's `json` accepts but JSON does not have (`NaN`, `Infinity`, numbers out of the float
range such as `1e999999`), which no response could carry back. Lone surrogate escapes (`"\\ud800"`) parse, and the
pydantic model the body is then validated into refuses them as text that is not Unicode.

A validation error (422) names each problem (where, what) and never echoes the body: no `input`, no `ctx`, at most
`MAX_PROBLEMS` problems with short messages, so the response is small whatever the request and always encodable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException

MAX_PROBLEMS = 10
MAX_PROBLEM_CHARS = 200


class NotJsonValueError(ValueError):
    """A value Python's `json` reads but JSON has no such thing (`NaN`, `Infinity`, a float out of range)."""


def _no_constants(name: str) -> float:
    raise NotJsonValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NotJsonValueError(f"the number {text[:40]} is out of range")
    return number


def parse_json(body: bytes | str) -> Any:
    """The JSON value of `body`; 400 when it is not JSON, or holds NaN, Infinity or a float out of range."""
    try:
        return json.loads(body, parse_constant=_no_constants, parse_float=_finite_float)
    except NotJsonValueError as error:
        raise HTTPException(400, f"the body is not valid JSON: {error}") from error
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # ValueError: also ints too long to read
        raise HTTPException(400, "the body is not valid JSON") from error


def parse_json_object(body: bytes | str) -> dict[str, Any]:
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise HTTPException(400, "the body is not a JSON object")
    return payload


def parse_form(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError) as error:
        raise HTTPException(400, "the body is not a valid form") from error


def quotable(text: str, max_chars: int = MAX_PROBLEM_CHARS) -> str:
    """`text` fit to quote in a response or a log line: at most `max_chars`, lone surrogates replaced by `?`."""
    short = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
    return short.encode("utf-8", "replace").decode("utf-8")


def _location(loc: Iterable[Any]) -> list[str | int]:
    """The path to the problem; a key taken from the body is quoted like any text."""
    return [part if isinstance(part, int) else quotable(str(part)) for part in loc]


def validation_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors without the input they echo: `[{"type", "loc", "msg"}]`, at most `MAX_PROBLEMS`."""
    problems: list[dict[str, Any]] = []
    for error in errors:
        if len(problems) == MAX_PROBLEMS:
            break
        problems.append(
            {
                "type": str(error.get("type", "invalid")),
                "loc": _location(error.get("loc", ())),
                "msg": quotable(str(error.get("msg", ""))),
            }
        )
    return problems


def first_problem(errors: Iterable[Mapping[str, Any]]) -> str:
    """One line for the first problem (`event.user: Input should be a valid string`), for logs and ignore reasons."""
    for problem in validation_problems(errors):
        where = ".".join(str(part) for part in problem["loc"])
        return f"{where}: {problem['msg']}" if where else problem["msg"]
    return "invalid"
