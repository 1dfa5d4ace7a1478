"""A real bridge process (``node dist/cli.js serve``) on 127.0.0.1 exporting to a real OTLP receiver."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "dist" / "cli.js"
AGENT_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
TASK_ID = "3e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class BridgeProcess:
    url: str
    receiver: OtlpReceiver
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_bridge(receiver: OtlpReceiver, data_dir: Path, extra_env: dict[str, str] | None = None) -> BridgeProcess:
    node = shutil.which("node")
    if node is None or not CLI.exists():
        raise RuntimeError(f"need node and {CLI}: run `npm run build` first")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(port),
        "BRIDGE_DATA_DIR": str(data_dir),
        "BRIDGE_EXPORT_INTERVAL_MS": "50",
        "BRIDGE_RETRY_MAX_BACKOFF": "500ms",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        # the test receiver reads OTLP/JSON; the default encoding is http/protobuf
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        "OTEL_METRICS_EXPORTER": "prometheus",
        "BRIDGE_LOG_LEVEL": "info",
        **(extra_env or {}),
    }
    log_path = data_dir / "bridge.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([node, str(CLI), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    bridge = BridgeProcess(f"http://127.0.0.1:{port}", receiver, process, log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bridge exited with {process.returncode}:\n{bridge.logs()}")
        try:
            if httpx.get(f"{bridge.url}/healthz", timeout=1).is_success:
                return bridge
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    stop_bridge(bridge)
    raise RuntimeError(f"bridge did not become healthy:\n{bridge.logs()}")


def stop_bridge(bridge: BridgeProcess) -> None:
    if bridge.process.poll() is None:
        bridge.process.send_signal(signal.SIGTERM)
        try:
            bridge.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bridge.process.kill()
            bridge.process.wait(timeout=5)


@pytest.fixture(scope="session")
def bridge() -> Iterator[BridgeProcess]:
    receiver = OtlpReceiver().start()
    with tempfile.TemporaryDirectory(prefix="oprelay-python-") as data_dir:
        running = start_bridge(receiver, Path(data_dir))
        try:
            yield running
        finally:
            stop_bridge(running)
            receiver.stop()
    assert running.process.returncode == 0, f"bridge exited with {running.process.returncode}"
