"""A run as a context manager (``with bridge.run(...)`` and ``async with abridge.run(...)``)."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from .errors import BridgeError
from .tool_types import (
    ERROR_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    CoreEndRunArgs,
    CoreEndRunResult,
    CoreRecordFailureArgs,
    CoreRecordFailureResult,
    CoreReportUsageArgs,
    CoreReportUsageResult,
    CoreStartRunArgs,
    TokenUsage,
    TraceEntry,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from opentelemetry.context import Context

    from .async_client import AsyncBridge
    from .client import Bridge

log = logging.getLogger("oprelay_bridge")

Status = Literal["completed", "failed", "interrupted"]
Traces = Sequence[TraceEntry | Mapping[str, object]]


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(text: str, limit: int) -> str:
    # a traceback's last lines name the exception: keep those when it is too long
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


class _RunState:
    """What the sync and async runs share: identity, argument building and the exit rule."""

    def __init__(
        self,
        project_key: str,
        agent_id: str,
        summary: str | None,
        meta_json: Mapping[str, object] | None,
        run_id: str | None,
    ) -> None:
        self.project_key = project_key
        self.agent_id = agent_id
        self.id = run_id or str(uuid.uuid4())
        self.trace_id = ""
        self.traceparent = ""
        self.trace_url: str | None = None
        self.ended = False
        self._start: CoreStartRunArgs = {"project_key": project_key, "agent_id": agent_id, "run_id": self.id}
        if summary is not None:
            self._start["summary"] = summary
        if meta_json is not None:
            self._start["meta_json"] = meta_json

    def _started(self, result: Mapping[str, Any]) -> None:
        self.trace_id = str(result["trace_id"])
        self.traceparent = str(result["traceparent"])
        url = result.get("trace_url")
        self.trace_url = url if isinstance(url, str) else None

    def _report_args(
        self, token_usage: TokenUsage | None, traces: Traces | None, idempotency_key: str | None
    ) -> CoreReportUsageArgs:
        args: CoreReportUsageArgs = {"run_id": self.id, "token_usage": token_usage or {}}
        if traces is not None:
            args["traces"] = traces
        if idempotency_key is not None:
            args["idempotency_key"] = idempotency_key
        return args

    def _failure_args(
        self,
        summary: str,
        error: str | None,
        context: Mapping[str, object] | None,
        task_id: str | None,
        meta: Mapping[str, object] | None,
    ) -> CoreRecordFailureArgs:
        args: CoreRecordFailureArgs = {
            "project_key": self.project_key,
            "run_id": self.id,
            "agent_id": self.agent_id,
            "summary": summary,
        }
        if error is not None:
            args["error"] = error
        if context is not None:
            args["context"] = context
        if task_id is not None:
            args["task_id"] = task_id
        if meta is not None:
            args["meta"] = meta
        return args

    def _end_args(
        self,
        status: Status,
        summary: str | None,
        token_usage: TokenUsage | None,
        traces: Traces | None,
        meta_json: Mapping[str, object] | None,
    ) -> CoreEndRunArgs:
        args: CoreEndRunArgs = {"run_id": self.id, "status": status}
        if summary is not None:
            args["summary"] = summary
        if token_usage is not None:
            args["token_usage"] = token_usage
        if traces is not None:
            args["traces"] = traces
        if meta_json is not None:
            args["meta_json"] = meta_json
        return args

    def _exception_failure(self, exc: BaseException) -> CoreRecordFailureArgs:
        kind = type(exc)
        summary = _head(f"{kind.__name__}: {exc}" if str(exc) else kind.__name__, SUMMARY_MAX_CHARS)
        stack = "".join(traceback.format_exception(kind, exc, exc.__traceback__))
        return self._failure_args(
            summary,
            _tail(stack, ERROR_MAX_CHARS),
            {"exception": f"{kind.__module__}.{kind.__qualname__}"},
            None,
            # the traceback does not start with the type's name, so name it for the bridge's error.type
            {"error_type": kind.__name__},
        )

    def otel_context(self) -> AbstractContextManager[Context]:
        """Makes the run's root span the current OpenTelemetry context (needs ``opentelemetry-api``)."""
        from .otel import run_context

        return run_context(self.traceparent)


