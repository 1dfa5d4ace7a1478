"""Filters and page shape of GET /v1/runs (the run listing the live page also reads)."""

from __future__ import annotations

from typing import Literal, TypedDict

from .tool_types import RunView


class RunFilters(TypedDict, total=False):
    """Query parameters of GET /v1/runs; every one is optional."""

    project_key: str
    status: Literal["running", "completed", "failed", "interrupted"]
    #: UUID
    agent_id: str
    #: ISO 8601 date-time: runs started at or after it
    since: str
    min_cost: float
    sort: Literal["started_at", "cost"]
    #: 1 to 500, default 50
    limit: int
    #: the ``next_cursor`` of the previous page
    cursor: str


class RunPage(TypedDict):
    runs: list[RunView]
    #: None on the last page
    next_cursor: str | None
