"""A real OTLP/HTTP JSON trace receiver on 127.0.0.1, keeping what the bridge exports."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    attributes: dict[str, object]
    events: list[dict[str, Any]] = field(default_factory=list)
    status_code: int = 0


def _value(v: dict[str, Any]) -> object:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def _attributes(items: list[dict[str, Any]] | None) -> dict[str, object]:
    return {kv["key"]: _value(kv.get("value", {})) for kv in items or []}


def _event(e: dict[str, Any]) -> dict[str, Any]:
    return {"name": e["name"], "attributes": _attributes(e.get("attributes"))}


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self._body()
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    receiver._add(json.loads(body))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("content-length", "0")))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _add(self, request: dict[str, Any]) -> None:
        spans = [
            ReceivedSpan(
                trace_id=s["traceId"].lower(),
                span_id=s["spanId"].lower(),
                parent_span_id=(s.get("parentSpanId") or "").lower(),
                name=s["name"],
                attributes=_attributes(s.get("attributes")),
                events=[_event(e) for e in s.get("events") or []],
                status_code=int(s.get("status", {}).get("code", 0)),
            )
            for rs in request.get("resourceSpans", [])
            for ss in rs.get("scopeSpans", [])
            for s in ss.get("spans") or []
        ]
        with self._lock:
            self.spans.extend(spans)

    def by_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def wait_for(
        self, trace_id: str, done: Callable[[list[ReceivedSpan]], bool], timeout: float = 15.0
    ) -> list[ReceivedSpan]:
        """Polls until ``done`` holds over the trace's spans; fails naming what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.by_trace(trace_id)
            if done(spans):
                return spans
            time.sleep(0.05)
        names = [s.name for s in self.by_trace(trace_id)]
        raise AssertionError(f"trace {trace_id}: condition not met within {timeout}s; spans: {names}")
