"""Signed webhooks, both directions: header `X-Deskbot-Timestamp: <unix seconds>` and
`X-Deskbot-Signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<body>" with [webhooks] secret>`; a timestamp more than
5 minutes away is refused, like Slack's."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

REPLAY_WINDOW_S = 300
TIMESTAMP_HEADER = "X-Deskbot-Timestamp"
SIGNATURE_HEADER = "X-Deskbot-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signature_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def is_signed(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> bool:
    timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > REPLAY_WINDOW_S:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
