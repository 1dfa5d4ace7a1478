"""How OpenAI Agents SDK traces and spans read as bridge calls: pure functions, no I/O."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .tool_types import (
    ERROR_MAX_CHARS,
    NAME_MAX_CHARS,
    OPEN_OBJECT_MAX_BYTES,
    SUMMARY_MAX_CHARS,
    TokenUsage,
    TraceEntry,
)

_HEX_ID = re.compile(r"^(?:trace_)?([0-9a-fA-F]{32})$")


def run_id_for(sdk_trace_id: str) -> str:
    """The run's UUID: the SDK's own 128-bit trace id when it has that form, so both ids read alike."""
    match = _HEX_ID.match(sdk_trace_id)
    if match and int(match.group(1), 16) != 0:
        return str(uuid.UUID(match.group(1)))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"openai-agents:{sdk_trace_id}"))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _small_json(value: object) -> object | None:
    """``value`` when it is JSON and small enough for an open object, else None."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        return None
    return json.loads(text) if len(text.encode()) <= OPEN_OBJECT_MAX_BYTES // 2 else None


def start_meta(exported: Mapping[str, Any]) -> dict[str, object]:
    """meta_json of core_start_run from ``Trace.export()``: agent name, session and the SDK's ids."""
    meta: dict[str, object] = {"agent_name": _clip(str(exported.get("workflow_name") or "agent"), NAME_MAX_CHARS)}
    group_id = exported.get("group_id")
    if isinstance(group_id, str) and group_id:
        meta["session_id"] = group_id
    meta["openai_trace_id"] = str(exported.get("id", ""))
    metadata = _small_json(exported.get("metadata"))
    if isinstance(metadata, dict) and metadata:
        meta["metadata"] = metadata
    return meta


@dataclass
class SpanReport:
    """What one finished SDK span becomes."""

    entry: TraceEntry
    #: set for model calls (generation / response spans): reported at once
    usage: TokenUsage | None = None
    #: set for a span that ended with an error: recorded as a failure
    failure: dict[str, Any] | None = None
    #: an agent span's error fails the whole run
    fails_run: bool = False


def _usage_of(data: Any) -> tuple[str | None, Mapping[str, Any]]:
    """Model name and usage dict of a generation or response span."""
    model = getattr(data, "model", None)
    usage = getattr(data, "usage", None)
    response = getattr(data, "response", None)
    if response is not None:
        model = model or getattr(response, "model", None)
        if usage is None and getattr(response, "usage", None) is not None:
            usage = response.usage.model_dump() if hasattr(response.usage, "model_dump") else None
    return (str(model) if model else None), (usage if isinstance(usage, Mapping) else {})


def _token_usage(model: str | None, usage: Mapping[str, Any]) -> TokenUsage:
    out: TokenUsage = {"llm_calls": 1}
    for field in ("input_tokens", "output_tokens", "total_tokens"):
        value = _int(usage.get(field))
        if value is not None:
            out[field] = value
    input_details = usage.get("input_tokens_details")
    cached = _int(input_details.get("cached_tokens")) if isinstance(input_details, Mapping) else None
    if cached:
        out["cache_read_input_tokens"] = cached
    output_details = usage.get("output_tokens_details")
    reasoning = _int(output_details.get("reasoning_tokens")) if isinstance(output_details, Mapping) else None
    if reasoning:
        out["reasoning_output_tokens"] = reasoning
    if model:
        out["model"] = _clip(model, NAME_MAX_CHARS)
    return out


def _step_name(kind: str, data: Any) -> str:
    if kind == "handoff":
        return f"handoff {getattr(data, 'from_agent', None) or '?'} -> {getattr(data, 'to_agent', None) or '?'}"
    name = getattr(data, "name", None)
    return f"{kind} {name}" if name else kind


def span_report(span: Any) -> SpanReport:
    """The trace entry (and usage, failure) for a finished SDK span."""
    data = span.span_data
    kind = str(data.type)
    entry: TraceEntry = {}
    usage: TokenUsage | None = None
    if kind in ("generation", "response"):
        model, raw = _usage_of(data)
        usage = _token_usage(model, raw)
        entry = {"type": "llm"}
        if "model" in usage:
            entry["model"] = usage["model"]
        for field in ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens"):
            if field in usage:
                entry[field] = usage[field]
        if "reasoning_output_tokens" in usage:
            entry["reasoning_output_tokens"] = usage["reasoning_output_tokens"]
    elif kind == "function":
        entry = {"type": "tool", "tool": _clip(str(data.name), NAME_MAX_CHARS)}
    else:
        entry = {"type": kind, "name": _clip(_step_name(kind, data), NAME_MAX_CHARS)}
    if span.started_at:
        entry["started_at"] = span.started_at
    if span.ended_at:
        entry["ended_at"] = span.ended_at
    error = span.error
    if not error:
        entry["status"] = "ok"
        return SpanReport(entry, usage)
    message = str(error.get("message") or "error")
    entry["status"] = "error"
    entry["error"] = _clip(message, ERROR_MAX_CHARS)
    label = entry.get("tool") or entry.get("name") or entry.get("model") or kind
    details = _small_json(error.get("data"))
    failure: dict[str, Any] = {
        "summary": _clip(f"{label}: {message}", SUMMARY_MAX_CHARS),
        "error": _clip(message, ERROR_MAX_CHARS),
        "context": {"span_type": kind, "span_id": str(span.span_id), **({"data": details} if details else {})},
        "meta": {"error_type": f"{kind}_error"},
    }
    return SpanReport(entry, usage, failure, fails_run=kind == "agent")
