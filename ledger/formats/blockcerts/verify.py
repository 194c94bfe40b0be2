"""Verifying a Blockcerts credential document, step by step, failing closed.

The checks are those of the Blockcerts reference verifier (hash, anchor path, transaction,
issuer key at the transaction's time, revocation), with one difference that matters: where the
reference verifier passes a revoked credential because the revocation list cannot be fetched,
this verifier answers ``status-unknown``, never ``valid``. The same holds for an issuer profile
that cannot be fetched (``issuer-unknown``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

from anchors.anchor_tree import root_from_path
from anchors.chain import BURN_ADDRESS, Chain, ChainUnavailable, confirmations_of
from anchors.jsonld import VC_V2, CanonicalizationError
from anchors.merkle import VerificationError
from anchors.merkle_proof_2019 import MerkleProof2019, ProofValueError
from ledger.domain.content import parse_timestamp
from ledger.formats.blockcerts.document_quads import document_hash
from ledger.verify.report import Report

_VC_V1 = "https://www.w3.org/2018/credentials/v1"
_KEY_PREFIX = "ecdsa-koblitz-pubkey:"


class Unreachable(Exception):
    """A profile or list could not be fetched (or may not be, from here)."""


class Resolver(Protocol):
    """Where a verifier gets what a document points to."""

    def profile(self, url: str) -> dict[str, Any]: ...

    def revoked(self, list_url: str, document_id: str) -> list[dict[str, Any]]:
        """The revocation list's entries for ``document_id`` (queried with assertionId)."""
        ...


@dataclass
class HttpResolver:
    """Fetches over HTTP(S); profiles given in ``pinned`` (by URL) are not fetched."""

    fetch: Callable[[str], Any]
    pinned: dict[str, dict[str, Any]]

    def profile(self, url: str) -> dict[str, Any]:
        if url in self.pinned:
            return self.pinned[url]
        found = self._get(url)
        if not isinstance(found, dict):
            raise Unreachable(f"{url} did not answer with a profile")
        return found

    def revoked(self, list_url: str, document_id: str) -> list[dict[str, Any]]:
        separator = "&" if "?" in list_url else "?"
        found = self._get(f"{list_url}{separator}assertionId={quote(document_id, safe='')}")
        entries = found.get("revokedAssertions") if isinstance(found, dict) else None
        if not isinstance(entries, list):
            raise Unreachable(f"{list_url} did not answer with a revocation list")
        return entries

    def _get(self, url: str) -> Any:
        try:
            return self.fetch(url)
        except Exception as exc:
            raise Unreachable(f"{url}: {exc}") from exc


class _Failed(Exception):
    pass


