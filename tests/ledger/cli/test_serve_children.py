"""What `credledger serve` starts ends with it, even when it is killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger import samples
from ledger.client import CommandSigner, LedgerClient
from ledger.settings import create_secrets
from ledger.signing import IssuerKey
from tests.conftest import LEARNER, content, free_port, wait_for


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    data_dir = tmp_path / "data"
    create_secrets(data_dir)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        env={**os.environ, "CREDLEDGER_CHAIN": "in-process", "CREDLEDGER_BATCH_AGE_SECONDS": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/health", timeout=2)
            break
        except httpx.HTTPError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    token = json.loads((data_dir / "secrets.json").read_text())["admin_token"]
    try:
        yield process, url, token
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_the_document_hashing_process_dies_with_a_killed_serve(
    serve: tuple[subprocess.Popen[bytes], str, str],
) -> None:
    process, url, token = serve
    key = IssuerKey.generate()
    with LedgerClient(url, admin_token=token) as admin:
        issuer_id = admin.register_issuer(samples.issuer_registration(key.address))["issuer_id"]
        admin.issue(CommandSigner(key, issuer_id).issue(content(), LEARNER))
    # The credential's document is hashed ahead, in a process of its own.
    wait_for(lambda: bool(children(process.pid)), timeout=60)
    helpers = children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    wait_for(lambda: not any(alive(pid) for pid in helpers), timeout=30)
