"""Widget keys in the store: created with normalized origins, found until revoked or expired, sessions signed per key,
and the per-session and per-day counts shared through the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.http.widget_keys import KEYS as WIDGET_KEYS_TABLE
from adapters.http.widget_keys import (
    WidgetKeyError,
    WidgetKeys,
    WidgetLimitError,
    normalized_origin,
    seconds_to_midnight,
)
from bot.store.database import Database


@pytest.fixture
def keys(tmp_path) -> WidgetKeys:
    return WidgetKeys(Database(f"sqlite:///{tmp_path / 'keys.sqlite'}"))


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Help.Example.com", "https://help.example.com"),
        ("https://help.example.com/", "https://help.example.com"),
        ("https://help.example.com:443", "https://help.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(given, origin):
    assert normalized_origin(given) == origin


@pytest.mark.parametrize(
    "bad", ["help.example.com", "ftp://help.example.com", "https://help.example.com/faq", "https://", "https://a:99999"]
)
def test_an_origin_that_is_not_scheme_and_host_is_refused(bad):
    with pytest.raises(WidgetKeyError):
        normalized_origin(bad)


def test_a_key_is_found_until_revoked(keys):
    key = keys.create("site", ["https://a.example", "https://b.example"], per_session=2, per_day=3)
    assert key.startswith("dsw_")
    info = keys.find(key)
    assert info is not None
    assert (info.name, info.origins, info.per_session, info.per_day) == (
        "site",
        ("https://a.example", "https://b.example"),
        2,
        3,
    )
    assert info.allows("https://a.example") and not info.allows("https://c.example") and not info.allows(None)
    keys.revoke("site")
    assert keys.find(key) is None
    assert [item.active for item in keys.list()] == [False]


def test_bad_names_limits_duplicates_and_unknown_keys_are_clear_errors(keys):
    with pytest.raises(WidgetKeyError, match="name"):
        keys.create("a b", ["https://a.example"])
    with pytest.raises(WidgetKeyError, match="--origin"):
        keys.create("site", [])
    with pytest.raises(WidgetKeyError, match="at least 1"):
        keys.create("site", ["https://a.example"], per_day=0)
    keys.create("site", ["https://a.example"])
    with pytest.raises(WidgetKeyError, match="already exists"):
        keys.create("site", ["https://a.example"])
    with pytest.raises(WidgetKeyError, match="no widget key named"):
        keys.revoke("other")
    assert keys.find("dsw_unknown") is None
    assert keys.find("dsk_an-api-key") is None


def test_a_session_is_accepted_only_by_the_key_that_signed_it(keys):
    first = keys.find(keys.create("first", ["https://a.example"]))
    second = keys.find(keys.create("second", ["https://a.example"]))
    assert first is not None and second is not None
    token = WidgetKeys.mint_session(first)
    session = WidgetKeys.session_id(first, token)
    assert session is not None and token.startswith(session + ".")
    assert WidgetKeys.session_id(second, token) is None
    assert WidgetKeys.session_id(first, "chosen-by-the-browser." + token.split(".")[1]) is None
    assert WidgetKeys.session_id(first, session) is None
    assert WidgetKeys.mint_session(first) != token


def test_limits_per_session_and_per_day_start_again_the_next_day(keys, tmp_path):
    info = keys.find(keys.create("site", ["https://a.example"], per_session=2, per_day=3))
    assert info is not None
    morning = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    keys.admit(info, "s1", morning)
    keys.admit(info, "s1", morning)
    with pytest.raises(WidgetLimitError, match="session") as over:
        keys.admit(info, "s1", morning)
    assert over.value.retry_after_s == 15 * 3600 + 1
    keys.admit(info, "s2", morning)
    with pytest.raises(WidgetLimitError, match="site"):
        keys.admit(info, "s3", morning)
    keys.admit(info, "s1", datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC))
    # Another process (its own Database on the same file) sees the same counts.
    other = WidgetKeys(Database(f"sqlite:///{tmp_path / 'keys.sqlite'}"))
    with pytest.raises(WidgetLimitError):
        other.admit(info, "s4", morning)


def test_a_key_that_expires_is_found_until_it_expires(keys):
    key = keys.create("campaign", ["https://a.example"], expires_in_days=30)
    info = keys.find(key)
    assert info is not None and info.expires_at is not None and info.active
    assert timedelta(days=29) < info.expires_at - datetime.now(UTC) <= timedelta(days=30)
    assert info.expired(now=datetime.now(UTC) + timedelta(days=31))
    with keys._database.transaction("age the key") as connection:
        yesterday = datetime.now(UTC) - timedelta(days=1)
        connection.execute(WIDGET_KEYS_TABLE.update().values(expires_at=yesterday))
    assert keys.find(key) is None
    assert [item.active for item in keys.list()] == [False]
    lasting = keys.create("forever", ["https://a.example"])
    assert (found := keys.find(lasting)) is not None and found.expires_at is None


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_an_expiry_out_of_range_is_refused(keys, days):
    with pytest.raises(WidgetKeyError, match="--expires-in-days"):
        keys.create("site", ["https://a.example"], expires_in_days=days)


def test_seconds_to_midnight_is_at_least_one():
    assert seconds_to_midnight(datetime(2026, 12, 1, 23, 59, 59, 999_000, tzinfo=UTC)) == 1


def test_the_keys_commands_create_list_and_revoke_widget_keys(tmp_path):
    from tests.deskbot_process import run_deskbot

    env = {"DESKBOT_STORE__URL": f"sqlite:///{tmp_path / 'cli.sqlite'}"}
    created = run_deskbot(
        "keys", "create-widget", "site", "--origin", "https://A.example/", "--per-day", "9", cwd=tmp_path, env=env
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("dsw_") and f'data-key="{key}"' in created.stderr
    listed = run_deskbot("keys", "list-widget", cwd=tmp_path, env=env)
    assert listed.stdout.split()[:4] == ["site", key, "https://a.example", "50/session/day,"]
    expiring = run_deskbot(
        "keys",
        "create-widget",
        "spring",
        "--origin",
        "https://a.example",
        "--expires-in-days",
        "7",
        cwd=tmp_path,
        env=env,
    )
    assert expiring.returncode == 0, expiring.stderr
    assert "active until" in run_deskbot("keys", "list-widget", cwd=tmp_path, env=env).stdout
    bad = run_deskbot("keys", "create-widget", "other", "--origin", "a.example", cwd=tmp_path, env=env)
    assert bad.returncode != 0 and "an origin is a scheme and a host" in bad.stderr and "Traceback" not in bad.stderr
    assert run_deskbot("keys", "create-widget", "other", cwd=tmp_path, env=env).returncode != 0, "--origin is required"
    assert run_deskbot("keys", "revoke-widget", "site", cwd=tmp_path, env=env).returncode == 0
    assert "revoked" in run_deskbot("keys", "list-widget", cwd=tmp_path, env=env).stdout
    unknown = run_deskbot("keys", "revoke-widget", "nobody", cwd=tmp_path, env=env)
    assert unknown.returncode != 0 and "no widget key named 'nobody'" in unknown.stderr
