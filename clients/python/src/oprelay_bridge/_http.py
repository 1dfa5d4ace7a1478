"""What the sync and async clients share: request shape, error decoding and the retry rule."""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import BridgeError

DEFAULT_URL = "http://127.0.0.1:8787"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries after the first attempt, with exponential backoff that a Retry-After answer can lengthen."""

    max_retries: int = 4
    base_delay: float = 0.2
    max_delay: float = 30.0

    def delay(self, attempt: int, error: BridgeError) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        backoff: float = self.base_delay * 2**attempt * (0.5 + random.random() / 2)
        return min(self.max_delay, max(backoff, error.retry_after or 0.0))

    def should_retry(self, attempt: int, error: BridgeError) -> bool:
        return attempt < self.max_retries and is_retryable(error)


def is_retryable(error: BridgeError) -> bool:
    """503 (backpressure, draining, proxies), per-key rate limits and lost connections; never a spent budget."""
    return error.status in (0, 503) or (error.status == 429 and error.code == "rate_limited")


def retry_after_seconds(header: str | None) -> float | None:
    """Retry-After as seconds, from either of its forms (delta-seconds or an HTTP date)."""
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            at = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        return max(0.0, at.timestamp() - time.time())
    return seconds if seconds >= 0 else None


def base_url(url: str | None) -> str:
    """The bridge's URL: the argument, else ``OPRELAY_URL``, else the bridge's default address."""
    return (url or os.environ.get("OPRELAY_URL") or DEFAULT_URL).rstrip("/")


def auth_headers(api_key: str | None) -> dict[str, str]:
    """``Authorization`` for the argument's key, else ``OPRELAY_API_KEY``'s; none on a keyless bridge."""
    key = api_key if api_key is not None else os.environ.get("OPRELAY_API_KEY")
    return {"authorization": f"Bearer {key}"} if key else {}


def tool_request(tool: str, args: Mapping[str, object]) -> tuple[str, dict[str, object], dict[str, str]]:
    """Path, body and headers of a tool call; one Idempotency-Key per call makes every retry of it safe."""
    body = dict(args)
    if tool == "core_start_run" and body.get("run_id") is None:
        body["run_id"] = str(uuid.uuid4())
    return f"/v1/tools/{tool}", body, {"idempotency-key": str(uuid.uuid4())}


def connection_error(base_url: str, error: Exception) -> BridgeError:
    return BridgeError("connection_failed", f"cannot reach {base_url}: {type(error).__name__}: {error}", 0)


def decode(response: httpx.Response) -> Any:
    """The answer's JSON, or the BridgeError it carries."""
    if response.is_success:
        try:
            return response.json()
        except ValueError:
            raise BridgeError(
                "invalid_response", f"HTTP {response.status_code}: the answer is not JSON", response.status_code
            ) from None
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str):
        details = error.get("details")
        return_details = details if isinstance(details, list) else None
        raise BridgeError(error["code"], error["message"], response.status_code, return_details, retry_after)
    text = response.text[:200] or response.reason_phrase
    status = response.status_code
    raise BridgeError("invalid_response", f"HTTP {status}: {text}", status, None, retry_after)


def result_of(answer: Any, tool: str) -> dict[str, Any]:
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, dict):
        raise BridgeError("invalid_response", f"{tool}: the answer has no result object", 200)
    return result


def list_params(filters: Mapping[str, object]) -> dict[str, str]:
    """GET /v1/runs query parameters; None values are left out."""
    return {key: str(value) for key, value in filters.items() if value is not None}
