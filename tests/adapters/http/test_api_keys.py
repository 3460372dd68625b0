import pytest

from adapters.http.api_keys import ApiKeyError, ApiKeys
from bot.store.database import Database


@pytest.fixture
def keys(tmp_path):
    return ApiKeys(Database(f"sqlite:///{tmp_path / 'db.sqlite'}"))


def test_created_key_verifies_and_is_not_stored_in_clear(keys, tmp_path):
    key = keys.create("ci")
    assert key.startswith("dsk_")
    assert keys.verify(key) == "ci"
    assert key.encode() not in (tmp_path / "db.sqlite").read_bytes()


def test_unknown_and_revoked_keys_fail(keys):
    key = keys.create("ci")
    assert keys.verify("dsk_nope") is None
    assert keys.verify("not-a-key") is None
    keys.revoke("ci")
    assert keys.verify(key) is None
    [info] = keys.list()
    assert info.name == "ci" and not info.active


def test_duplicate_and_unknown_names_are_clear_errors(keys):
    keys.create("ci")
    with pytest.raises(ApiKeyError, match="already exists"):
        keys.create("ci")
    with pytest.raises(ApiKeyError, match="no API key named"):
        keys.revoke("other")


@pytest.mark.parametrize("name", ["", "a:b", "two words", "-dash-first", "x" * 65])
def test_a_key_name_is_a_short_plain_word(keys, name):
    with pytest.raises(ApiKeyError, match="1-64 letters, digits"):
        keys.create(name)
    assert keys.create("web-site_2.0") and keys.create("x" * 64)
