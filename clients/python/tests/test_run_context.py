"""``with bridge.run(...)`` and ``async with`` against a real bridge: how each way out of the block ends the run."""

from __future__ import annotations

import asyncio

import pytest
from conftest import AGENT_ID, BridgeProcess
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from oprelay_bridge import AsyncBridge, Bridge, BridgeError


class DeployError(Exception):
    pass


def test_leaving_normally_completes_with_reported_usage(bridge: BridgeProcess) -> None:
    client = Bridge(bridge.url)
    with client.run(
        project_key="py-ctx", agent_id=AGENT_ID, summary="ok run", meta_json={"agent_name": "deployer"}
    ) as run:
        assert run.trace_id == run.id.replace("-", "")
        assert run.traceparent.startswith(f"00-{run.trace_id}-")
        run.report(token_usage={"input_tokens": 10, "output_tokens": 2, "model": "gpt-4o-mini"})
        run.report(traces=[{"tool": "git_push", "status": "ok"}])
    view = client.get_run(run.id)
    assert view["status"] == "completed"
    assert view["totals"]["total_tokens"] == 12
    assert view["models"] == ["gpt-4o-mini"]
    spans = bridge.receiver.wait_for(run.trace_id, lambda s: any(x.name == "invoke_agent deployer" for x in s))
    root = next(s for s in spans if s.name == "invoke_agent deployer")
    assert root.attributes["oprelay.run.status"] == "completed"


def test_an_exception_records_a_failure_ends_failed_and_propagates(bridge: BridgeProcess) -> None:
    client = Bridge(bridge.url)
    with pytest.raises(DeployError, match="rollout stuck"), client.run(project_key="py-ctx", agent_id=AGENT_ID) as run:
        raise DeployError("rollout stuck at 3/5 pods")
    view = client.get_run(run.id)
    assert (view["status"], view["failures"]) == ("failed", 1)
    spans = bridge.receiver.wait_for(run.trace_id, lambda s: any(x.name == "invoke_agent" for x in s))
    root = next(s for s in spans if s.name == "invoke_agent")
    assert root.status_code == 2  # ERROR
    # the traceback's last line names the type fully qualified, as OpenTelemetry's exception.type asks
    qualified = f"{DeployError.__module__}.{DeployError.__qualname__}"
    assert root.attributes["error.type"] == qualified
    events = [e for s in spans for e in s.events if e["name"] == "exception"]
    assert len(events) == 1
    attributes = events[0]["attributes"]
    assert attributes["exception.type"] == qualified
    assert attributes["exception.message"] == "DeployError: rollout stuck at 3/5 pods"
    stack = str(attributes["exception.stacktrace"])
    assert stack.startswith("Traceback (most recent call last):")
    assert "test_run_context.py" in stack


def test_keyboard_interrupt_ends_interrupted(bridge: BridgeProcess) -> None:
    client = Bridge(bridge.url)
    with pytest.raises(KeyboardInterrupt), client.run(project_key="py-ctx", agent_id=AGENT_ID) as run:
        raise KeyboardInterrupt
    view = client.get_run(run.id)
    assert (view["status"], view["failures"]) == ("interrupted", 0)


def test_an_explicit_end_is_kept(bridge: BridgeProcess) -> None:
    client = Bridge(bridge.url)
    with client.run(project_key="py-ctx", agent_id=AGENT_ID) as run:
        ended = run.end("interrupted", summary="operator stopped it", token_usage={"input_tokens": 7})
    assert ended["status"] == "interrupted"
    assert client.get_run(run.id)["status"] == "interrupted"


def test_the_agents_own_spans_nest_under_the_run(bridge: BridgeProcess) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agent")
    client = Bridge(bridge.url)
    with (
        client.run(project_key="py-otel", agent_id=AGENT_ID) as run,
        run.otel_context(),
        tracer.start_as_current_span("plan"),
    ):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == run.trace_id
    assert format(span.parent.span_id, "016x") == run.traceparent.split("-")[2]
    root = bridge.receiver.wait_for(run.trace_id, lambda s: any(x.name == "invoke_agent" for x in s))
    assert next(s for s in root if s.name == "invoke_agent").span_id == run.traceparent.split("-")[2]


def test_a_failed_report_inside_the_block_does_not_hide_the_agents_error(bridge: BridgeProcess) -> None:
    client = Bridge(bridge.url)
    with pytest.raises(BridgeError) as raised, client.run(project_key="py-ctx", agent_id=AGENT_ID) as run:
        run.report(token_usage={"input_tokens": -1})
    assert raised.value.code == "invalid_argument"
    assert raised.value.details[0]["path"] == "token_usage.input_tokens"
    assert client.get_run(run.id)["status"] == "failed"


async def test_async_run_completes_and_fails_like_the_sync_one(bridge: BridgeProcess) -> None:
    async with AsyncBridge(bridge.url) as client:
        async with client.run(project_key="py-async", agent_id=AGENT_ID, summary="async ok") as run:
            reported = await run.report(token_usage={"input_tokens": 30, "output_tokens": 3, "llm_calls": 1})
            assert reported["totals"]["llm_calls"] == 1
        assert (await client.get_run(run.id))["status"] == "completed"

        with pytest.raises(DeployError):
            async with client.run(project_key="py-async", agent_id=AGENT_ID) as failing:
                raise DeployError("async boom")
        view = await client.get_run(failing.id)
        assert (view["status"], view["failures"]) == ("failed", 1)


async def test_task_cancellation_ends_interrupted(bridge: BridgeProcess) -> None:
    client = AsyncBridge(bridge.url)
    inside = asyncio.Event()
    holder: list[str] = []

    async def agent() -> None:
        async with client.run(project_key="py-async", agent_id=AGENT_ID) as run:
            holder.append(run.id)
            inside.set()
            await asyncio.Event().wait()  # works until cancelled

    task = asyncio.create_task(agent())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    view = await client.get_run(holder[0])
    assert (view["status"], view["failures"]) == ("interrupted", 0)
    await client.aclose()
