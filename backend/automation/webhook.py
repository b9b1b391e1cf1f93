"""A rule's webhook call: signed with HMAC-SHA256, retried with exponential back-off, bounded.

The receiver checks `X-Supportdesk-Signature: sha256=<hex>` against
HMAC-SHA256(rule secret, f"{X-Supportdesk-Timestamp}.{raw body}") and refuses an old timestamp, so a
captured call cannot be replayed later. Server errors, 429 and network failures are retried; any other 4xx
is the receiver saying no, and retrying would not change its mind.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Supportdesk-Signature"
TIMESTAMP_HEADER = "X-Supportdesk-Timestamp"


class WebhookFailed(Exception):
    """Every try failed (the message says how the last one did)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500 or response.status_code == 429


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    payload: dict[str, Any],
    attempts: int,
    backoff_s: float,
) -> int:
    """POST the payload; returns the number of tries it took. Raises WebhookFailed after the last."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    last = "not tried"
    for attempt in range(1, attempts + 1):
        timestamp = str(int(time.time()))  # signed afresh: a retry is a new, current call
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return attempt
            last = f"HTTP {response.status_code}"
            if not _retryable(response):
                raise WebhookFailed(f"{last} (not retried) after {attempt} tries")
        if attempt < attempts:
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    raise WebhookFailed(f"{last} after {attempts} tries")