class Run(_RunState):
    """A started run of a :class:`Bridge`; leaving the ``with`` block ends it."""

    def __init__(
        self,
        bridge: Bridge,
        project_key: str,
        agent_id: str,
        *,
        summary: str | None = None,
        meta_json: Mapping[str, object] | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(project_key, agent_id, summary, meta_json, run_id)
        self._bridge = bridge

    def start(self) -> Run:
        self._started(self._bridge.core_start_run(**self._start))
        return self

    def report(
        self,
        token_usage: TokenUsage | None = None,
        traces: Traces | None = None,
        idempotency_key: str | None = None,
    ) -> CoreReportUsageResult:
        return self._bridge.core_report_usage(**self._report_args(token_usage, traces, idempotency_key))

    def failure(
        self,
        summary: str,
        error: str | None = None,
        context: Mapping[str, object] | None = None,
        task_id: str | None = None,
        meta: Mapping[str, object] | None = None,
    ) -> CoreRecordFailureResult:
        return self._bridge.core_record_failure(**self._failure_args(summary, error, context, task_id, meta))

    def end(
        self,
        status: Status = "completed",
        summary: str | None = None,
        token_usage: TokenUsage | None = None,
        traces: Traces | None = None,
        meta_json: Mapping[str, object] | None = None,
    ) -> CoreEndRunResult:
        result = self._bridge.core_end_run(**self._end_args(status, summary, token_usage, traces, meta_json))
        self.ended = True
        return result

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: TracebackType | None) -> None:
        if self.ended:
            return
        if exc is None:
            self.end("completed")
            return
        try:
            if isinstance(exc, Exception):
                failure = self._exception_failure(exc)
                self._bridge.core_record_failure(**failure)
                self.end("failed", summary=failure["summary"])
            else:
                self.end("interrupted", summary=f"interrupted by {type(exc).__name__}")
        except BridgeError as error:
            # the agent's own exception matters more than the report of it: log, and let it propagate
            log.warning("run %s: could not record its end: %s", self.id, error)


class AsyncRun(_RunState):
    """A started run of an :class:`AsyncBridge`; leaving the ``async with`` block ends it."""

    def __init__(
        self,
        bridge: AsyncBridge,
        project_key: str,
        agent_id: str,
        *,
        summary: str | None = None,
        meta_json: Mapping[str, object] | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(project_key, agent_id, summary, meta_json, run_id)
        self._bridge = bridge

    async def start(self) -> AsyncRun:
        self._started(await self._bridge.core_start_run(**self._start))
        return self

    async def report(
        self,
        token_usage: TokenUsage | None = None,
        traces: Traces | None = None,
        idempotency_key: str | None = None,
    ) -> CoreReportUsageResult:
        return await self._bridge.core_report_usage(**self._report_args(token_usage, traces, idempotency_key))

    async def failure(
        self,
        summary: str,
        error: str | None = None,
        context: Mapping[str, object] | None = None,
        task_id: str | None = None,
        meta: Mapping[str, object] | None = None,
    ) -> CoreRecordFailureResult:
        return await self._bridge.core_record_failure(**self._failure_args(summary, error, context, task_id, meta))

    async def end(
        self,
        status: Status = "completed",
        summary: str | None = None,
        token_usage: TokenUsage | None = None,
        traces: Traces | None = None,
        meta_json: Mapping[str, object] | None = None,
    ) -> CoreEndRunResult:
        result = await self._bridge.core_end_run(**self._end_args(status, summary, token_usage, traces, meta_json))
        self.ended = True
        return result

    async def __aenter__(self) -> AsyncRun:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self.ended:
            return
        if exc is None:
            await self.end("completed")
            return
        try:
            if isinstance(exc, Exception):
                failure = self._exception_failure(exc)
                await self._bridge.core_record_failure(**failure)
                await self.end("failed", summary=failure["summary"])
            else:
                # task cancellation (asyncio.CancelledError), KeyboardInterrupt, SystemExit
                await self.end("interrupted", summary=f"interrupted by {type(exc).__name__}")
        except BridgeError as error:
            log.warning("run %s: could not record its end: %s", self.id, error)
