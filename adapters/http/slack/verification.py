"""Slack request verification with slack_sdk's `SignatureVerifier` (HMAC-SHA256 over `v0:ts:body`, 5-minute window).

It runs as the first dependency of every Slack route: an unsigned, wrongly signed or stale request gets 401 and
nothing of it is parsed or processed. What passes is a `SignedSlackRequest`: the body and the timestamp it was signed
with, whose `digest` names this one request (a replay of it has the same digest, any other request another).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import HTTPException, Request
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


def is_signed_by_slack(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    try:
        return verifier.is_valid_request(body, dict(headers))
    except ValueError:  # a timestamp that is not a number
        return False


@dataclass(frozen=True)
class SignedSlackRequest:
    body: bytes
    timestamp: str

    @property
    def digest(self) -> str:
        """sha256 of what the signature covers (`v0:timestamp:body`)."""
        return hashlib.sha256(b"v0:" + self.timestamp.encode() + b":" + self.body).hexdigest()


async def verified_slack_request(request: Request) -> SignedSlackRequest:
    """The raw body of a request Slack signed in the last 5 minutes, with its timestamp; 401 otherwise."""
    verifier: SignatureVerifier = request.app.state.slack_verifier
    body = await request.body()
    if not is_signed_by_slack(verifier, body, request.headers):
        log.warning("refused a Slack request with a missing, wrong or stale signature from %s", request.client)
        raise HTTPException(401, "invalid Slack signature")
    return SignedSlackRequest(body, request.headers["X-Slack-Request-Timestamp"])
