"""credledger's documents in the Blockcerts reference verifier, unchanged.

The real cert-verifier-js 6.35.0 (its ``dist/verifier-node`` bundle, installed by
tests/run.sh) runs under Node against ``credledger serve`` over HTTPS (a self-signed
certificate Node is told to trust) and a real Anvil node on Sepolia's chain id, read by a
custom explorer. One scenario issues, amends, revokes, forges and rotates; the verifier runs
once over every document; each test below checks one outcome. No request may leave the machine.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from web3 import Web3

from anchors.anvil import ManagedAnvil, dev_account, find_anvil
from anchors.chain import BURN_ADDRESS
from anchors.merkle_proof_2019 import MerkleProof2019
from ledger.api import create_app
from ledger.application.anchoring_key_rotation import rotate_anchoring_key
from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import MAX_BATCH_SIZE, Settings, create_secrets
from tests.conftest import STORE, content, free_port, settled, start_server, wait_for

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / ".deploy" / "cert-verifier-js" / "package" / "dist" / "verifier-node"
HARNESS = Path(__file__).with_name("blockcerts_verify.cjs")
SEPOLIA = 11155111

pytestmark = pytest.mark.skipif(
    STORE != "sqlite",
    reason="documents do not depend on the store: the interoperability run is the SQLite pass's",
)

NAMES = [
    "Zoë Ångström",
    "Łukasz Żółćiński",
    "Björk Guðmundsdóttir",
    "Nguyễn Thị Minh Khai",
    "Αλέξανδρος Παπαδόπουλος",
    "李小龙",
    "Séamus Ó Briain",
    "Ørjan Æbelø",
    "José María Núñez",
    "Đorđe Šćepanović",
]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Served:
    embedded: EmbeddedLedger
    server: uvicorn.Server
    thread: threading.Thread
    admin: LedgerClient
    public: LedgerClient

    def stop(self) -> None:
        self.admin.close()
        self.public.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.embedded.stop()


def _serve(settings: Settings, cert: Path, key: Path) -> Served:
    embedded = EmbeddedLedger(settings).start()
    app = create_app(embedded.api_context())
    tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    server, thread, _ = start_server(app, settings.port, **tls)
    url = settings.public_url_value()
    token = {"Authorization": f"Bearer {settings.admin_token_value()}"}
    trust = _trusting(cert)
    admin = LedgerClient(url, http=httpx.Client(base_url=url, verify=trust, headers=token))
    public = LedgerClient(url, http=httpx.Client(base_url=url, verify=trust, timeout=30))
    return Served(embedded, server, thread, admin, public)


def _trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def _issue_batch(served: Served, signer: CommandSigner, count: int, start: int) -> list[str]:
    bodies = [
        signer.issue(
            content(title=f"Applied Machine Learning {start + i}"),
            {"identifier": f"learner-{start + i}", "full_name": NAMES[(start + i) % len(NAMES)]},
        )
        for i in range(count)
    ]
    results = served.public.bulk_issue(bodies)
    assert all(r["ok"] for r in results), results
    wait_for(lambda: settled(served.embedded), timeout=60)
    return [str(r["result"]["credential_id"]) for r in results]


def _fetch(served: Served, signer: CommandSigner, wanted: list[dict[str, Any]]) -> list[Any]:
    items = served.public.documents(signer.read_documents(wanted))
    assert all("document" in item for item in items), [i.get("problem") for i in items]
    return [item["document"] for item in items]


@dataclass
class Scenario:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    groups: dict[int, list[str]] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, str] = ("", "")


def _reanchored_elsewhere(document: dict[str, Any], rpc_url: str) -> dict[str, Any]:
    """The document with its root sent again by an address no profile lists."""
    proof = MerkleProof2019.decode(document["proof"]["proofValue"])
    forger = dev_account(5)
    web3 = Web3(Web3.HTTPProvider(rpc_url))
    tx_hash = web3.eth.send_raw_transaction(
        forger.sign_transaction(
            {
                "type": 2,
                "chainId": SEPOLIA,
                "nonce": web3.eth.get_transaction_count(forger.address),
                "to": BURN_ADDRESS,
                "value": 0,
                "data": proof.merkle_root,
                "gas": 30_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 10**9,
            }
        ).raw_transaction
    )
    web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    forged = copy.deepcopy(document)
    forged["proof"]["proofValue"] = MerkleProof2019(
        proof.target_hash, proof.merkle_root, proof.path, proof.chain_id, bytes(tx_hash)
    ).encode()
    return forged


def _run_verifier(
    documents: dict[str, Any], rpc_url: str, cert: Path
) -> tuple[dict[str, Any], list[str]]:
    labels = list(documents)
    payload = {
        "verifier": str(VERIFIER),
        "rpcUrl": rpc_url,
        "chainId": SEPOLIA,
        "confirmations": 1,
        "documents": [documents[label] for label in labels],
    }
    completed = subprocess.run(
        ["node", str(HARNESS)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    output = json.loads(completed.stdout)
    return dict(zip(labels, output["results"], strict=True)), output["outside"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    assert (VERIFIER / "index.js").exists(), "tests/run.sh installs cert-verifier-js 6.35.0"
    binary = find_anvil()
    assert binary is not None, "tests/run.sh installs Anvil"
    work = tmp_path_factory.mktemp("interop")
    cert, key = _self_signed(work)
    node = ManagedAnvil(binary, state_file=None, chain_id=SEPOLIA).start()
    port = free_port()
    data_dir = work / "data"
    create_secrets(data_dir)
    common: dict[str, Any] = {
        "data_dir": data_dir,
        "batch_size": MAX_BATCH_SIZE,
        "batch_age_seconds": 0.3,
        "chain": "rpc",
        "chain_rpc_url": node.url,
        "chain_id": SEPOLIA,
        "port": port,
        "tls_certfile": cert,
        "tls_keyfile": key,
    }
    found = Scenario()
    documents: dict[str, Any] = {}
    served = _serve(Settings(**common, chain_private_key=dev_account(0).key.hex()), cert, key)
    try:
        issuer_key = IssuerKey.generate()
        entry = served.admin.register_issuer(samples.issuer_registration(issuer_key.address))
        signer = CommandSigner(issuer_key, entry["issuer_id"])
        start = 0
        for count in (1, 2, 3, 17):
            found.groups[count] = _issue_batch(served, signer, count, start)
            start += count
        amended, revoked = found.groups[3][0], found.groups[17][0]
        served.public.amend(
            signer.amend(
                amended,
                1,
                content(title="Applied Machine Learning (amended)"),
                {"identifier": "learner-3", "full_name": NAMES[3]},
            )
        )
        served.public.revoke(signer.revoke(revoked, 1, "assessment misconduct established"))
        wait_for(lambda: settled(served.embedded), timeout=60)
        records = served.embedded.storage.anchors
        checkpoints = served.embedded.storage.log.store.checkpoints(0, 1000)
        found.batch_sizes = [
            len(r.documents) for size, _ in checkpoints if (r := records.get(size)) is not None
        ]
        for count, ids in found.groups.items():
            fetched = _fetch(served, signer, [{"credential_id": c} for c in ids])
            for i, document in enumerate(fetched):
                documents[f"batch{count}-{i}"] = document
        first, second = _fetch(
            served,
            signer,
            [{"credential_id": amended, "version": 1}, {"credential_id": amended, "version": 2}],
        )
        documents["superseded"], documents["amended"] = first, second
        documents["revoked"] = documents.pop("batch17-0")
        tampered = copy.deepcopy(documents["batch2-0"])
        tampered["credentialSubject"]["fullName"] = "Someone Else"
        documents["tampered"] = tampered
        documents["reanchored"] = _reanchored_elsewhere(documents["batch1-0"], node.url)
    finally:
        served.stop()
    rotation = rotate_anchoring_key(Settings(**common), dev_account(3).key.hex())
    found.keys = (rotation.retired, rotation.adopted)
    served = _serve(Settings(**common), cert, key)
    try:
        (after_rotation,) = _issue_batch(served, signer, 1, start)
        documents["after-rotation"] = _fetch(served, signer, [{"credential_id": after_rotation}])[0]
        documents["before-rotation"] = _fetch(
            served, signer, [{"credential_id": found.groups[17][1]}]
        )[0]
        found.profile = served.public._call("GET", f"/issuers/{entry['issuer_id']}/profile")
        found.results, found.outside = _run_verifier(documents, node.url, cert)
        yield found
    finally:
        served.stop()
        node.stop()


def _failed_at(outcome: dict[str, Any]) -> str | None:
    failures = [step["code"] for step in outcome["reported"] if step["status"] == "failure"]
    return failures[0] if failures else None


def _passed_every_planned_step(outcome: dict[str, Any]) -> bool:
    succeeded = {step["code"] for step in outcome["reported"] if step["status"] == "success"}
    return bool(outcome["planned"]) and set(outcome["planned"]) <= succeeded


def test_batches_hold_1_2_3_and_17_documents(scenario: Scenario) -> None:
    assert [n for n in scenario.batch_sizes if n][:4] == [1, 2, 3, 17]


def test_fresh_documents_verify_with_every_planned_step_reported(scenario: Scenario) -> None:
    fresh = {k: v for k, v in scenario.results.items() if k.startswith("batch")}
    assert len(fresh) == 1 + 2 + 3 + 17 - 1  # one of the 17 is revoked
    for label, outcome in fresh.items():
        assert outcome["final"]["status"] == "success", (label, outcome)
        assert _passed_every_planned_step(outcome), (label, outcome)


def test_the_planned_steps_cover_hash_anchor_issuer_and_status(scenario: Scenario) -> None:
    planned = set(scenario.results["batch1-0"]["planned"])
    assert {
        "assertProofValidity",
        "getTransactionId",
        "computeLocalHash",
        "fetchRemoteHash",
        "compareHashes",
        "checkMerkleRoot",
        "checkReceipt",
        "parseIssuerKeys",
        "checkAuthenticity",
        "checkRevokedStatus",
    } <= planned


def test_a_document_with_one_field_changed_fails_at_compare_hashes(scenario: Scenario) -> None:
    outcome = scenario.results["tampered"]
    assert outcome["final"]["status"] == "failure"
    assert _failed_at(outcome) == "compareHashes"


def test_a_revoked_credential_fails_at_check_revoked_status(scenario: Scenario) -> None:
    outcome = scenario.results["revoked"]
    assert outcome["final"]["status"] == "failure"
    assert _failed_at(outcome) == "checkRevokedStatus"
    assert "assessment misconduct established" in outcome["final"]["message"]


def test_a_superseded_version_fails_at_check_revoked_status(scenario: Scenario) -> None:
    outcome = scenario.results["superseded"]
    assert _failed_at(outcome) == "checkRevokedStatus"
    assert "superseded by version 2" in outcome["final"]["message"]


def test_the_amended_version_verifies(scenario: Scenario) -> None:
    assert scenario.results["amended"]["final"]["status"] == "success"


def test_a_document_reanchored_by_an_unlisted_address_fails_at_check_authenticity(
    scenario: Scenario,
) -> None:
    outcome = scenario.results["reanchored"]
    assert outcome["final"]["status"] == "failure"
    assert _failed_at(outcome) == "checkAuthenticity"


def test_a_document_anchored_before_a_key_rotation_verifies_after_it(scenario: Scenario) -> None:
    outcome = scenario.results["before-rotation"]
    assert outcome["final"]["status"] == "success", outcome
    assert _passed_every_planned_step(outcome)


def test_a_document_anchored_with_the_new_key_verifies(scenario: Scenario) -> None:
    assert scenario.results["after-rotation"]["final"]["status"] == "success"


def test_the_profile_lists_the_retired_key_as_revoked_and_the_new_one(
    scenario: Scenario,
) -> None:
    retired, adopted = scenario.keys
    keys = {k["id"]: k for k in scenario.profile["publicKey"]}
    assert "revoked" in keys[f"ecdsa-koblitz-pubkey:{retired}"]
    assert "revoked" not in keys[f"ecdsa-koblitz-pubkey:{adopted}"]
    assert (
        keys[f"ecdsa-koblitz-pubkey:{adopted}"]["created"]
        == (keys[f"ecdsa-koblitz-pubkey:{retired}"]["revoked"])
    )


def test_no_request_left_the_machine(scenario: Scenario) -> None:
    assert scenario.outside == []
