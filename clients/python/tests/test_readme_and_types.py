"""The README's Python example runs as written, and the generated types reject what the bridge rejects."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT, BridgeProcess
from mypy import api as mypy_api

from oprelay_bridge import Bridge


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README.md's Python section has no python code block"
    return match.group(1)


def test_the_readme_example_runs_as_written(bridge: BridgeProcess, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    env = {**os.environ, "OPRELAY_URL": bridge.url}
    env.pop("OPRELAY_API_KEY", None)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    run_id, status = done.stdout.split()
    assert status == "completed"
    view = Bridge(bridge.url).get_run(run_id)
    assert view["project_key"] == "myproject"
    assert view["totals"]["total_tokens"] == 9600
    assert view["totals"]["llm_calls"] == 3


def test_the_readme_example_is_about_ten_lines() -> None:
    lines = [line for line in readme_example().splitlines() if line.strip()]
    assert len(lines) <= 12, lines


def test_mypy_rejects_arguments_the_bridge_would_reject(tmp_path: Path) -> None:
    snippet = tmp_path / "agent.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from oprelay_bridge import Bridge

            bridge = Bridge()
            bridge.core_start_run(project_key="p", agent_id="a", sumary="typo")
            bridge.core_report_usage(run_id="r", token_usage={"input_token": 5})
            bridge.core_end_run(run_id="r", status="done")
            bridge.record_run(project_key="p", summary="no agent")
            status: int = bridge.get_run("r")["status"]
            """
        )
    )
    stdout, _stderr, exit_code = mypy_api.run(
        ["--strict", "--no-incremental", "--python-version", "3.10", str(snippet)]
    )
    assert exit_code == 1
    errors = [line.split(": error: ", 1)[1] for line in stdout.splitlines() if ": error: " in line]
    assert any('Unexpected keyword argument "sumary"' in e for e in errors), errors
    assert any('Extra key "input_token" for TypedDict "TokenUsage"' in e for e in errors), errors
    assert any("Literal['done']" in e and 'Argument "status"' in e for e in errors), errors
    assert any('Missing named argument "agent"' in e for e in errors), errors
    assert any("Incompatible types in assignment" in e for e in errors), errors
    assert len(errors) == 5, errors
