"""Parsing bodies routes read themselves, and validation problems that never echo the body."""

import pytest
from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

from adapters.http.payloads import (
    MAX_PROBLEM_CHARS,
    MAX_PROBLEMS,
    first_problem,
    parse_json,
    parse_json_object,
    validation_problems,
)


def test_parse_json_reads_json():
    assert parse_json(b'{"a": [1, 2.5, "\\u00e9"]}') == {"a": [1, 2.5, "é"]}


@pytest.mark.parametrize(
    "body",
    [b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"1e999999", b'{"a": -1e400}', b"1" * 5000, b"[" * 100_000, b"{"],
)
def test_parse_json_refuses_what_json_does_not_have_with_400(body):
    with pytest.raises(HTTPException) as refused:
        parse_json(body)
    assert refused.value.status_code == 400
    assert refused.value.detail.startswith("the body is not valid JSON")


def test_parse_json_object_refuses_other_values():
    with pytest.raises(HTTPException, match="not a JSON object"):
        parse_json_object(b"[1]")


class Many(BaseModel):
    values: list[int]


def test_validation_problems_are_capped_short_and_without_input():
    with pytest.raises(ValidationError) as invalid:
        Many.model_validate({"values": ["x" * 10_000] * 50})
    problems = validation_problems(invalid.value.errors())
    assert len(problems) == MAX_PROBLEMS
    assert all(set(problem) == {"type", "loc", "msg"} for problem in problems)
    assert "xxxx" not in str(problems)


def test_a_location_from_the_body_is_shortened_and_encodable():
    problems = validation_problems([{"type": "extra", "loc": ("body", "\ud800" + "k" * 1000), "msg": "m" * 1000}])
    [problem] = problems
    assert len(problem["loc"][1]) == MAX_PROBLEM_CHARS and len(problem["msg"]) == MAX_PROBLEM_CHARS
    problem["loc"][1].encode("utf-8")


def test_first_problem_is_one_line():
    with pytest.raises(ValidationError) as invalid:
        Many.model_validate({"values": [1, "two"]})
    assert (
        first_problem(invalid.value.errors())
        == "values.1: Input should be a valid integer, unable to parse string as an integer"
    )
