import pytest

from adapters.http.principals import MAX_NAMESPACE_CHARS, Principal
from bot.types import Reply


def test_ids_a_caller_sends_are_inside_its_namespace():
    ci = Principal.api_key("ci")
    message = ci.message("hi", conversation_id="c-1", user_id="slack:U1")
    assert message.conversation_id == "api:ci:c-1" and message.user_id == "api:ci:slack:U1"
    assert message.channel == "api"
    own = ci.own_reply(Reply(text="hello", conversation_id=message.conversation_id))
    assert own.conversation_id == "c-1" and own.text == "hello"


def test_a_turn_without_ids_gets_a_new_conversation_and_the_caller_as_customer():
    ci = Principal.api_key("ci")
    first, second = ci.message("hi"), ci.message("hi")
    assert first.conversation_id.startswith("api:ci:") and first.conversation_id != second.conversation_id
    assert first.user_id == "api:ci" == str(ci)


def test_no_two_callers_share_a_namespace():
    # Without escaping, key "a:b" with conversation "c" and key "a" with conversation "b:c" would both be "api:a:b:c".
    assert Principal.api_key("a:b").scoped("c") != Principal.api_key("a").scoped("b:c")
    assert Principal.api_key("a:b").namespace == "api:a%3Ab:"


def test_an_id_of_another_caller_is_not_its_own():
    with pytest.raises(ValueError, match="not an id of api:ci"):
        Principal.api_key("ci").own_id("api:other:c-1")


def test_principals_are_checked_when_made():
    with pytest.raises(ValueError, match="needs a name"):
        Principal.api_key("")
    with pytest.raises(ValueError, match="plain word"):
        Principal("a:b", "x")
    with pytest.raises(ValueError, match="too long"):
        Principal("k" * MAX_NAMESPACE_CHARS, "x")


def test_a_name_too_long_for_a_namespace_is_stood_for_by_its_digest():
    long_name, other = "x" * 200, "x" * 199 + "y"
    assert len(Principal.api_key(long_name).namespace) <= MAX_NAMESPACE_CHARS
    assert str(Principal.api_key(long_name)).startswith("api:~")
    assert Principal.api_key(long_name).namespace != Principal.api_key(other).namespace