def verify_document(
    document: Any,
    chain: Chain | None,
    resolver: Resolver,
    confirmations: int = 1,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Report:
    """Check a Blockcerts document; the verdict is ``valid`` only if every step passed."""
    report = Report()
    try:
        _verify(report, document, chain, resolver, confirmations, now())
    except _Failed:
        if report.verdict in ("valid", "status-unknown"):
            report.verdict = "invalid"
    return report


def _fail(report: Report, name: str, detail: str, verdict: str = "invalid") -> _Failed:
    report.add(name, False, detail)
    report.verdict = verdict
    return _Failed()


def _verify(
    report: Report,
    document: Any,
    chain: Chain | None,
    resolver: Resolver,
    confirmations: int,
    now: datetime,
) -> None:
    proof = _format(report, document)
    try:
        local = document_hash(document)
    except CanonicalizationError as exc:
        raise _fail(report, "integrity", f"The document cannot be canonicalized: {exc}.") from exc
    if local != proof.target_hash:
        raise _fail(
            report, "integrity", "The document's hash is not the one its proof anchors: changed."
        )
    report.add("integrity", True, "The document hashes (URDNA2015, SHA-256) to its proof's leaf.")
    report.document_leaf = local.hex()
    try:
        computed = root_from_path(proof.target_hash, proof.path)
    except VerificationError as exc:
        raise _fail(report, "anchor_path", f"The proof's path is malformed: {exc}.") from exc
    if computed != proof.merkle_root:
        raise _fail(report, "anchor_path", "The proof's path does not lead to its Merkle root.")
    report.add("anchor_path", True, "The path leads from the document to the anchored root.")
    anchored = _transaction(report, chain, proof, confirmations)
    issuer = document["issuer"]
    issuer_url = issuer.get("id", "") if isinstance(issuer, dict) else issuer
    try:
        profile = resolver.profile(str(issuer_url))
    except Unreachable as exc:
        report.add("issuer", None, f"The issuer profile could not be fetched: {exc}.")
        report.add("status", None, "Without the issuer profile the status cannot be checked.")
        report.verdict = "issuer-unknown"
        return
    _issuer(report, profile, anchored)
    _validity(report, document, now)
    list_url = profile.get("revocationList")
    if not list_url:
        report.add("status", None, "The issuer publishes no revocation list.")
        report.verdict = "status-unknown"
        return
    try:
        entries = resolver.revoked(str(list_url), str(document["id"]))
    except Unreachable as exc:
        report.add("status", None, f"The revocation list could not be fetched: {exc}.")
        report.verdict = "status-unknown"
        return
    listed = [e for e in entries if isinstance(e, dict) and e.get("id") == document["id"]]
    if listed:
        reason = str(listed[0].get("revocationReason") or "no reason given")
        verdict = "superseded" if reason.startswith("superseded") else "revoked"
        raise _fail(report, "status", f"The issuer lists this document: {reason}.", verdict)
    report.add("status", True, "The issuer's revocation list does not list this document.")
    unchecked = [s for s in report.steps if s.passed is None]
    report.verdict = "status-unknown" if unchecked else "valid"


def _format(report: Report, document: Any) -> MerkleProof2019:
    problems = []
    if not isinstance(document, dict):
        raise _fail(report, "format", "The file is not a JSON object.")
    contexts = document.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first not in (VC_V2, _VC_V1):
        problems.append("its first @context is not a W3C Verifiable Credentials context")
    if "VerifiableCredential" not in (document.get("type") or []):
        problems.append("its type does not include VerifiableCredential")
    if not document.get("id") or not document.get("issuer"):
        problems.append("it has no id or no issuer")
    proof = document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "merkle-proof-2019":
        problems.append("it has no MerkleProof2019 DataIntegrityProof")
    if problems:
        raise _fail(report, "format", "Not a Blockcerts v3 document: " + "; ".join(problems) + ".")
    assert isinstance(proof, dict)
    try:
        decoded = MerkleProof2019.decode(str(proof.get("proofValue", "")))
    except ProofValueError as exc:
        raise _fail(report, "format", f"The proof value does not decode: {exc}.") from exc
    report.add("format", True, "A W3C VC with a MerkleProof2019 proof anchored on Ethereum.")
    return decoded


@dataclass
class _Anchored:
    sender: str | None
    time: datetime | None


def _transaction(
    report: Report, chain: Chain | None, proof: MerkleProof2019, confirmations: int
) -> _Anchored:
    tx_hash = "0x" + proof.tx_hash.hex()
    if chain is None:
        report.add("transaction", None, "No chain was given: the anchor was not checked.")
        return _Anchored(None, None)
    try:
        chain_id = chain.chain_id()
        mined = chain.transaction(tx_hash)
        head = chain.head()
        block = chain.block(mined.block_number) if mined is not None else None
    except ChainUnavailable as exc:
        # Not checked is not failed: the verdict can only become "status-unknown".
        report.add("transaction", None, f"The chain could not be reached: {exc}.")
        return _Anchored(None, None)
    if mined is None or block is None:
        raise _fail(report, "transaction", f"Transaction {tx_hash} is not on the chain.")
    problems = []
    if chain_id != proof.chain_id:
        problems.append(f"the node is chain {chain_id}, the proof names {proof.chain_id}")
    if mined.data != proof.merkle_root:
        problems.append("its data is not the proof's Merkle root")
    if (mined.to or "").lower() != BURN_ADDRESS.lower() or mined.value != 0:
        problems.append("it is not a zero-value transaction to the burn address")
    depth = confirmations_of(mined.block_number, head)
    if depth < confirmations:
        problems.append(f"it has {depth} confirmations, {confirmations} are required")
    if problems:
        raise _fail(
            report, "transaction", "The anchor does not match: " + "; ".join(problems) + "."
        )
    report.add(
        "transaction",
        True,
        f"Transaction {tx_hash} in block {mined.block_number} of chain {chain_id} carries the "
        f"root, with {depth} confirmations.",
    )
    return _Anchored(mined.sender, datetime.fromtimestamp(block[1], UTC))


def _issuer(report: Report, profile: dict[str, Any], anchored: _Anchored) -> None:
    name = profile.get("name", "the issuer")
    if anchored.sender is None or anchored.time is None:
        report.add("issuer", None, f"Anchored by {name}? Not checked without the chain.")
        return
    keys = {
        str(k.get("id", "")).removeprefix(_KEY_PREFIX).lower(): k
        for k in profile.get("publicKey") or []
        if isinstance(k, dict)
    }
    key = keys.get(anchored.sender.lower())
    if key is None:
        raise _fail(
            report,
            "issuer",
            f"The anchoring address {anchored.sender} is not a key of {name}'s profile.",
        )
    when = anchored.time
    created = key.get("created")
    revoked = key.get("revoked")
    if created and when <= parse_timestamp(str(created)):
        raise _fail(report, "issuer", f"The key {anchored.sender} was adopted after the anchor.")
    if revoked and when >= parse_timestamp(str(revoked)):
        raise _fail(report, "issuer", f"The key {anchored.sender} was retired before the anchor.")
    report.add(
        "issuer",
        True,
        f"Anchored by {name}'s key {anchored.sender}, valid at {when:%Y-%m-%d %H:%M:%S} UTC.",
    )


def _validity(report: Report, document: dict[str, Any], now: datetime) -> None:
    try:
        valid_from = document.get("validFrom")
        valid_until = document.get("validUntil")
        if valid_from and parse_timestamp(str(valid_from)) > now:
            raise _fail(report, "validity", f"Not valid before {valid_from}.", "not-yet-valid")
        if valid_until and parse_timestamp(str(valid_until)) <= now:
            raise _fail(report, "validity", f"Expired on {valid_until}.", "expired")
    except ValueError as exc:
        raise _fail(report, "validity", f"A validity date is malformed: {exc}.") from exc
    report.add("validity", True, "Within its validity period.")
