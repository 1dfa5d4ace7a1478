"""An httpx transport in front of the real bridge, scripted per request (the Python twin of a proxy)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx


@dataclass
class Step:
    """``forward``: pass to the bridge; ``reply``: answer alone;
    ``forward-then-reply``: the bridge acts on the request, and its answer is lost."""

    kind: str
    status: int = 200
    body: object = None
    retry_after: str | None = None


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    authorization: str | None


@dataclass
class ScriptedTransport(httpx.BaseTransport):
    script: list[Step] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                request.headers.get("idempotency-key"),
                request.headers.get("authorization"),
            )
        )
        step = self.script.pop(0) if self.script else Step("forward")
        if step.kind != "reply":
            response = self.inner.handle_request(request)
            if step.kind == "forward":
                return response
            response.read()
            response.close()
        headers = {"content-type": "application/json"}
        if step.retry_after is not None:
            headers["retry-after"] = step.retry_after
        return httpx.Response(step.status, headers=headers, content=json.dumps(step.body).encode())


BACKPRESSURE = {"error": {"code": "backpressure", "message": "the outbox is full"}}


@dataclass
class AsyncScriptedTransport(httpx.AsyncBaseTransport):
    """The same script for AsyncBridge."""

    script: list[Step] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                request.headers.get("idempotency-key"),
                request.headers.get("authorization"),
            )
        )
        step = self.script.pop(0) if self.script else Step("forward")
        if step.kind == "forward":
            return await self.inner.handle_async_request(request)
        headers = {"content-type": "application/json"}
        if step.retry_after is not None:
            headers["retry-after"] = step.retry_after
        return httpx.Response(step.status, headers=headers, content=json.dumps(step.body).encode())
