"""Slack request verification with slack_sdk's `SignatureVerifier` (HMAC-SHA256 over `v0:ts:body`, 5-minute window).

It runs as the first dependency of every Slack route: an unsigned, wrongly signed or stale request gets 401 and
nothing of it is parsed or processed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import HTTPException, Request
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


def is_signed_by_slack(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    try:
        return verifier.is_valid_request(body, dict(headers))
    except ValueError:  # a timestamp that is not a number
        return False


async def verified_slack_body(request: Request) -> bytes:
    """The raw body of a request Slack signed in the last 5 minutes; 401 otherwise."""
    verifier: SignatureVerifier = request.app.state.slack_verifier
    body = await request.body()
    if not is_signed_by_slack(verifier, body, request.headers):
        log.warning("refused a Slack request with a missing, wrong or stale signature from %s", request.client)
        raise HTTPException(401, "invalid Slack signature")
    return body
