"""Signature checks run before anything else: a refused request is not parsed, stored or answered."""

import time

from slack_sdk.signature import SignatureVerifier

from adapters.http.slack.verification import is_signed_by_slack
from tests.adapters.http.conftest import SIGNING_SECRET, answered, fixture, json_body, slack_headers


def test_is_signed_by_slack_uses_slack_sdk_scheme():
    verifier = SignatureVerifier(SIGNING_SECRET)
    body = b'{"type":"url_verification"}'
    assert is_signed_by_slack(verifier, body, slack_headers(body))
    assert not is_signed_by_slack(verifier, body + b" ", slack_headers(body))
    assert not is_signed_by_slack(verifier, body, slack_headers(body, secret="another-secret"))
    assert not is_signed_by_slack(verifier, body, {})
    assert not is_signed_by_slack(verifier, body, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=1"})


async def test_missing_signature_is_401_and_nothing_is_processed(app_client, context, fake_slack):
    body = json_body(fixture("slack_app_mention.json"))
    response = await app_client.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert context.deliveries.waiting() == 0, "a refused event must not be queued"
    await answered(context, 5)
    assert fake_slack.calls == []


async def test_wrong_signature_is_401(app_client, fake_slack):
    body = json_body(fixture("slack_app_mention.json"))
    headers = {"Content-Type": "application/json", **slack_headers(body, secret="not-the-secret")}
    response = await app_client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401


async def test_stale_timestamp_is_401(app_client, context, fake_slack):
    body = json_body(fixture("slack_app_mention.json"))
    six_minutes_ago = int(time.time()) - 6 * 60
    headers = {"Content-Type": "application/json", **slack_headers(body, timestamp=six_minutes_ago)}
    response = await app_client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    await answered(context, 5)
    assert fake_slack.calls == []


async def test_unsigned_commands_and_interactions_are_401(app_client):
    for path in ("/slack/commands", "/slack/interactions"):
        response = await app_client.post(
            path, content=b"text=hi", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 401
