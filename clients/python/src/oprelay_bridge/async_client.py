"""``AsyncBridge``: the asyncio client, the same methods as ``Bridge`` as coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import httpx

from ._http import (
    RetryPolicy,
    auth_headers,
    base_url,
    connection_error,
    decode,
    list_params,
    result_of,
    tool_request,
)
from .errors import BridgeError
from .run import AsyncRun
from .run_list import RunFilters, RunPage
from .tool_types import (
    CoreEndRunArgs,
    CoreEndRunResult,
    CoreRecordFailureArgs,
    CoreRecordFailureResult,
    CoreReportUsageArgs,
    CoreReportUsageResult,
    CoreStartRunArgs,
    CoreStartRunResult,
    RecordRunArgs,
    RecordRunResult,
    RunView,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack


class AsyncBridge:
    """An asyncio client for the bridge's HTTP JSON API.

    Every tool call carries its own ``Idempotency-Key``, so a retried call is never counted twice;
    429 ``rate_limited``, 503 and lost connections are retried (honouring ``Retry-After``),
    ``budget_exceeded`` never is. Failures raise :class:`BridgeError`.

    ``url`` defaults to ``OPRELAY_URL``, else http://127.0.0.1:8787; ``api_key`` to ``OPRELAY_API_KEY``.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        max_retries: int = 4,
        retry_base_delay: float = 0.2,
        max_retry_delay: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url(url)
        self.retry = RetryPolicy(max_retries, retry_base_delay, max_retry_delay)
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=timeout, transport=transport, headers=auth_headers(api_key)
        )
        # the wait between attempts; replaceable so retry tests need not sleep
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncBridge:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, **request: Any) -> Any:
        attempt = 0
        while True:
            try:
                try:
                    response = await self._http.request(method, path, **request)
                except httpx.TransportError as error:
                    raise connection_error(self.url, error) from error
                return decode(response)
            except BridgeError as error:
                if not self.retry.should_retry(attempt, error):
                    raise
                await self.sleep(self.retry.delay(attempt, error))
                attempt += 1

    async def call(self, tool: str, args: Mapping[str, object]) -> dict[str, Any]:
        """Calls a tool by name (the shape of ``oprelay.call(name, args)``) and returns its ``result``."""
        path, body, headers = tool_request(tool, args)
        return result_of(await self._send("POST", path, json=body, headers=headers), tool)

    async def core_start_run(self, **args: Unpack[CoreStartRunArgs]) -> CoreStartRunResult:
        """Begins a run; ``run_id`` is generated when absent."""
        return cast("CoreStartRunResult", await self.call("core_start_run", args))

    async def core_report_usage(self, **args: Unpack[CoreReportUsageArgs]) -> CoreReportUsageResult:
        """Adds token usage (and trace entries) to a run's totals."""
        return cast("CoreReportUsageResult", await self.call("core_report_usage", args))

    async def core_end_run(self, **args: Unpack[CoreEndRunArgs]) -> CoreEndRunResult:
        """Closes a run; ``token_usage`` here is the run's final totals."""
        return cast("CoreEndRunResult", await self.call("core_end_run", args))

    async def core_record_failure(self, **args: Unpack[CoreRecordFailureArgs]) -> CoreRecordFailureResult:
        """Records a failure linked to a run."""
        return cast("CoreRecordFailureResult", await self.call("core_record_failure", args))

    async def record_run(self, **args: Unpack[RecordRunArgs]) -> RecordRunResult:
        """Records a complete run in one call (the v1 audit entry)."""
        return cast("RecordRunResult", await self.call("record_run", args))

    async def get_run(self, run_id: str) -> RunView:
        """Status, totals, timestamps and trace identity of one run."""
        return cast("RunView", await self._send("GET", f"/v1/runs/{quote(run_id, safe='')}"))

    async def list_runs(self, **filters: Unpack[RunFilters]) -> RunPage:
        """One page of runs, newest first; pass ``cursor=page["next_cursor"]`` for the next."""
        return cast("RunPage", await self._send("GET", "/v1/runs", params=list_params(filters)))

    def run(
        self,
        project_key: str,
        agent_id: str,
        summary: str | None = None,
        meta_json: Mapping[str, object] | None = None,
        run_id: str | None = None,
    ) -> AsyncRun:
        """A run as an async context manager: started on entry; on exit ended completed, failed or interrupted."""
        return AsyncRun(self, project_key, agent_id, summary=summary, meta_json=meta_json, run_id=run_id)
