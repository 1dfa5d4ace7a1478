"""OprelayTracingProcessor driven through the OpenAI Agents SDK's public tracing API (no model calls)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest
from agents.tracing import (
    SpanError,
    agent_span,
    function_span,
    generation_span,
    handoff_span,
    response_span,
    set_trace_processors,
    trace,
)
from conftest import AGENT_ID, BridgeProcess, free_port
from openai.types.responses import Response, ResponseUsage

from oprelay_bridge import Bridge
from oprelay_bridge._agents_spans import run_id_for
from oprelay_bridge.openai_agents import OprelayTracingProcessor


@pytest.fixture
def processor(bridge: BridgeProcess) -> Iterator[OprelayTracingProcessor]:
    processor = OprelayTracingProcessor(Bridge(bridge.url), project_key="py-agents", agent_id=AGENT_ID)
    # replaces the SDK's default exporter too, so nothing tries to reach OpenAI
    set_trace_processors([processor])
    yield processor
    set_trace_processors([])
    processor.shutdown()


def model_response(model: str, input_tokens: int, output_tokens: int) -> Response:
    usage = ResponseUsage.model_construct(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )
    return Response.model_construct(id="resp_1", model=model, usage=usage, output=[])


def test_a_trace_becomes_a_run_with_usage_tools_steps_and_failures(
    processor: OprelayTracingProcessor, bridge: BridgeProcess
) -> None:
    with trace("Support agent", group_id="chat-42", metadata={"customer": "acme"}) as sdk_trace:
        with agent_span(name="triage", handoffs=["refunds"], tools=["lookup_order"]):
            usage = {
                "input_tokens": 120,
                "output_tokens": 30,
                "total_tokens": 150,
                "input_tokens_details": {"cached_tokens": 100},
                "output_tokens_details": {"reasoning_tokens": 0},
            }
            with generation_span(model="gpt-4o-mini", usage=usage):
                pass
            with function_span(name="lookup_order", input='{"order": 7}', output="shipped"):
                pass
            with function_span(name="refund_order") as refund:
                refund.set_error(SpanError(message="refund limit exceeded", data={"limit_usd": 100}))
            with handoff_span(from_agent="triage", to_agent="refunds"):
                pass
        with agent_span(name="refunds"), response_span(response=model_response("gpt-4.1", 200, 40)):
            pass
    assert processor.flush(timeout=30)
    assert processor.errors == 0

    run_id = run_id_for(sdk_trace.trace_id)
    assert run_id.replace("-", "") == sdk_trace.trace_id.removeprefix("trace_")
    view = Bridge(bridge.url).get_run(run_id)
    assert view["status"] == "completed"
    assert view["totals"] == {
        "input_tokens": 320,
        "output_tokens": 70,
        "total_tokens": 390,
        "cost_usd": view["totals"]["cost_usd"],
        "llm_calls": 2,
    }
    assert view["totals"]["cost_usd"] > 0  # priced by the bridge from tokens and model
    assert sorted(view["models"]) == ["gpt-4.1", "gpt-4o-mini"]
    assert view["failures"] == 1

    expected = {
        "invoke_agent Support agent",
        "chat gpt-4o-mini",
        "chat gpt-4.1",
        "execute_tool lookup_order",
        "execute_tool refund_order",
        "agent triage",
        "agent refunds",
        "handoff triage -> refunds",
    }
    spans = bridge.receiver.wait_for(view["trace_id"], lambda s: expected <= {x.name for x in s})
    # the spans of the SDK's own steps, not the bridge's spans for usage no step covers
    by_name = {s.name: s for s in spans if "oprelay.usage.uncovered_by" not in s.attributes}
    root = by_name["invoke_agent Support agent"]
    assert root.attributes["session.id"] == "chat-42"
    assert root.attributes["gen_ai.agent.name"] == "Support agent"
    assert root.attributes["oprelay.meta.openai_trace_id"] == sdk_trace.trace_id
    chat = by_name["chat gpt-4o-mini"]
    assert (chat.attributes["gen_ai.usage.input_tokens"], chat.attributes["gen_ai.usage.output_tokens"]) == (120, 30)
    assert chat.attributes["gen_ai.usage.cache_read.input_tokens"] == 100
    assert by_name["execute_tool refund_order"].status_code == 2
    assert by_name["execute_tool lookup_order"].status_code != 2
    failure = [e for s in spans for e in s.events if e["name"] == "exception"]
    assert [e["attributes"]["exception.message"] for e in failure] == ["refund_order: refund limit exceeded"]


def test_an_agent_error_fails_the_run(processor: OprelayTracingProcessor, bridge: BridgeProcess) -> None:
    with trace("Failing agent") as sdk_trace, agent_span(name="planner") as planner:
        planner.set_error(SpanError(message="Max turns (3) exceeded", data={"max_turns": 3}))
    assert processor.flush(timeout=30)
    view = Bridge(bridge.url).get_run(run_id_for(sdk_trace.trace_id))
    assert (view["status"], view["failures"]) == ("failed", 1)


def test_an_unreachable_bridge_never_reaches_the_agent(caplog: pytest.LogCaptureFixture) -> None:
    down = OprelayTracingProcessor(
        Bridge(f"http://127.0.0.1:{free_port()}", max_retries=0), project_key="py-agents", agent_id=AGENT_ID
    )
    set_trace_processors([down])
    try:
        with caplog.at_level(logging.WARNING, logger="oprelay_bridge.openai_agents"):
            with trace("Offline agent"), generation_span(model="gpt-4o-mini", usage={"input_tokens": 1}):
                pass
            assert down.flush(timeout=30)
    finally:
        set_trace_processors([])
        down.shutdown()
    assert down.errors == 3  # start, usage report, end: each logged and dropped
    assert sum("connection_failed" in r.getMessage() for r in caplog.records) == 3


class BlockedTransport(httpx.BaseTransport):
    """Holds every request until released: a bridge slower than the agent."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.release.wait(timeout=30)
        return httpx.Response(503, json={"error": {"code": "backpressure", "message": "held"}})


def test_a_full_queue_drops_events_instead_of_blocking_the_agent() -> None:
    transport = BlockedTransport()
    slow = OprelayTracingProcessor(
        Bridge("http://127.0.0.1:9", transport=transport, max_retries=0),
        project_key="py-agents",
        agent_id=AGENT_ID,
        max_queue=1,
    )
    set_trace_processors([slow])
    try:
        with trace("Busy agent"):
            for n in range(4):
                with function_span(name=f"tool_{n}"):
                    pass
        # 6 events: the worker holds at most one and the queue one more, so at least 4 were dropped
        assert slow.dropped >= 4
    finally:
        transport.release.set()
        set_trace_processors([])
        slow.shutdown()
    assert slow.flush(timeout=30)


def test_run_ids_follow_the_sdk_trace_id() -> None:
    hex_id = uuid.uuid4().hex
    assert run_id_for(f"trace_{hex_id}") == str(uuid.UUID(hex_id))
    custom = run_id_for("my-own-trace-id")
    assert custom == run_id_for("my-own-trace-id")
    assert uuid.UUID(custom).version == 5
    assert run_id_for("trace_" + "0" * 32) != str(uuid.UUID(int=0))
