"""The issuer's client: builds commands, commits to personal data, signs, and sends.

Nobody should hand-craft a signature. :class:`CommandSigner` produces request bodies ready to
post; :class:`LedgerClient` posts them and turns problem documents back into exceptions.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from ledger.domain.canonical import canonical_bytes
from ledger.domain.commitment import commit, new_salt
from ledger.domain.content import LearnerData, utc_now
from ledger.domain.signing import IssuerKey
from ledger.formats.blockcerts.document_quads import document_leaf
from ledger.formats.edc.credential import credential_reference
from ledger.formats.edc.seal import certificate_digest, read_sealed


def nfc(value: Any) -> Any:
    """``value`` with every string in Unicode NFC, the only form the ledger accepts: one name
    spelled in NFC or NFD must give one commitment and one signed text."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


def normalize_learner(learner: dict[str, Any]) -> dict[str, Any]:
    """The learner's data exactly as the ledger will commit to it (NFC, validated)."""
    return LearnerData.model_validate(nfc(learner)).model_dump(mode="json", exclude_none=True)


class CommandSigner:
    """Signs commands for one issuer with its current key."""

    def __init__(
        self, key: IssuerKey, issuer_id: str, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.key = key
        self.issuer_id = issuer_id
        self._clock = clock

    def _command(self, kind: str, command_id: str | None, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "command_id": command_id or str(uuid.uuid4()),
            "issuer_id": self.issuer_id,
            "signed_at": self._clock().isoformat(timespec="seconds"),
            **nfc(fields),
        }

    def _signed(self, command: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"command": command, "signature": self.key.sign(canonical_bytes(command)), **extra}

    def _salt(self, command_id: str | None) -> str:
        """A random salt; for a caller-chosen command id, one derived from it with the key, so
        that a retried command commits identically and the ledger recognises the repeat."""
        if command_id is None:
            return new_salt()
        message = f"credledger/salt/{self.issuer_id}/{command_id}".encode()
        return hmac.new(self.key.secret(), message, hashlib.sha256).hexdigest()

    def _with_learner(
        self, content: dict[str, Any], learner: dict[str, Any], command_id: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        clear = normalize_learner(learner)
        salt = self._salt(command_id)
        committed = {**content, "learner": {"commitment": commit(clear, salt)}}
        return committed, {"learner": clear, "salt": salt}

    def issue(
        self, content: dict[str, Any], learner: dict[str, Any], command_id: str | None = None
    ) -> dict[str, Any]:
        """An issue request: ``content`` without the learner, who is committed to here."""
        committed, personal = self._with_learner(content, learner, command_id)
        command = self._command("issue", command_id, content=committed)
        return self._signed(command, personal_data=personal)

    def amend(
        self,
        credential_id: str,
        version: int,
        content: dict[str, Any],
        learner: dict[str, Any] | None = None,
        commitment: str | None = None,
        command_id: str | None = None,
    ) -> dict[str, Any]:
        """An amend request of ``version`` (the current one); give the learner's data again, or
        keep the current commitment."""
        extra: dict[str, Any] = {}
        if learner is not None:
            committed, extra["personal_data"] = self._with_learner(content, learner, command_id)
        elif commitment is not None:
            committed = {**content, "learner": {"commitment": commitment}}
        else:
            raise ValueError("give the learner's data or the current commitment")
        command = self._command(
            "amend",
            command_id,
            credential_id=credential_id,
            version=str(version),
            content=committed,
        )
        return self._signed(command, **extra)

    def revoke(
        self, credential_id: str, version: int, reason: str, command_id: str | None = None
    ) -> dict[str, Any]:
        """A revocation of the credential as it stands at ``version`` (the current one)."""
        return self._signed(
            self._command(
                "revoke",
                command_id,
                credential_id=credential_id,
                version=str(version),
                reason=reason,
            )
        )

    def erase(
        self, credential_id: str, version: int, command_id: str | None = None
    ) -> dict[str, Any]:
        """An erasure of the learner's data, asked through ``credential_id`` at ``version``."""
        return self._signed(
            self._command("erase", command_id, credential_id=credential_id, version=str(version))
        )

    def read_personal_data(self, credential_id: str) -> dict[str, Any]:
        return self._signed(self._command("read-personal-data", None, credential_id=credential_id))

    def read_documents(
        self, wanted: list[dict[str, Any]], format: str = "blockcerts"
    ) -> dict[str, Any]:
        """A signed request for credential documents: ``[{"credential_id", "version"?}]``;
        ``format`` ``edc`` asks for the unsealed Europass EDC credentials, to seal here."""
        fields: dict[str, Any] = {"documents": wanted}
        if format != "blockcerts":
            fields["format"] = format
        return self._signed(self._command("read-documents", None, **fields))

    def register_seal_certificate(
        self, certificate_pem: str, replaces: str | None = None, command_id: str | None = None
    ) -> dict[str, Any]:
        """Register the seal certificate (PEM); ``replaces`` rotates out a registered one."""
        fields: dict[str, Any] = {"certificate": certificate_pem}
        if replaces is not None:
            fields["replaces"] = replaces
        return self._signed(self._command("register-seal-certificate", command_id, **fields))

    def revoke_seal_certificate(
        self, certificate_sha256: str, reason: str, command_id: str | None = None
    ) -> dict[str, Any]:
        return self._signed(
            self._command(
                "revoke-seal-certificate",
                command_id,
                certificate_sha256=certificate_sha256,
                reason=reason,
            )
        )

    def record_seal(self, sealed: dict[str, Any], command_id: str | None = None) -> dict[str, Any]:
        """A record of a sealed EDC credential: its digests, signed, the seal beside."""
        read = read_sealed(sealed)
        reference = credential_reference(str(read.credential.get("id")))
        if reference is None:
            raise ValueError("the sealed credential does not name a credential of this ledger")
        command = self._command(
            "record-seal",
            command_id,
            credential_id=reference[0],
            version=str(reference[1]),
            seal_sha256=read.digest,
            certificate_sha256=certificate_digest(read.certificate),
        )
        return self._signed(command, sealed=sealed)

    def adopt_wallet_key(self, command_id: str | None = None) -> dict[str, Any]:
        """Have the ledger adopt a new key for this issuer's SD-JWT VCs."""
        return self._signed(self._command("adopt-wallet-key", command_id))

    def offer(
        self, credential_id: str, version: int, command_id: str | None = None
    ) -> dict[str, Any]:
        """Offer version ``version`` of a credential to the learner's wallet (signed now: an
        offer request must be fresh)."""
        return self._signed(
            self._command("offer", command_id, credential_id=credential_id, version=str(version))
        )

    def publish_pathway(
        self, target: dict[str, Any], rules: dict[str, Any], command_id: str | None = None
    ) -> dict[str, Any]:
        """Publish a pathway toward ``target`` under ``rules`` (its version 1)."""
        return self._signed(
            self._command("publish-pathway", command_id, target=target, rules=rules)
        )

    def revise_pathway(
        self,
        pathway_id: str,
        version: int,
        target: dict[str, Any],
        rules: dict[str, Any],
        command_id: str | None = None,
    ) -> dict[str, Any]:
        """Replace version ``version`` of a pathway with new target and rules."""
        return self._signed(
            self._command(
                "revise-pathway",
                command_id,
                pathway_id=pathway_id,
                version=str(version),
                target=target,
                rules=rules,
            )
        )

    def recognise(
        self,
        pathway_id: str,
        pathway_version: int,
        documents: list[dict[str, Any]],
        command_id: str | None = None,
    ) -> dict[str, Any]:
        """A recognition decision that the credentials of ``documents`` (as the learner handed
        them over) meet version ``pathway_version`` of the pathway; the documents travel
        beside the signed command, which names each by id, version and anchored hash."""
        components = [
            {
                "credential_id": document["ledgerCredentialId"],
                "version": str(document["credentialVersion"]),
                "document_hash": document_leaf(document),
            }
            for document in documents
        ]
        command = self._command(
            "recognise",
            command_id,
            pathway_id=pathway_id,
            pathway_version=str(pathway_version),
            components=components,
        )
        return self._signed(command, documents=documents)

    def rotate_key(self, new_key: IssuerKey, command_id: str | None = None) -> dict[str, Any]:
        """A key rotation, signed by the current key and by the new one."""
        command = self._command("rotate-key", command_id, new_address=new_key.address)
        return self._signed(command, new_key_signature=new_key.sign(canonical_bytes(command)))


class LedgerRequestError(Exception):
    """The ledger refused a request; ``problem`` is its RFC 9457 body."""

    def __init__(self, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail", "request failed"))
        self.problem = problem
        self.status = int(problem.get("status", 0))
        self.code = str(problem.get("code", ""))

    def diagnostics(self) -> str:
        lines = [f"{self.problem.get('title', 'Error')} ({self.status}): {self}"]
        for error in self.problem.get("errors", []):
            lines.append(f"  - {error['field']}: {error['message']} [{error['rule']}]")
        return "\n".join(lines)


def _intake_pause(response: httpx.Response) -> float | None:
    """Seconds to wait before sending again, if the ledger paused its intake; else None."""
    if response.status_code != 503 or "retry-after" not in response.headers:
        return None
    try:
        problem = response.json()
        pause = float(response.headers["retry-after"])
    except ValueError:
        return None
    paused = isinstance(problem, dict) and problem.get("code") == "intake-paused"
    return pause if paused and 0 <= pause <= 60 else None


class LedgerClient:
    """A thin HTTP client for the ledger API."""

    def __init__(
        self,
        base_url: str,
        admin_token: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        ca_file: str | None = None,
        intake_patience: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``ca_file``: a PEM bundle to trust for the ledger's TLS certificate (a self-signed
        or private CA), instead of the system's. A command refused because the ledger's
        intake is paused (503 ``intake-paused``: it was not stored) is sent again after the
        ``Retry-After`` it names, for up to ``intake_patience`` seconds in all."""
        self._patience = intake_patience
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._http = http or httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers=headers,
            verify=ssl.create_default_context(cafile=ca_file) if ca_file else True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        waited = 0.0
        while (pause := _intake_pause(response)) is not None and waited + pause <= self._patience:
            self._sleep(pause)
            waited += pause
            response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"status": response.status_code, "detail": response.text}
            raise LedgerRequestError(problem)
        body: dict[str, Any] = response.json()
        return body

    def register_issuer(self, registration: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/issuers", json=registration)

    def suspend_issuer(self, issuer_id: str, reason: str) -> dict[str, Any]:
        return self._call("POST", f"/issuers/{issuer_id}/suspension", json={"reason": reason})

    def reinstate_issuer(self, issuer_id: str, reason: str) -> dict[str, Any]:
        return self._call("POST", f"/issuers/{issuer_id}/reinstatement", json={"reason": reason})

    def issuer(self, issuer_id: str) -> dict[str, Any]:
        return self._call("GET", f"/issuers/{issuer_id}")

    def rotate_key(self, body: dict[str, Any]) -> dict[str, Any]:
        issuer_id = body["command"]["issuer_id"]
        return self._call("POST", f"/issuers/{issuer_id}/keys", json=body)

    def issue(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/credentials", json=body)

    def bulk_issue(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self._call(
            "POST", "/credentials/bulk", json={"items": bodies}
        )["results"]
        return results

    def amend(self, body: dict[str, Any]) -> dict[str, Any]:
        credential_id = body["command"]["credential_id"]
        return self._call("POST", f"/credentials/{credential_id}/amendments", json=body)

    def revoke(self, body: dict[str, Any]) -> dict[str, Any]:
        credential_id = body["command"]["credential_id"]
        return self._call("POST", f"/credentials/{credential_id}/revocation", json=body)

    def erase(self, body: dict[str, Any]) -> dict[str, Any]:
        credential_id = body["command"]["credential_id"]
        return self._call("POST", f"/credentials/{credential_id}/erasure", json=body)

    def personal_data(self, body: dict[str, Any]) -> dict[str, Any]:
        credential_id = body["command"]["credential_id"]
        return self._call("POST", f"/credentials/{credential_id}/personal-data", json=body)

    def documents(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Each requested document, or the problem that kept it back."""
        found: list[dict[str, Any]] = self._call("POST", "/documents", json=body)["documents"]
        return found

    def register_seal_certificate(self, body: dict[str, Any]) -> dict[str, Any]:
        issuer_id = body["command"]["issuer_id"]
        return self._call("POST", f"/issuers/{issuer_id}/seal-certificates", json=body)

    def revoke_seal_certificate(self, body: dict[str, Any]) -> dict[str, Any]:
        command = body["command"]
        path = (
            f"/issuers/{command['issuer_id']}/seal-certificates/"
            f"{command['certificate_sha256']}/revocation"
        )
        return self._call("POST", path, json=body)

    def adopt_wallet_key(self, body: dict[str, Any]) -> dict[str, Any]:
        issuer_id = body["command"]["issuer_id"]
        return self._call("POST", f"/issuers/{issuer_id}/wallet-keys", json=body)

    def publish_pathway(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/pathways", json=body)

    def revise_pathway(self, body: dict[str, Any]) -> dict[str, Any]:
        pathway_id = body["command"]["pathway_id"]
        return self._call("POST", f"/pathways/{pathway_id}/versions", json=body)

    def recognise(self, body: dict[str, Any]) -> dict[str, Any]:
        """Record a recognition decision; the answer carries the evaluation it rests on."""
        pathway_id = body["command"]["pathway_id"]
        return self._call("POST", f"/pathways/{pathway_id}/recognitions", json=body)

    def recognition(self, recognition_id: str) -> dict[str, Any]:
        return self._call("GET", f"/recognitions/{recognition_id}")

    def pathways(self, issuer_id: str | None = None) -> list[dict[str, Any]]:
        params = {"issuer_id": issuer_id} if issuer_id else {}
        found: list[dict[str, Any]] = self._call("GET", "/pathways", params=params)["pathways"]
        return found

    def pathway(self, pathway_id: str) -> dict[str, Any]:
        return self._call("GET", f"/pathways/{pathway_id}")

    def evaluate(
        self, pathway_id: str, documents: list[dict[str, Any]], version: int | None = None
    ) -> dict[str, Any]:
        """Evaluate credential documents against a pathway (nothing is written)."""
        body: dict[str, Any] = {"documents": documents}
        if version is not None:
            body["version"] = version
        return self._call("POST", f"/pathways/{pathway_id}/evaluations", json=body)

    def offer(self, body: dict[str, Any]) -> dict[str, Any]:
        """A credential offer for the learner's wallet, with its URI and PIN."""
        credential_id = body["command"]["credential_id"]
        return self._call("POST", f"/credentials/{credential_id}/offers", json=body)

    def seal_certificates(self, issuer_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", f"/issuers/{issuer_id}/seal-certificates")[
            "items"
        ]
        return found

    def record_seal(self, body: dict[str, Any]) -> dict[str, Any]:
        credential_id = body["command"]["credential_id"]
        return self._call("POST", f"/credentials/{credential_id}/seals", json=body)

    def record_seals(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each record's result or problem, in order."""
        results: list[dict[str, Any]] = self._call("POST", "/seals", json={"items": bodies})[
            "results"
        ]
        return results

    def status(self, credential_id: str) -> dict[str, Any]:
        return self._call("GET", f"/credentials/{credential_id}")

    def proof(self, credential_id: str, version: int | None = None) -> dict[str, Any]:
        params = {"version": version} if version is not None else {}
        return self._call("GET", f"/credentials/{credential_id}/proof", params=params)

    def verify(self, **subject: Any) -> dict[str, Any]:
        return self._call("POST", "/verify", json=subject)

    def credentials(self, **params: Any) -> dict[str, Any]:
        return self._call("GET", "/credentials", params=params)
