"""``credledger demo``: the whole issuer journey on the embedded default, end to end.

It starts the real HTTP API on a free local port, registers a demo issuer, issues three
credentials through the signing client, amends one, revokes another, prints their status, waits
for the anchor, verifies two proof bundles, and saves and verifies one learner's Blockcerts
document; then it seals the same learner's Europass EDC credential with a demo seal (a demo CA
and seal certificate made in the data directory), records and verifies it; last it delivers
that credential to a demo wallet over OpenID4VCI as an SD-JWT VC, and verifies a presentation
that discloses only the title, the EQF level and the credit points.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import uvicorn

from ledger.api import create_app
from ledger.cli import options
from ledger.cli.seal_commands import load_chain, load_key, seal_and_record
from ledger.client import CommandSigner, LedgerClient, LedgerRequestError
from ledger.domain import samples
from ledger.domain.aggregates import issuer_id_for
from ledger.domain.signing import IssuerKey
from ledger.formats.edc.demo_pki import DemoCA
from ledger.formats.sd_jwt.holder import Holder
from ledger.settings import Settings, create_secrets


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_server(app: object, port: int) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True, name="demo-api")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise click.ClickException("the demo API server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def _document(client: LedgerClient, signer: CommandSigner, credential_id: str, out: Path) -> None:
    """Fetch the learner's Blockcerts document of the current version, save it, verify it."""
    deadline = time.monotonic() + 30
    while True:
        (item,) = client.documents(signer.read_documents([{"credential_id": credential_id}]))
        if "document" in item or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if "document" not in item:
        raise click.ClickException(f"no document: {item['problem']['detail']}")
    path = out / "documents" / f"{credential_id}-v{item['version']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(item["document"], indent=2, ensure_ascii=False) + "\n", "utf-8")
    click.echo(f"the learner's Blockcerts document (W3C VC 2.0, MerkleProof2019) is in {path}")
    report = client.verify(document=item["document"])
    click.echo(f"verify the document: {report['verdict']}")
    for step in report["steps"]:
        mark = {True: "pass", False: "FAIL", None: "----"}[step["passed"]]
        click.echo(f"  {mark}  {step['name']:20} {step['detail']}")


DEMO_CA = "demo-ca.pem"
DEMO_SEAL = "demo-seal.pem"
DEMO_SEAL_KEY = "demo-seal-key.pem"


def _demo_pki(data_dir: Path) -> None:
    """A demo CA and the demo issuer's seal certificate, made once in the data directory."""
    if (data_dir / DEMO_SEAL_KEY).exists():
        return
    ca = DemoCA.create()
    identity = ca.issue_seal(samples.ISSUER_NAME, samples.ISSUER_LEGAL_IDENTIFIER, "IE")
    (data_dir / DEMO_CA).write_bytes(ca.certificate_pem())
    (data_dir / DEMO_SEAL).write_bytes(identity.certificate_pem())
    key_path = data_dir / DEMO_SEAL_KEY
    key_path.touch(mode=0o600)
    key_path.write_bytes(identity.key_pem())


def _edc(client: LedgerClient, signer: CommandSigner, credential_id: str, data_dir: Path) -> None:
    """Seal the learner's Europass EDC credential with the demo seal, record it, verify it."""
    pem = (data_dir / DEMO_SEAL).read_text("ascii")
    try:
        client.register_seal_certificate(signer.register_seal_certificate(pem))
        click.echo("registered the demo issuer's electronic-seal certificate")
    except LedgerRequestError as exc:
        if exc.code != "already-registered":
            raise
    out = data_dir / "documents"
    written, failures = seal_and_record(
        client,
        signer,
        [{"credential_id": credential_id}],
        load_chain(data_dir / DEMO_SEAL),
        load_key(data_dir / DEMO_SEAL_KEY),
        out,
    )
    if failures:
        raise click.ClickException(f"no EDC credential: {failures[0]}")
    (path,) = written
    click.echo(f"the learner's Europass EDC credential (ELM v3, JAdES seal) is in {path}")
    sealed = json.loads(path.read_text("utf-8"))
    deadline = time.monotonic() + 60
    report = client.verify(edc=sealed)
    while report["verdict"] == "not-anchored" and time.monotonic() < deadline:
        time.sleep(0.5)
        report = client.verify(edc=sealed)
    click.echo(f"verify the EDC credential: {report['verdict']}")
    for step in report["steps"]:
        mark = {True: "pass", False: "FAIL", None: "----"}[step["passed"]]
        click.echo(f"  {mark}  {step['name']:20} {step['detail']}")


