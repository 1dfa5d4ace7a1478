"""Python client for oprelay-bridge: agent runs reported as OpenTelemetry traces and metrics.

``Bridge`` / ``AsyncBridge`` have one method per tool (``core_start_run``, ``core_report_usage``,
``core_end_run``, ``core_record_failure``, ``record_run``), ``call(tool, args)``, ``get_run`` and
``list_runs``; ``bridge.run(...)`` is a run as a context manager.
"""

from .async_client import AsyncBridge
from .client import Bridge
from .errors import BridgeError
from .run import AsyncRun, Run
from .run_list import RunFilters, RunPage
from .tool_types import TOOL_NAMES, RunView, ToolName

__all__ = [
    "TOOL_NAMES",
    "AsyncBridge",
    "AsyncRun",
    "Bridge",
    "BridgeError",
    "Run",
    "RunFilters",
    "RunPage",
    "RunView",
    "ToolName",
]
__version__ = "0.1.0"
