"""AsyncBridge: the same calls and retry rule as Bridge, as coroutines."""

from __future__ import annotations

import pytest
from conftest import AGENT_ID, BridgeProcess
from scripted_transport import BACKPRESSURE, AsyncScriptedTransport, Step

from oprelay_bridge import AsyncBridge, BridgeError


async def test_seed_flow_and_listing(bridge: BridgeProcess) -> None:
    async with AsyncBridge(bridge.url) as client:
        started = await client.core_start_run(project_key="py-async-seed", agent_id=AGENT_ID, summary="async")
        run_id = started["run_id"]
        await client.core_report_usage(run_id=run_id, token_usage={"input_tokens": 40, "output_tokens": 2})
        ended = await client.call("core_end_run", {"run_id": run_id, "status": "completed"})
        assert ended["totals"]["total_tokens"] == 42
        page = await client.list_runs(project_key="py-async-seed")
        assert [r["run_id"] for r in page["runs"]] == [run_id]
        assert (await client.get_run(run_id))["status"] == "completed"


async def test_retries_503_with_one_idempotency_key_and_never_budget_exceeded(bridge: BridgeProcess) -> None:
    transport = AsyncScriptedTransport(script=[Step("reply", 503, BACKPRESSURE, retry_after="1")])
    waits: list[float] = []

    async def record_wait(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncBridge(bridge.url, transport=transport, retry_base_delay=0.01) as client:
        client.sleep = record_wait
        started = await client.core_start_run(project_key="py-async-retry", agent_id=AGENT_ID)
        assert waits == [1.0]
        first, second = transport.seen
        assert first.idempotency_key is not None
        assert first.idempotency_key == second.idempotency_key
        page = await client.list_runs(project_key="py-async-retry")
        assert [r["run_id"] for r in page["runs"]] == [started["run_id"]]

        transport.seen.clear()
        transport.script = [Step("reply", 429, {"error": {"code": "budget_exceeded", "message": "over budget"}})]
        with pytest.raises(BridgeError) as raised:
            await client.record_run(project_key="py-async-retry", agent="a", summary="over budget")
        assert (raised.value.code, raised.value.status) == ("budget_exceeded", 429)
        assert len(transport.seen) == 1
