"""A local Anvil node run by the ledger itself, its state kept on disk across restarts."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchors.child_process import die_with_parent

log = logging.getLogger("credledger.chain")

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


# Below Linux's ephemeral range (32768-60999): a client reconnecting while the node is down
# could otherwise be given the node's own port as its local port, connect to itself, and keep
# the restarted node from binding.
_STABLE_PORTS = range(20000, 32768)


def remembered_port(path: Path) -> int:
    """The node's port as remembered in ``path``; the first time, a free one below the
    ephemeral range, written there so that every restart serves the same RPC URL."""
    if path.exists():
        return int(path.read_text("utf-8").strip())
    for candidate in random.Random().sample(_STABLE_PORTS, 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{candidate}\n", "utf-8")
        return candidate
    raise RuntimeError("no free port for the local chain node below 32768")


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

    def running(self) -> bool:
        """Whether the process this object started is still running."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

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


class NodeSupervisor:
    """Keeps a managed node running: restarts it on the same port and state when it exits,
    waiting longer after each failed start (1 s, doubling, at most ``max_backoff``)."""

    def __init__(self, node: ManagedAnvil, check_every: float = 0.5, max_backoff: float = 30.0):
        self.node = node
        self.restarts = 0
        self._check_every = check_every
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        # The node's parent-death signal follows the thread that starts it: this one, which
        # lives exactly as long as the supervision.
        self._thread = threading.Thread(target=self._watch, name="anvil-supervisor", daemon=True)

    def start(self) -> NodeSupervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop supervising (then stop the node: it is no longer restarted)."""
        self._stopping.set()
        self._thread.join(timeout=60)

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.wait(self._check_every):
            if self.node.running():
                backoff = 1.0
                continue
            log.error("the local chain node exited; restarting it at %s", self.node.url)
            try:
                self.node.start()
            except RuntimeError as exc:
                log.error(
                    "the local chain node did not restart (%s); next try in %.0f s", exc, backoff
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            self.restarts += 1
            log.warning("the local chain node is back at %s", self.node.url)
