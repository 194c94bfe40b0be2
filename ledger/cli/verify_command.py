"""``credledger proof`` and ``credledger verify``: save a proof bundle, check it anywhere."""

from __future__ import annotations

import base64
import json
import re
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import httpx
from cryptography import x509

from anchors.ethereum import Web3Chain
from ledger.cli import options
from ledger.client import LedgerRequestError
from ledger.formats.blockcerts.verify import HttpResolver, verify_document
from ledger.formats.edc.verify import NoSealLedger, TrustAnchors, verify_sealed
from ledger.persistence.read_model import version_status
from ledger.verify.bundle_checks import verify_bundle
from ledger.verify.combined import bundle_content, combine, quality_assurance_step
from ledger.verify.report import Report, Step
from ledger.verify.tile_mirror import check_against_mirror

EXIT_CODES = {"valid": 0, "status-unknown": 3, "issuer-unknown": 3}
_MARKS = {True: ("PASS", "green"), False: ("FAIL", "red"), None: ("----", "yellow")}


@click.command()
@options.url
@click.argument("credential_id")
@click.option("--version", type=int, help="A version number; default: the current one.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here, not stdout."
)
@options.reporting_errors
def proof(url: str, credential_id: str, version: int | None, out: Path | None) -> None:
    """Fetch the self-contained proof bundle of a credential.

    \b
    Example:
      credledger proof 7c9a... --out credential-proof.json
    """
    with options.client(url) as client:
        bundle = json.dumps(client.proof(credential_id, version), indent=2)
    if out is None:
        click.echo(bundle)
    else:
        out.write_text(bundle + "\n", encoding="utf-8")


def _status_from(url: str) -> Any:
    client = options.client(url, timeout=10)

    def current(credential_id: str, position: int) -> dict[str, Any] | None:
        try:
            return version_status(client.status(credential_id), position)
        except LedgerRequestError:
            return None

    return current


def _print(report: Report, as_json: bool) -> None:
    disclosed = (report.credential or {}).get("disclosed")
    if as_json:
        extra = {} if disclosed is None else {"credential": report.credential}
        click.echo(json.dumps({**report.as_dict(), **extra}, indent=2, ensure_ascii=False))
        return
    for step in report.steps:
        mark, colour = _MARKS[step.passed]
        click.echo(f"{click.style(mark, fg=colour, bold=True)}  {step.name:20} {step.detail}")
    for claim in disclosed or []:
        labels = [label for label in claim.get("value_labels", []) if label]
        value = json.dumps(claim["value"], ensure_ascii=False)
        click.echo(
            f"   disclosed: {claim['label']}: {value}"
            + (f" ({', '.join(labels)})" if labels else "")
        )
    colour = "green" if report.verdict == "valid" else "red"
    click.echo(click.style(f"verdict: {report.verdict}", fg=colour, bold=True))


def _fetch_json(url: str) -> Any:
    ca_file = options.trusted_ca()
    response = httpx.get(
        url,
        timeout=10,
        headers={"Accept": "application/json"},
        verify=ssl.create_default_context(cafile=ca_file) if ca_file else True,
    )
    response.raise_for_status()
    return response.json()


def _pinned_profiles(paths: tuple[Path, ...]) -> dict[str, dict[str, Any]]:
    pinned = {}
    for path in paths:
        profile = json.loads(path.read_text("utf-8"))
        if not isinstance(profile, dict) or "id" not in profile:
            raise click.BadParameter(f"{path} is not an issuer profile (no id)")
        pinned[str(profile["id"])] = profile
    return pinned