def _wallet(client: LedgerClient, signer: CommandSigner, credential_id: str, out: Path) -> None:
    """Deliver the credential to a demo wallet over OpenID4VCI, and verify a presentation that
    discloses only the title, the EQF level and the credit points."""
    if not client.issuer(signer.issuer_id)["wallet_keys"]:
        client.adopt_wallet_key(signer.adopt_wallet_key())
        click.echo("the ledger adopted a signing key for the issuer's SD-JWT VCs")
    version = int(client.status(credential_id)["current_version"])
    offer = client.offer(signer.offer(credential_id, version))
    click.echo("offered it to the learner's wallet (OpenID4VCI; the PIN goes apart from the QR)")
    holder = Holder()
    credential = holder.receive(offer["credential_offer_uri"], offer["tx_code"])
    path = out / "documents" / f"{credential_id}-v{version}.sd-jwt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(credential + "\n", "utf-8")
    click.echo(f"the learner's wallet holds the SD-JWT VC (dc+sd-jwt) in {path}")
    audience = "https://employer.example/verifier"
    deadline = time.monotonic() + 60
    while True:
        # A presentation is verified once (its key binding is then spent): a fresh one each try.
        nonce = secrets.token_urlsafe(12)
        shown = holder.present(credential, {"title", "eqf_level", "credit_points"}, nonce, audience)
        report = client.verify(sd_jwt=shown, nonce=nonce, audience=audience)
        if report["verdict"] != "not-anchored" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    click.echo(f"verify a presentation of title, EQF level and credits only: {report['verdict']}")
    for step in report["steps"]:
        mark = {True: "pass", False: "FAIL", None: "----"}[step["passed"]]
        click.echo(f"  {mark}  {step['name']:20} {step['detail']}")
    for claim in report["credential"]["disclosed"]:
        labels = [label for label in claim.get("value_labels", []) if label]
        named = f" ({', '.join(labels)})" if labels else ""
        click.echo(f"  disclosed  {claim['label']}: {json.dumps(claim['value'])}{named}")


def _issuer_key(data_dir: Path) -> IssuerKey:
    path = data_dir / "demo-issuer-key.json"
    if path.exists():
        return IssuerKey.load(path)
    key = IssuerKey.generate()
    key.save(path)
    return key


@click.command()
@options.data_dir
@options.reporting_errors
def demo(data_dir: Path) -> None:
    """Register a demo issuer; issue, amend and revoke credentials; print their status.

    \b
    Example:
      credledger demo --data-dir /tmp/credledger-demo
    """
    from ledger.runtime.embedded import EmbeddedLedger

    create_secrets(data_dir)
    _demo_pki(data_dir)
    # Short batches, so that the demo sees its credentials anchored within seconds.
    # The port is chosen first: documents and issuer profiles name the URL they are served at.
    port = _free_port()
    settings = Settings(
        data_dir=data_dir,
        batch_age_seconds=1.0,
        public_url=f"http://127.0.0.1:{port}",
        edc_trust_anchors=data_dir / DEMO_CA,
    )
    with EmbeddedLedger(settings) as embedded:
        server, thread, url = _start_server(create_app(embedded.api_context()), port)
        try:
            _journey(LedgerClient(url, admin_token=settings.admin_token_value()), data_dir, url)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _journey(client: LedgerClient, data_dir: Path, url: str) -> None:
    click.echo(f"credledger demo: API at {url}, data in {data_dir}")
    key = _issuer_key(data_dir)
    try:
        issuer = client.register_issuer(samples.issuer_registration(key.address))
        click.echo(f"registered issuer {issuer['legal_name']} as {issuer['issuer_id']}")
    except LedgerRequestError as exc:
        if exc.code != "already-registered":
            raise
        issuer = client.issuer(str(issuer_id_for(key.address)))
        click.echo(f"issuer {issuer['legal_name']} already registered as {issuer['issuer_id']}")
    signer = CommandSigner(key, issuer["issuer_id"])
    now = datetime.now(UTC)
    content = samples.credential_content(now)
    issued = [client.issue(signer.issue(content, learner)) for learner in samples.LEARNERS]
    click.echo(f"issued {len(issued)} credentials (learners' names are not in any event)")

    first, second = issued[0]["credential_id"], issued[1]["credential_id"]
    corrected = {**content, "title": "Applied Machine Learning (with Lab)"}
    client.amend(signer.amend(first, 1, corrected, learner=samples.LEARNERS[0]))
    click.echo(f"amended {first}: version 2 supersedes version 1")
    client.revoke(signer.revoke(second, 1, "assessment irregularity confirmed by the exam board"))
    click.echo(f"revoked {second}")

    click.echo("")
    click.echo(f"{'credential':36}  {'status':8}  {'version':7}  title")
    for result in issued:
        found = client.status(result["credential_id"])
        click.echo(
            f"{found['credential_id']:36}  {found['status']:8}  "
            f"{found['current_version']:<7}  {found['title']}"
        )
        for version in found["versions"]:
            click.echo(f"{'':38}v{version['version']} {version['status']}")
    click.echo("")
    click.echo("waiting for the batch to be anchored on the local chain ...")
    deadline = time.monotonic() + 60
    while not all(
        v["anchor"]["state"] == "anchored"
        for r in issued
        for v in client.status(r["credential_id"])["versions"]
    ):
        if time.monotonic() > deadline:
            raise click.ClickException("anchoring did not finish within a minute")
        time.sleep(0.2)
    for credential_id in (first, second):
        report = client.verify(credential_id=credential_id)
        click.echo(f"verify {credential_id}: {report['verdict']}")
        for step in report["steps"]:
            mark = {True: "pass", False: "FAIL", None: "----"}[step["passed"]]
            click.echo(f"  {mark}  {step['name']:20} {step['detail']}")
    _document(client, signer, first, data_dir)
    _edc(client, signer, first, data_dir)
    _wallet(client, signer, first, data_dir)
    click.echo("")
    click.echo(
        f"The chain's state is kept in {data_dir}: run the demo again, or `credledger serve "
        f"--data-dir {data_dir}`, and earlier anchors still verify."
    )
