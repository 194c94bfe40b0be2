"""What `credledger serve` starts ends with it, even when it is killed with SIGKILL."""

from __future__ import annotations

import signal
from pathlib import Path

from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from tests.conftest import LEARNER, ServeProcess, content, wait_for


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


def test_the_document_hashing_process_dies_with_a_killed_serve(serve: ServeProcess) -> None:
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
