"""Wiring: which routes exist under which settings; the adapter is found through the plugin registry."""

from adapters.http import HttpServer
from adapters.http.app import answer_worker, build_context, create_app


def paths(app):
    return set(app.openapi()["paths"])


def test_slack_and_webhook_routes_are_off_without_their_secrets(runtime):
    app = create_app(build_context(runtime.adapter_context()))
    assert {"/v1/chat", "/v1/chat/stream", "/healthz", "/readyz", "/metrics"} <= paths(app)
    assert "/slack/events" not in paths(app)
    assert "/webhooks/incoming" not in paths(app)


def test_slack_routes_are_on_with_a_signing_secret(http_runtime):
    assert {"/slack/events", "/slack/commands", "/slack/interactions"} <= paths(
        create_app(build_context(http_runtime.adapter_context()))
    )


def test_http_adapter_is_an_entry_point(runtime):
    assert isinstance(runtime.adapter("http"), HttpServer)


def test_slack_settings_come_from_the_environment(monkeypatch, tmp_path):
    from bot.config import load_settings

    monkeypatch.setenv("DESKBOT_SLACK__SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("DESKBOT_SLACK__BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("DESKBOT_SLACK__API_URL", "http://127.0.0.1:9999/api/")
    monkeypatch.setenv("DESKBOT_DISCORD__TOKEN", "discord-token")
    settings = load_settings(data_dir=tmp_path)
    assert settings.slack.signing_secret.get_secret_value() == "s3cret"
    assert settings.slack.bot_token.get_secret_value() == "xoxb-1"
    assert settings.slack.api_url == "http://127.0.0.1:9999/api/"
    assert settings.discord.token.get_secret_value() == "discord-token"
    assert "s3cret" not in repr(settings)


def test_a_lease_shorter_than_the_llm_timeout_is_warned_about(runtime, caplog):
    # A job still waiting for the LLM when its lease ends is offered to another worker: answered twice.
    runtime.settings.server.answer_lease_s = 60.0
    runtime.settings.llm.timeout_s = 120.0
    answer_worker(build_context(runtime.adapter_context()))
    assert "answer_lease_s (60s) is not longer than [llm] timeout_s (120s)" in caplog.text


def test_the_default_lease_outlasts_the_default_llm_timeout(runtime, caplog):
    answer_worker(build_context(runtime.adapter_context()))
    assert "answer_lease_s" not in caplog.text
