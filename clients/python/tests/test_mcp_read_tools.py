"""The read tools (list_runs, get_run, usage_summary, recent_failures) through the official MCP Python SDK client."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from conftest import AGENT_ID, BridgeProcess, start_bridge, stop_bridge
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from otlp_receiver import OtlpReceiver

WRITER = "py-writer-key-123"
READER_A = "py-reader-a-1234"
READER_B = "py-reader-b-1234"
COSTS = [0.125, 0.25, 0.5, 1.0]  # exact in binary, so sums compare exactly


@pytest.fixture(scope="module")
def keyed_bridge() -> Iterator[BridgeProcess]:
    receiver = OtlpReceiver().start()
    with tempfile.TemporaryDirectory(prefix="oprelay-python-read-") as data_dir:
        running = start_bridge(
            receiver,
            Path(data_dir),
            {"BRIDGE_API_KEYS": f"{WRITER}=*; {READER_A}=read:py-a; {READER_B}=read:py-b"},
        )
        try:
            yield running
        finally:
            stop_bridge(running)
            receiver.stop()


@asynccontextmanager
async def connect(bridge: BridgeProcess, key: str) -> AsyncIterator[Client]:
    # the SDK's transport takes its own HTTP client (httpx2), which carries the key on every request
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http,
        Client(streamable_http_client(f"{bridge.url}/mcp", http_client=http)) as client,
    ):
        yield client


def result_of(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error is False, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


def error_of(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error is True
    (block,) = result.content
    assert isinstance(block, TextContent)
    error: dict[str, Any] = json.loads(block.text)["error"]
    return error


def send_runs(bridge: BridgeProcess) -> list[dict[str, Any]]:
    """Runs with known tokens and costs in two projects, over the HTTP API with the write key."""
    sent: list[dict[str, Any]] = []
    with httpx.Client(base_url=bridge.url, headers={"Authorization": f"Bearer {WRITER}"}) as http:

        def tool(name: str, args: dict[str, Any]) -> None:
            r = http.post(f"/v1/tools/{name}", json=args)
            assert r.status_code == 200, r.text

        for i, cost in enumerate(COSTS * 2):
            project = "py-a" if i < 5 else "py-b"
            agent = "deployer" if i % 2 == 0 else "reviewer"
            run_id = str(uuid.uuid4())
            tool(
                "core_start_run",
                {"project_key": project, "agent_id": AGENT_ID, "run_id": run_id, "meta_json": {"agent_name": agent}},
            )
            usage = {
                "input_tokens": 100 * (i + 1),
                "output_tokens": 10 * (i + 1),
                "cost_usd": cost,
                "model": "claude-opus-4",
                "llm_calls": 1,
            }
            tool("core_report_usage", {"run_id": run_id, "token_usage": usage})
            failed = i == 2
            if failed:
                tool(
                    "core_record_failure",
                    {
                        "project_key": project,
                        "run_id": run_id,
                        "agent_id": AGENT_ID,
                        "summary": "smoke test failed",
                        "error": "AssertionError: 503 from /healthz",
                    },
                )
            tool("core_end_run", {"run_id": run_id, "status": "failed" if failed else "completed"})
            sent.append(
                {
                    "run_id": run_id,
                    "project": project,
                    "agent": agent,
                    "input": usage["input_tokens"],
                    "output": usage["output_tokens"],
                    "cost": cost,
                    "failed": failed,
                }
            )
    return sent


def sums(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "runs": len(runs),
        "failed_runs": sum(1 for r in runs if r["failed"]),
        "failures": sum(1 for r in runs if r["failed"]),
        "input_tokens": sum(r["input"] for r in runs),
        "output_tokens": sum(r["output"] for r in runs),
        "total_tokens": sum(r["input"] + r["output"] for r in runs),
        "cost_usd": sum(r["cost"] for r in runs),
        "llm_calls": len(runs),
    }


async def test_read_tools_sum_exactly_stay_in_the_keys_projects_and_page(keyed_bridge: BridgeProcess) -> None:
    sent = send_runs(keyed_bridge)
    in_a = [r for r in sent if r["project"] == "py-a"]
    async with connect(keyed_bridge, READER_A) as reader_a:
        listed = await reader_a.list_tools()
        assert [t.name for t in listed.tools] == ["list_runs", "get_run", "usage_summary", "recent_failures"]

        summary = result_of(await reader_a.call_tool("usage_summary", {"group_by": "agent"}))
        groups = {g["key"]: g for g in summary["groups"]}
        for agent in ("deployer", "reviewer"):
            assert groups[agent] == {"key": agent, **sums([r for r in in_a if r["agent"] == agent])}
        assert summary["totals"] == sums(in_a)
        assert result_of(await reader_a.call_tool("usage_summary", {"project_key": "py-b"}))["groups"] == []

        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = result_of(
                await reader_a.call_tool("list_runs", {"limit": 2, **({"cursor": cursor} if cursor else {})})
            )
            pages += 1
            seen += [run["run_id"] for run in page["runs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert (pages, sorted(seen)) == (3, sorted(r["run_id"] for r in in_a))

        failed = next(r for r in sent if r["failed"])
        run = result_of(await reader_a.call_tool("get_run", {"run_id": failed["run_id"]}))
        assert [(f["error_type"], f["summary"]) for f in run["failure_log"]] == [
            ("AssertionError", "smoke test failed")
        ]
        failures = result_of(await reader_a.call_tool("recent_failures", {"since": "1h"}))["failures"]
        assert [(f["run_id"], f["agent"]) for f in failures] == [(failed["run_id"], "deployer")]

    async with connect(keyed_bridge, READER_B) as reader_b:
        assert error_of(await reader_b.call_tool("get_run", {"run_id": failed["run_id"]}))["code"] == "run_not_found"
        only_b = result_of(await reader_b.call_tool("usage_summary", {}))
        assert [g["key"] for g in only_b["groups"]] == ["py-b"]
        assert only_b["totals"] == sums([r for r in sent if r["project"] == "py-b"])


async def test_bad_arguments_are_is_error_results_with_the_http_codes(keyed_bridge: BridgeProcess) -> None:
    with httpx.Client(base_url=keyed_bridge.url, headers={"Authorization": f"Bearer {READER_A}"}) as http:
        over_http = http.get("/v1/usage", params={"group_by": "team"})
    assert over_http.status_code == 400
    async with connect(keyed_bridge, READER_A) as client:
        over_mcp = error_of(await client.call_tool("usage_summary", {"group_by": "team"}))
        assert over_mcp == over_http.json()["error"]
        assert error_of(await client.call_tool("list_runs", {"limit": 0}))["code"] == "invalid_argument"
        assert error_of(await client.call_tool("get_run", {"run_id": "nope"}))["code"] == "invalid_argument"
        start = {"project_key": "py-a", "agent_id": AGENT_ID}
        assert error_of(await client.call_tool("core_start_run", start))["code"] == "forbidden"