def is_sealed(data: Any) -> bool:
    """Whether ``data`` is a JWS in JSON serialization (a sealed EDC credential)."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("payload"), str)
        and isinstance(data.get("signatures"), list)
    )


_LOCAL_EDC_STEPS = ("seal", "certificate_chain", "shapes")


def verify_sealed_file(
    sealed: dict[str, Any], trust_anchors: Path | None, ledger_url: str | None
) -> Report:
    """The seal, chain and shapes checked here; the ledger's record, anchor and status asked
    of the ledger (its seal and shape steps are replaced by these)."""
    trust = (
        None
        if trust_anchors is None
        else TrustAnchors(tuple(x509.load_pem_x509_certificates(trust_anchors.read_bytes())))
    )
    local = verify_sealed(sealed, NoSealLedger(), trust)
    report = Report(steps=[s for s in local.steps if s.name in _LOCAL_EDC_STEPS])
    if ledger_url is None:
        report.add("ledger_record", None, "No ledger was asked (--ledger-url): not checked.")
        remote_verdict = "status-unknown"
    else:
        try:
            with options.client(ledger_url, timeout=30) as client:
                answer = client.verify(edc=sealed)
        except (LedgerRequestError, httpx.HTTPError) as exc:
            answer = {"verdict": "status-unknown", "steps": []}
            report.add("ledger_record", None, f"The ledger could not be asked: {exc}")
        for step in answer["steps"]:
            if step["name"] not in _LOCAL_EDC_STEPS:
                report.add(step["name"], step["passed"], step["detail"])
        remote_verdict = str(answer["verdict"])
    if any(step.passed is False for step in report.steps[: len(_LOCAL_EDC_STEPS)]):
        report.verdict = "invalid"
    else:
        report.verdict = remote_verdict
    return report


SD_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+~")


def verify_presentation_file(
    text: str, nonce: str | None, audience: str | None, ledger_url: str | None
) -> Report:
    """An SD-JWT VC presentation, verified by the ledger that issued it; the disclosed claims
    are printed after the steps."""
    if nonce is None or audience is None:
        raise click.UsageError("an SD-JWT VC presentation is verified for --nonce and --audience")
    url = ledger_url or _issuer_ledger(text)
    if url is None:
        raise click.UsageError("give --ledger-url: the SD-JWT VC names no credledger issuer")
    try:
        with options.client(url, timeout=30) as client:
            answer = client.verify(sd_jwt=text, nonce=nonce, audience=audience)
    except (LedgerRequestError, httpx.HTTPError) as exc:
        report = Report(verdict="status-unknown")
        report.add("ledger_record", None, f"The ledger could not be asked: {exc}")
        return report
    report = Report(verdict=str(answer["verdict"]), credential=answer.get("credential"))
    for step in answer["steps"]:
        report.add(step["name"], step["passed"], step["detail"])
    return report


def _issuer_ledger(text: str) -> str | None:
    """The ledger an SD-JWT VC's issuer is registered at (``<ledger>/issuers/<id>``)."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(text.split(".")[1] + "=="))
    except (ValueError, IndexError):
        return None
    match = re.match(r"^(https?://.+)/issuers/[0-9a-f-]{36}$", str(payload.get("iss", "")))
    return match.group(1) if match else None


def _is_document(data: Any) -> bool:
    proof = data.get("proof") if isinstance(data, dict) else None
    return isinstance(proof, dict) and proof.get("cryptosuite") == "merkle-proof-2019"


def _ledger_of(document: dict[str, Any]) -> str | None:
    """The ledger a credledger document names: its issuer profile's base URL."""
    issuer = document.get("issuer")
    url = issuer.get("id") if isinstance(issuer, dict) else issuer
    match = re.match(r"^(https?://.+)/issuers/[0-9a-f-]{36}/profile$", str(url or ""))
    return match.group(1) if match else None


def _with_record(
    document: Report,
    data: dict[str, Any],
    ledger_url: str | None,
    check: Callable[[dict[str, Any]], Report],
) -> Report:
    """The document's report joined with its ledger record and the issuer's register entry,
    as the web page shows them; an unreachable ledger leaves those checks not done."""
    credential_id, version = data.get("ledgerCredentialId"), data.get("credentialVersion")
    if ledger_url is None or not isinstance(credential_id, str):
        return combine(document, None, None)
    try:
        with options.client(ledger_url, timeout=10) as client:
            record = check(client.proof(credential_id, version))
            found = client.status(credential_id)
            issuer = client.issuer(found["issuer_id"])
    except (LedgerRequestError, httpx.HTTPError) as exc:
        unreachable = Report(verdict="status-unknown")
        unreachable.add("envelope", None, f"The ledger's record could not be fetched: {exc}.")
        return combine(document, unreachable, None)
    content = next((v["content"] for v in found["versions"] if v["version"] == version), None)
    return combine(document, record, quality_assurance_step(issuer, content))


