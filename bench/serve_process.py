"""``credledger serve`` in a process of its own for the benchmarks, pinned to one core."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int, chain: str = "in-process") -> subprocess.Popen[bytes]:
    """``credledger serve`` on ``data_dir`` (embedded, batches of a second), on core 0 where
    ``taskset`` exists, once it answers ``/health``."""
    command = [sys.executable, "-m", "ledger.cli", "serve", "--data-dir", str(data_dir)]
    command += ["--port", str(port)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    env = {**os.environ, "CREDLEDGER_CHAIN": chain, "CREDLEDGER_BATCH_AGE_SECONDS": "1"}
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=quiet, stderr=quiet)
    with httpx.Client(timeout=5) as probe:
        for _ in range(600):
            try:
                if probe.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return process
            except httpx.TransportError:
                time.sleep(0.1)
    raise RuntimeError("credledger serve did not start")
