"""OpenAI Agents SDK integration: every SDK trace becomes a bridge run.

    from agents import add_trace_processor
    from oprelay_bridge import Bridge
    from oprelay_bridge.openai_agents import OprelayTracingProcessor

    add_trace_processor(OprelayTracingProcessor(Bridge(), project_key="support", agent_id=AGENT_ID))

The processor never blocks or breaks the agent: the SDK's callbacks only put the trace or span on a
bounded queue, one background thread makes the bridge calls, and bridge errors are logged and dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .client import Bridge
from .tool_types import TRACES_MAX_ENTRIES, TraceEntry

try:
    from agents.tracing import Span, Trace, TracingProcessor
except ImportError as missing:  # pragma: no cover - exercised only without the optional dependency
    raise ImportError(
        "oprelay_bridge.openai_agents needs openai-agents: pip install openai-agents"
        " (or, from the repository, pip install './clients/python[openai-agents]')"
    ) from missing

from ._agents_spans import run_id_for, span_report, start_meta

log = logging.getLogger("oprelay_bridge.openai_agents")

_Event = tuple[Literal["trace_start", "trace_end"], Trace] | tuple[Literal["span_end"], "Span[Any]"]


@dataclass
class _RunProgress:
    """Per SDK trace, kept by the worker thread alone."""

    run_id: str
    #: steps (tool calls, agents, handoffs) ride along with the next usage report or the end call
    entries: list[TraceEntry] = field(default_factory=list)
    failed: bool = False


class OprelayTracingProcessor(TracingProcessor):
    """Turns SDK traces into runs: generation/response spans into usage reports with ``chat {model}``
    entries, function spans into ``execute_tool {name}`` entries, agent and handoff spans into steps,
    span errors into failures, and the trace's end into ``core_end_run``.

    A run ends ``failed`` when an agent span ended with an error (the SDK sets one when a run
    raises), else ``completed``; a failed tool call alone is recorded as a failure of a completed run.
    """

    def __init__(self, bridge: Bridge, *, project_key: str, agent_id: str, max_queue: int = 10_000) -> None:
        self.bridge = bridge
        self.project_key = project_key
        self.agent_id = agent_id
        #: events dropped because the queue was full (the bridge was slower than the agent for too long)
        self.dropped = 0
        #: bridge calls that failed and were dropped
        self.errors = 0
        self._queue: queue.Queue[_Event | None] = queue.Queue(maxsize=max_queue)
        self._pending = 0
        self._idle = threading.Condition()
        self._runs: dict[str, _RunProgress] = {}
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="oprelay-agents-processor", daemon=True)
        self._worker.start()

    # --- the SDK's callbacks: enqueue only, never raise ---

    def on_trace_start(self, trace: Trace) -> None:
        self._put(("trace_start", trace))

    def on_trace_end(self, trace: Trace) -> None:
        self._put(("trace_end", trace))

    def on_span_start(self, span: Span[Any]) -> None:
        pass

    def on_span_end(self, span: Span[Any]) -> None:
        self._put(("span_end", span))

    def force_flush(self) -> None:
        self.flush()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Waits until every queued event was sent (or dropped); False when ``timeout`` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def shutdown(self, timeout: float | None = 30.0) -> None:
        """Sends what is queued (up to ``timeout``), then stops the worker; later events are ignored."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            return
        self._worker.join(timeout)

    def _put(self, event: _Event) -> None:
        if self._closed:
            return
        try:
            with self._idle:
                self._queue.put_nowait(event)
                self._pending += 1
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("oprelay: queue full, %d events dropped so far", self.dropped)
        except Exception:  # the agent's path must never see our failure
            log.exception("oprelay: could not queue an event")

    # --- the worker thread ---

    def _work(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self._handle(event)
            except Exception as error:  # a bridge error or a span we could not read: log and drop
                self.errors += 1
                log.warning("oprelay: %s dropped: %s", event[0], error)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _handle(self, event: _Event) -> None:
        if event[0] == "trace_start":
            self._start(event[1])
        elif event[0] == "trace_end":
            self._end(event[1])
        else:
            self._span(event[1])

    def _start(self, trace: Trace) -> None:
        exported = trace.export() or {"id": trace.trace_id, "workflow_name": trace.name}
        progress = _RunProgress(run_id_for(trace.trace_id))
        self._runs[trace.trace_id] = progress
        self.bridge.core_start_run(
            project_key=self.project_key,
            agent_id=self.agent_id,
            run_id=progress.run_id,
            summary=trace.name,
            meta_json=start_meta(exported),
        )

    def _span(self, span: Span[Any]) -> None:
        progress = self._runs.get(span.trace_id)
        if progress is None:
            return  # its trace started before this processor was registered
        report = span_report(span)
        progress.failed = progress.failed or report.fails_run
        if report.failure is not None:
            self.bridge.core_record_failure(
                project_key=self.project_key, run_id=progress.run_id, agent_id=self.agent_id, **report.failure
            )
        if report.usage is None:
            progress.entries.append(report.entry)
            if len(progress.entries) < TRACES_MAX_ENTRIES:
                return
        entries = [*progress.entries, report.entry] if report.usage is not None else progress.entries
        progress.entries = []
        self.bridge.core_report_usage(run_id=progress.run_id, token_usage=report.usage or {}, traces=entries)

    def _end(self, trace: Trace) -> None:
        progress = self._runs.pop(trace.trace_id, None)
        if progress is None:
            return
        self.bridge.core_end_run(
            run_id=progress.run_id,
            status="failed" if progress.failed else "completed",
            traces=progress.entries,
        )