@click.command()
@click.argument("bundle_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--rpc",
    type=options.RpcUrl(),
    envvar="CREDLEDGER_VERIFY_RPC",
    help="A JSON-RPC URL of the chain.",
)
@click.option(
    "--log-key", help="The ledger's log verifier key to pin (else the bundle's own is used)."
)
@click.option(
    "--ledger-url",
    help="Ask this ledger for the current status (else the status is not checked).",
)
@options.confirmations
@click.option(
    "--witness",
    "witness_keys",
    multiple=True,
    help="A trusted witness key, BLS hex or a C2SP cosignature/v1 verifier key (repeat).",
)
@click.option("--quorum", default=0, show_default=True, help="Cosignatures required.")
@click.option(
    "--issuer-profile",
    "issuer_profiles",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A saved issuer profile to trust instead of fetching it (documents; repeat).",
)
@click.option(
    "--trust-anchors",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="EDC: a PEM file of the CA certificates a seal's chain must lead to.",
)
@click.option("--nonce", help="SD-JWT VC: the nonce the holder's key binding must carry.")
@click.option("--audience", help="SD-JWT VC: the audience (you) the key binding must name.")
@click.option(
    "--tiles",
    "tiles_url",
    help="Bundles: also check the event against a tile mirror of the log (C2SP tlog-tiles "
    "prefix, e.g. https://cdn.example/tlog).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify(
    bundle_file: Path,
    rpc: str | None,
    log_key: str | None,
    ledger_url: str | None,
    confirmations: int,
    witness_keys: tuple[str, ...],
    quorum: int,
    issuer_profiles: tuple[Path, ...],
    trust_anchors: Path | None,
    nonce: str | None,
    audience: str | None,
    tiles_url: str | None,
    as_json: bool,
) -> None:
    """Check a Blockcerts credential document, a sealed Europass EDC credential or a saved
    proof bundle, trusting nothing it can recompute.

    A document (what a learner holds): its hash, the anchor path, with --rpc the transaction
    and the issuer's anchoring key at its time (from the issuer profile, fetched or given with
    --issuer-profile), its validity dates and the issuer's revocation list. A revocation list
    that cannot be fetched gives "status-unknown", never "valid".

    A sealed EDC credential (.edc.jsonld): here, the JAdES seal, the certificate chain (with
    --trust-anchors) and the EDC shapes; from the ledger at --ledger-url, its record of the
    seal, the anchor and the current status.

    An SD-JWT VC presentation (<jwt>~<disclosure>~…~<kb-jwt>, from a wallet), for --nonce and
    --audience: the ledger (--ledger-url, else the one its issuer names) checks the issuer's
    signature and key history, each disclosure, the key binding, the status list entry, and the
    delivery's record and anchor; only the disclosed claims are shown.

    A bundle (`credledger proof`): the envelope, the issuer's signature and register entry, log
    inclusion, the checkpoint signature, the anchor path and, with --rpc, the transaction; with
    --tiles, the event's inclusion under the checkpoint of a tile mirror, and that checkpoint's
    consistency with the bundle's (no ledger needed).

    Exit status: 0 valid; 3 authentic as far as checked, but the status or issuer could not be
    checked; 1 anything else.

    \b
    Examples:
      credledger verify diploma.json --rpc https://sepolia.example/rpc
      credledger verify credential-proof.json --rpc http://127.0.0.1:8545 \\
        --log-key "credledger.local/1a2b3c4d+...+..."
    """
    text = bundle_file.read_text("utf-8", errors="replace").strip()
    if SD_JWT.match(text):
        report = verify_presentation_file(text, nonce, audience, ledger_url)
        _print(report, as_json)
        sys.exit(EXIT_CODES.get(report.verdict, 1))
    try:
        bundle = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        bundle = {"unreadable": str(exc)}
    if is_sealed(bundle):
        report = verify_sealed_file(bundle, trust_anchors, ledger_url)
        _print(report, as_json)
        sys.exit(EXIT_CODES.get(report.verdict, 1))
    chain = Web3Chain.connect(rpc) if rpc else None
    if _is_document(bundle):
        resolver = HttpResolver(_fetch_json, _pinned_profiles(issuer_profiles))
        document = verify_document(bundle, chain, resolver, confirmations=confirmations)
        report = _with_record(
            document,
            bundle,
            ledger_url or _ledger_of(bundle),
            lambda found: verify_bundle(
                found,
                chain,
                trusted_log_key=log_key,
                confirmations=confirmations,
                witnesses=frozenset(witness_keys),
                quorum=quorum,
            ),
        )
        _print(report, as_json)
        sys.exit(EXIT_CODES.get(report.verdict, 1))
    report = verify_bundle(
        bundle,
        chain,
        trusted_log_key=log_key,
        confirmations=confirmations,
        current_status=_status_from(ledger_url) if ledger_url else None,
        witnesses=frozenset(witness_keys),
        quorum=quorum,
    )
    if tiles_url is not None and isinstance(bundle, dict) and report.verdict != "invalid":
        check_against_mirror(
            report, bundle, options.tile_mirror(tiles_url), log_key, frozenset(witness_keys)
        )
    if ledger_url is not None and isinstance(bundle, dict) and "credential_id" in bundle:
        report = combine(None, report, _register_check(ledger_url, bundle))
    _print(report, as_json)
    sys.exit(EXIT_CODES.get(report.verdict, 1))


def _register_check(ledger_url: str, bundle: dict[str, Any]) -> Step | None:
    """The issuer's quality assurance, from the ledger's register (as the page shows it)."""
    try:
        with options.client(ledger_url, timeout=10) as client:
            found = client.status(str(bundle["credential_id"]))
            issuer = client.issuer(found["issuer_id"])
    except (LedgerRequestError, httpx.HTTPError):
        return Step("quality_assurance", None, "The ledger's register could not be asked.")
    return quality_assurance_step(issuer, bundle_content(found, bundle))
