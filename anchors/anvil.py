"""A local Anvil node run by the ledger itself, its state kept on disk across restarts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchors.child_process import die_with_parent

# Anvil's well-known development mnemonic: its accounts are funded on every local chain.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def dev_account(index: int = 0) -> LocalAccount:
    """Anvil's development account ``index`` (never to be used on a public chain)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


def find_anvil(explicit: Path | None = None) -> Path | None:
    """The anvil binary: the one configured, the npm package under .deploy/anvil, or PATH.

    From the npm package, the platform binary itself rather than its Node launcher, so that
    the process the ledger starts is the node.
    """
    candidates = [explicit] if explicit else []
    # The working directory, then the checkout this package runs from (an editable install).
    for root in (
        Path(".deploy/anvil").resolve(),
        Path(__file__).resolve().parents[1] / ".deploy/anvil",
    ):
        modules = root / "node_modules"
        candidates += sorted(modules.glob("@foundry-rs/anvil-*/bin/anvil"))
        candidates.append(modules / ".bin" / "anvil")
    found = shutil.which("anvil")
    if found:
        candidates.append(Path(found))
    return next((c for c in candidates if c is not None and c.exists()), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ManagedAnvil:
    """Starts and stops one Anvil process on a loopback port."""

    def __init__(
        self,
        binary: Path,
        state_file: Path | None,
        chain_id: int = 31337,
        port: int | None = None,
        block_time: float | None = None,
        automine: bool = True,
    ) -> None:
        self.binary = binary
        self.state_file = state_file
        self.chain_id = chain_id
        self.port = port or free_port()
        self.block_time = block_time
        self.automine = automine
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ManagedAnvil:
        """Start the node; on Linux it stops when the thread that started it ends (so start
        it from the main thread of a long-lived process)."""
        command = [
            str(self.binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
        ]
        if self.state_file is not None:
            # Written every second as well as on exit, so a crash loses at most a second.
            command += ["--state", str(self.state_file), "--state-interval", "1"]
        if self.block_time is not None:
            command += ["--block-time", str(self.block_time)]
        if not self.automine:
            command.append("--no-mining")
        # A session of its own: the npm launcher runs the real binary as a child, and both
        # must go when the node is stopped or killed.
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"anvil exited with status {self._process.returncode}")
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not answer on {self.url} within {timeout} s")

    def ready(self) -> bool:
        try:
            answer = httpx.post(
                self.url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                timeout=1.0,
            )
        except httpx.TransportError:
            return False
        return answer.status_code == 200

    def rpc(self, method: str, *params: object) -> object:
        """A raw JSON-RPC call (tests use Anvil's own methods, e.g. evm_snapshot)."""
        answer = httpx.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
            timeout=10.0,
        ).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def stop(self) -> None:
        """Stop gracefully (Anvil writes its state on the way out)."""
        self._signal(signal.SIGTERM, timeout=15)

    def kill(self) -> None:
        """Stop abruptly, as a crash would."""
        self._signal(signal.SIGKILL, timeout=15)

    def _signal(self, signum: int, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The launcher may exit before its child: wait until the port is free again.
        deadline = time.monotonic() + timeout
        while self.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
