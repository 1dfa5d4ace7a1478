"""The official MCP Python SDK (a client nobody here wrote) against the bridge's /mcp endpoint."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from conftest import AGENT_ID, TASK_ID, BridgeProcess
from mcp import Client
from mcp.types import CallToolResult, RequestParamsMeta, TextContent

from oprelay_bridge import TOOL_NAMES, Bridge, BridgeError, tool_types


def error_of(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error is True
    assert result.structured_content is None  # validated against outputSchema even on errors otherwise
    (block,) = result.content
    assert isinstance(block, TextContent)
    error: dict[str, Any] = json.loads(block.text)["error"]
    return error


def result_of(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error is False
    assert result.structured_content is not None
    return dict(result.structured_content)


async def test_lists_the_five_tools_with_the_schemas_the_python_types_come_from(bridge: BridgeProcess) -> None:
    async with Client(f"{bridge.url}/mcp") as client:
        listed = await client.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    # the five run tools, and the four read tools an SRE's agent asks (test_mcp_read_tools.py)
    assert sorted(tools) == sorted([*TOOL_NAMES, "list_runs", "get_run", "usage_summary", "recent_failures"])
    for name in TOOL_NAMES:
        schema = tools[name].input_schema
        args_type = getattr(tool_types, "".join(part.title() for part in name.split("_")) + "Args")
        assert set(schema["properties"]) == set(args_type.__required_keys__ | args_type.__optional_keys__)
        assert set(schema["required"]) == set(args_type.__required_keys__)
        assert tools[name].output_schema is not None
    assert tools["core_start_run"].input_schema["properties"]["project_key"]["maxLength"] == 128


async def test_runs_the_seed_flow(bridge: BridgeProcess) -> None:
    async with Client(f"{bridge.url}/mcp") as client:
        started = result_of(
            await client.call_tool(
                "core_start_run",
                {"project_key": "py-mcp", "agent_id": AGENT_ID, "summary": "Deploying rate limiter to staging"},
            )
        )
        run_id = started["run_id"]
        usage = {
            "input_tokens": 8400,
            "output_tokens": 1200,
            "cost_usd": 0.028,
            "model": "claude-opus-4",
            "llm_calls": 3,
        }
        reported = result_of(await client.call_tool("core_report_usage", {"run_id": run_id, "token_usage": usage}))
        assert reported["totals"]["total_tokens"] == 9600
        failure = result_of(
            await client.call_tool(
                "core_record_failure",
                {
                    "project_key": "py-mcp",
                    "run_id": run_id,
                    "agent_id": AGENT_ID,
                    "task_id": TASK_ID,
                    "summary": "Database connection timeout during migration",
                    "error": "Error: connect ETIMEDOUT 10.0.0.5:5432",
                },
            )
        )
        assert failure["run_id"] == run_id
        final = {
            "input_tokens": 12400,
            "output_tokens": 3200,
            "cost_usd": 0.042,
            "model": "claude-opus-4",
            "llm_calls": 7,
        }
        ended = result_of(
            await client.call_tool("core_end_run", {"run_id": run_id, "status": "completed", "token_usage": final})
        )
        assert ended["totals"] == {
            "input_tokens": 12400,
            "output_tokens": 3200,
            "total_tokens": 15600,
            "cost_usd": 0.042,
            "llm_calls": 7,
        }
        recorded = result_of(
            await client.call_tool("record_run", {"project_key": "py-mcp", "agent": "claude-opus", "summary": "audit"})
        )
    view = Bridge(bridge.url).get_run(run_id)
    assert (view["status"], view["failures"]) == ("completed", 1)
    assert Bridge(bridge.url).get_run(recorded["run_id"])["status"] == "completed"


async def test_a_traceparent_in_meta_joins_the_callers_trace(bridge: BridgeProcess) -> None:
    caller_trace, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    async with Client(f"{bridge.url}/mcp") as client:
        started = result_of(
            await client.call_tool(
                "core_start_run",
                {"project_key": "py-mcp-parent", "agent_id": AGENT_ID},
                # RequestParamsMeta takes extra keys (PEP 728), which mypy does not read yet
                meta=cast("RequestParamsMeta", {"traceparent": f"00-{caller_trace}-{caller_span}-01"}),
            )
        )
    assert started["trace_id"] == caller_trace
    assert started["run_id"].replace("-", "") != caller_trace
    assert started["traceparent"].startswith(f"00-{caller_trace}-")


async def test_tool_errors_are_is_error_results_with_the_http_codes(bridge: BridgeProcess) -> None:
    http = Bridge(bridge.url)
    ended = http.record_run(project_key="py-mcp-errors", agent="a", summary="already complete")["run_id"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("core_start_run", {"project_key": "p" * 129, "agent_id": AGENT_ID}, "invalid_argument"),
        ("core_start_run", {"project_key": "p", "agent_id": "not-a-uuid"}, "invalid_argument"),
        ("core_report_usage", {"run_id": AGENT_ID, "token_usage": {"input_token": 5}}, "invalid_argument"),
        ("core_report_usage", {"run_id": ended, "token_usage": {"input_tokens": 5}}, "run_ended"),
        ("core_end_run", {"run_id": str(uuid.uuid4()), "status": "completed"}, "run_not_found"),
        ("core_end_run", {"run_id": ended, "status": "failed"}, "run_already_ended"),
    ]
    async with Client(f"{bridge.url}/mcp") as client:
        for tool, args, code in cases:
            over_mcp = error_of(await client.call_tool(tool, args))
            assert over_mcp["code"] == code, (tool, over_mcp)
            try:
                http.call(tool, args)
            except BridgeError as over_http:
                assert (over_mcp["code"], over_mcp["message"]) == (over_http.code, over_http.message), tool
                assert over_mcp.get("details", []) == over_http.details, tool
            else:
                raise AssertionError(f"{tool} {args} succeeded over HTTP")
