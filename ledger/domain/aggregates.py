"""What the ledger records: the issuer register, credentials, and command receipts.

Every state change is an event; aggregates only decide what follows from their own history.
Events that come from an issuer keep the command exactly as signed and its signature, so the
public history can be re-verified by anyone.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event

# Fixed namespaces: ids derived from them must never change, or idempotency breaks.
_CREDENTIAL_NS = uuid.UUID("5b0f7c2e-3a4d-4f1b-9c8e-1d2a3b4c5d6e")
_ISSUER_NS = uuid.UUID("8e1c9a7b-6d5f-4e3a-8b2c-0f1e2d3c4b5a")
_RECEIPT_NS = uuid.UUID("c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f")
_ANCHOR_NS = uuid.UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
_ANCHORING_KEYS_ID = uuid.UUID("0d6f3b8a-2c41-4e57-9a6b-7e8f9c0d1e2f")
_PATHWAY_NS = uuid.UUID("6a2e9d14-0b7c-4f35-a8d1-93c4e5f60718")
_RECOGNITION_NS = uuid.UUID("f4b1c8e2-5d3a-4e6f-9b07-2c8d1e4a6f39")


class UnboundCommand(Exception):
    """A command asked to be recorded where its signature does not speak for it."""


@dataclass(frozen=True)
class SealFacts:
    """What the register records of a seal certificate (times as RFC 3339 UTC text)."""

    sha256: str
    not_before: str
    not_after: str
    legal_identifier: str
    country: str


def credential_id_for(issuer_id: str, command_id: str) -> uuid.UUID:
    """The id of the credential an issue command creates: repeating the command finds it."""
    return uuid.uuid5(_CREDENTIAL_NS, f"{issuer_id}/{command_id}")


def credential_id_text(issuer_id: str, command_id: str) -> str:
    """``str(credential_id_for(...))``, computed without building a UUID object: the audit
    derives it for every issued credential, and the object costs more than the hash."""
    digest = bytearray(
        hashlib.sha1(_CREDENTIAL_NS.bytes + f"{issuer_id}/{command_id}".encode()).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def issuer_id_for(address: str) -> uuid.UUID:
    """An issuer's id, fixed by the address it first registers with."""
    return uuid.uuid5(_ISSUER_NS, address.lower())


def receipt_id_for(issuer_id: str, command_id: str) -> uuid.UUID:
    """Where a command's receipt is kept: the id an issue command with the same command id
    would give its credential. Command ids are one namespace per issuer, across all command
    types, and the store's uniqueness of (aggregate, version) enforces it even under races."""
    return credential_id_for(issuer_id, command_id)


def legacy_receipt_id_for(issuer_id: str, command_id: str) -> uuid.UUID:
    """Where receipts were kept before command ids were one namespace (still looked up, so a
    repeated command recorded then still returns its first result)."""
    return uuid.uuid5(_RECEIPT_NS, f"{issuer_id}/{command_id}")


class Issuer(Aggregate):
    """A trusted issuer in the register, with its key history."""

    @staticmethod
    def create_id(address: str) -> uuid.UUID:
        return issuer_id_for(address)

    class Registered(Aggregate.Created):
        legal_name: str
        country: str
        region: str | None
        quality_assurance: list[dict[str, Any]]
        address: str

    class Suspended(Aggregate.Event):
        reason: str

    class Reinstated(Aggregate.Event):
        reason: str

    class KeyRotated(Aggregate.Event):
        new_address: str
        command: dict[str, Any]
        signature: str
        new_key_signature: str

    class SealCertificateRegistered(Aggregate.Event):
        command: dict[str, Any]
        signature: str
        sha256: str
        not_before: str
        not_after: str
        legal_identifier: str
        country: str

    class SealCertificateRevoked(Aggregate.Event):
        command: dict[str, Any]
        signature: str

    class WalletKeyAdopted(Aggregate.Event):
        command: dict[str, Any]
        signature: str
        kid: str
        jwk: dict[str, str]

    @event(Registered)
    def __init__(
        self,
        legal_name: str,
        country: str,
        region: str | None,
        quality_assurance: list[dict[str, Any]],
        address: str,
    ) -> None:
        self.legal_name = legal_name
        self.country = country
        self.region = region
        self.quality_assurance = quality_assurance
        self.address = address
        self.suspended = False
        self.seal_certificates: dict[str, dict[str, Any]] = {}
        # The keys adopted for SD-JWT VCs: kid, and the command id the ledger derived it for.
        self.wallet_keys: list[tuple[str, str]] = []

    @event(Suspended)
    def suspend(self, reason: str) -> None:
        self.suspended = True

    @event(Reinstated)
    def reinstate(self, reason: str) -> None:
        self.suspended = False

    def rotate_key(self, command: dict[str, Any], signature: str, new_key_signature: str) -> None:
        self._rotate_key(
            new_address=command["new_address"],
            command=command,
            signature=signature,
            new_key_signature=new_key_signature,
        )

    @event(KeyRotated)
    def _rotate_key(
        self,
        new_address: str,
        command: dict[str, Any],
        signature: str,
        new_key_signature: str,
    ) -> None:
        self.address = new_address

    def register_seal_certificate(
        self, command: dict[str, Any], signature: str, certificate: SealFacts
    ) -> None:
        """Record the issuer's seal certificate (and retire the one it replaces)."""
        if command.get("type") != "register-seal-certificate" or command.get("issuer_id") != str(
            self.id
        ):
            raise UnboundCommand(f"a {command.get('type')} command cannot register a seal here")
        self._register_seal_certificate(
            command=command,
            signature=signature,
            sha256=certificate.sha256,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            legal_identifier=certificate.legal_identifier,
            country=certificate.country,
        )

    @event(SealCertificateRegistered)
    def _register_seal_certificate(
        self,
        command: dict[str, Any],
        signature: str,
        sha256: str,
        not_before: str,
        not_after: str,
        legal_identifier: str,
        country: str,
    ) -> None:
        # When a certificate was retired or revoked is the event's time, in the public history.
        replaced = command.get("replaces")
        if replaced in self.seal_certificates:
            self.seal_certificates[replaced]["retired"] = True
        self.seal_certificates[sha256] = {
            "not_before": not_before,
            "not_after": not_after,
            "legal_identifier": legal_identifier,
            "country": country,
            "retired": False,
            "revoked": False,
        }

    def revoke_seal_certificate(self, command: dict[str, Any], signature: str) -> None:
        if command.get("type") != "revoke-seal-certificate" or command.get("issuer_id") != str(
            self.id
        ):
            raise UnboundCommand(f"a {command.get('type')} command cannot revoke a seal here")
        self._revoke_seal_certificate(command=command, signature=signature)

    @event(SealCertificateRevoked)
    def _revoke_seal_certificate(self, command: dict[str, Any], signature: str) -> None:
        found = self.seal_certificates.get(command["certificate_sha256"])
        if found is not None:
            found["revoked"] = True

    def adopt_wallet_key(
        self, command: dict[str, Any], signature: str, kid: str, jwk: dict[str, str]
    ) -> None:
        """Record the SD-JWT VC signing key the ledger keeps for the issuer from now on."""
        if command.get("type") != "adopt-wallet-key" or command.get("issuer_id") != str(self.id):
            raise UnboundCommand(f"a {command.get('type')} command cannot adopt a key here")
        self._adopt_wallet_key(command=command, signature=signature, kid=kid, jwk=jwk)

    @event(WalletKeyAdopted)
    def _adopt_wallet_key(
        self, command: dict[str, Any], signature: str, kid: str, jwk: dict[str, str]
    ) -> None:
        self.wallet_keys.append((kid, command["command_id"]))

    @property
    def wallet_key(self) -> tuple[str, str] | None:
        """(kid, command id) of the key that signs for the issuer now: the last adopted."""
        return self.wallet_keys[-1] if self.wallet_keys else None

    def qa_types(self) -> set[str]:
        return {qa["type"] for qa in self.quality_assurance}


class Credential(Aggregate):
    """One micro-credential: its signed versions, and whether it still stands."""

    @staticmethod
    def create_id(issuer_id: str, command: dict[str, Any]) -> uuid.UUID:
        return credential_id_for(issuer_id, command["command_id"])

    class Issued(Aggregate.Created):
        issuer_id: str
        command: dict[str, Any]
        signature: str

    class Amended(Aggregate.Event):
        command: dict[str, Any]
        signature: str

    class Revoked(Aggregate.Event):
        command: dict[str, Any]
        signature: str

    class PersonalDataErased(Aggregate.Event):
        command: dict[str, Any]
        signature: str

    class SealRecorded(Aggregate.Event):
        command: dict[str, Any]
        signature: str

    class WalletDelivered(Aggregate.Event):
        """An SD-JWT VC of the version the offer names went to the learner's wallet."""

        command: dict[str, Any]
        signature: str
        jwt_sha256: str
        kid: str
        status_index: int

    @event(Issued)
    def __init__(self, issuer_id: str, command: dict[str, Any], signature: str) -> None:
        self.issuer_id = issuer_id
        self.versions: list[dict[str, Any]] = [command]
        self.revoked = False
        self.personal_data_erased = False
        self.seals: set[str] = set()
        self.deliveries = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Credential:
        # eventsourcing hands each command a deep copy of the cached aggregate. The versions
        # are recorded commands, which nothing changes: the copy shares them (copying every
        # version's content was most of the cost of loading a credential for a command).
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        for name, value in vars(self).items():
            shared = name == "versions"
            copied.__dict__[name] = list(value) if shared else copy.deepcopy(value, memo)
        return copied

    @property
    def current(self) -> dict[str, Any]:
        """The command that made the current version."""
        return self.versions[-1]

    @property
    def learner_commitment(self) -> str:
        return str(self.current["content"]["learner"]["commitment"])

    def amend(self, command: dict[str, Any], signature: str) -> None:
        """Record a new version, made by ``command`` from the current one."""
        self._bound(command, "amend")
        self._amend(command=command, signature=signature)

    def revoke(self, command: dict[str, Any], signature: str) -> None:
        self._bound(command, "revoke")
        self._revoke(command=command, signature=signature)

    def erase_personal_data(self, command: dict[str, Any], signature: str) -> None:
        """Record that the learner's data is gone; ``command`` names the credential it was
        asked through, which may be another of the same learner's credentials."""
        self._bound(command, "erase")
        self._erase_personal_data(command=command, signature=signature)

    def record_seal(self, command: dict[str, Any], signature: str) -> None:
        """Record that the issuer sealed the current version as an EDC credential."""
        self._bound(command, "record-seal")
        self._record_seal(command=command, signature=signature)

    def record_delivery(
        self, command: dict[str, Any], signature: str, jwt_sha256: str, kid: str, status_index: int
    ) -> None:
        """Record that the issuer-signed JWT with digest ``jwt_sha256`` was delivered for the
        offer ``command``, with status list entry ``status_index``."""
        self._bound(command, "offer")
        self._record_delivery(
            command=command,
            signature=signature,
            jwt_sha256=jwt_sha256,
            kid=kid,
            status_index=status_index,
        )

    def _bound(self, command: dict[str, Any], kind: str) -> None:
        """Refuse to record ``command`` unless it speaks for this credential as it stands.

        The application checks all of this first, with errors for the caller; this is the
        invariant that no event is recorded for anything a signature does not name.
        """
        names_this = command.get("credential_id") == str(self.id)
        bound = (
            command.get("type") == kind
            and command.get("issuer_id") == self.issuer_id
            and (names_this or kind == "erase")
            and (not names_this or command.get("version") == str(len(self.versions)))
        )
        if not bound:
            raise UnboundCommand(
                f"a {command.get('type')} command for {command.get('credential_id')} at version "
                f"{command.get('version')} cannot be recorded on credential {self.id} at "
                f"version {len(self.versions)}"
            )

    # The event bodies run on replay too: no checks there, history is what it is.
    @event(Amended)
    def _amend(self, command: dict[str, Any], signature: str) -> None:
        self.versions.append(command)

    @event(Revoked)
    def _revoke(self, command: dict[str, Any], signature: str) -> None:
        self.revoked = True

    @event(PersonalDataErased)
    def _erase_personal_data(self, command: dict[str, Any], signature: str) -> None:
        self.personal_data_erased = True

    @event(SealRecorded)
    def _record_seal(self, command: dict[str, Any], signature: str) -> None:
        self.seals.add(command["seal_sha256"])

    @event(WalletDelivered)
    def _record_delivery(
        self, command: dict[str, Any], signature: str, jwt_sha256: str, kid: str, status_index: int
    ) -> None:
        self.deliveries += 1


def pathway_id_for(issuer_id: str, command_id: str) -> uuid.UUID:
    """The id of the pathway a publish-pathway command creates (its own namespace: the
    command's receipt sits at the id its command id gives a credential)."""
    return uuid.uuid5(_PATHWAY_NS, f"{issuer_id}/{command_id}")


class Pathway(Aggregate):
    """A recognising institution's published rules toward a target, in versions."""

    @staticmethod
    def create_id(issuer_id: str, command: dict[str, Any]) -> uuid.UUID:
        return pathway_id_for(issuer_id, command["command_id"])

    class Published(Aggregate.Created):
        issuer_id: str
        command: dict[str, Any]
        signature: str

    class Revised(Aggregate.Event):
        command: dict[str, Any]
        signature: str

    @event(Published)
    def __init__(self, issuer_id: str, command: dict[str, Any], signature: str) -> None:
        self.issuer_id = issuer_id
        self.versions: list[dict[str, Any]] = [command]

    def revise(self, command: dict[str, Any], signature: str) -> None:
        """Record a new version, made by ``command`` from the current one."""
        bound = (
            command.get("type") == "revise-pathway"
            and command.get("issuer_id") == self.issuer_id
            and command.get("pathway_id") == str(self.id)
            and command.get("version") == str(len(self.versions))
        )
        if not bound:
            raise UnboundCommand(
                f"a {command.get('type')} command for {command.get('pathway_id')} at version "
                f"{command.get('version')} cannot be recorded on pathway {self.id} at version "
                f"{len(self.versions)}"
            )
        self._revise(command, signature)

    @event(Revised)
    def _revise(self, command: dict[str, Any], signature: str) -> None:
        self.versions.append(command)


def recognition_id_for(issuer_id: str, command_id: str) -> uuid.UUID:
    """The id of the recognition a recognise command records."""
    return uuid.uuid5(_RECOGNITION_NS, f"{issuer_id}/{command_id}")


class Recognition(Aggregate):
    """A recognising institution's signed decision that components meet a pathway version."""

    @staticmethod
    def create_id(issuer_id: str, command: dict[str, Any]) -> uuid.UUID:
        return recognition_id_for(issuer_id, command["command_id"])

    class Recorded(Aggregate.Created):
        issuer_id: str
        command: dict[str, Any]
        signature: str

    @event(Recorded)
    def __init__(self, issuer_id: str, command: dict[str, Any], signature: str) -> None:
        self.issuer_id = issuer_id
        self.command = command

    def covers(self, parts: list[dict[str, Any]]) -> bool:
        """Whether every part (credential id and version) is one of the recognised
        components."""
        recognised = {(c["credential_id"], str(c["version"])) for c in self.command["components"]}
        return all((p["credential_id"], str(p["version"])) in recognised for p in parts)


class CommandReceipt(Aggregate):
    """The first result of a command, so that a repeat returns it and writes nothing."""

    @staticmethod
    def create_id(issuer_id: str, command_id: str) -> uuid.UUID:
        return receipt_id_for(issuer_id, command_id)

    class Recorded(Aggregate.Created):
        issuer_id: str
        command_id: str
        command_digest: str
        result: dict[str, Any]

    @event(Recorded)
    def __init__(
        self, issuer_id: str, command_id: str, command_digest: str, result: dict[str, Any]
    ) -> None:
        self.issuer_id = issuer_id
        self.command_id = command_id
        self.command_digest = command_digest
        self.result = result


def anchor_id_for(origin: str, checkpoint_size: int) -> uuid.UUID:
    """The id of the anchor of the batch that ends at ``checkpoint_size`` in log ``origin``."""
    return uuid.uuid5(_ANCHOR_NS, f"{origin}/{checkpoint_size}")


# Leaves an anchor event names at most: each (a leaf and what its document is) takes about 280
# bytes of the event's log entry, which must fit a tlog-tiles entry bundle (65,535 bytes) with
# the checkpoint note and the public URL beside them.
LEAVES_PER_ANCHOR_EVENT = 160


class BatchAnchor(Aggregate):
    """Where one batch (a signed checkpoint and its anchor tree) is anchored on chain.

    A batch of at most ``LEAVES_PER_ANCHOR_EVENT`` leaves is recorded as one ``Anchored``
    event naming all its leaves and documents. A larger one is ``AnchoredInParts`` (the same
    fields for its first leaves, and how many leaves and events there are in all) followed, in
    the same transaction, by ``Placed`` events for the rest, in leaf order: every log entry
    stays small enough for a tile, whatever the batch size.
    """

    class Anchored(Aggregate.Created):
        origin: str
        checkpoint_size: int
        checkpoint_note: str
        leaves: list[str]
        root: str
        chain_id: int
        tx_hash: str
        block_number: int
        block_hash: str
        block_time: int
        sender: str
        documents: list[dict[str, Any]]
        public_url: str

    class AnchoredInParts(Anchored):
        leaf_count: int
        parts: int

    class Placed(Aggregate.Event):
        checkpoint_size: int
        first_leaf: int
        leaves: list[str]
        documents: list[dict[str, Any]]
        public_url: str

    class Reanchored(Aggregate.Event):
        tx_hash: str
        block_number: int
        block_hash: str
        block_time: int
        sender: str

    class Orphaned(Aggregate.Event):
        tx_hash: str
        block_hash: str

    @staticmethod
    def create_id(origin: str, checkpoint_size: int) -> uuid.UUID:
        return anchor_id_for(origin, checkpoint_size)

    @event(Anchored)
    def __init__(
        self,
        origin: str,
        checkpoint_size: int,
        checkpoint_note: str,
        leaves: list[str],
        root: str,
        chain_id: int,
        tx_hash: str,
        block_number: int,
        block_hash: str,
        block_time: int,
        sender: str,
        documents: list[dict[str, Any]],
        public_url: str,
    ) -> None:
        self.checkpoint_size = checkpoint_size
        self.tx_hash = tx_hash
        self.block_hash = block_hash
        self.orphaned = False

    @classmethod
    def record(cls, anchored: dict[str, Any]) -> BatchAnchor:
        """A new batch anchor from the anchorer's record of it, in as many events as its
        leaves need (see the class)."""
        leaves: list[str] = anchored["leaves"]
        if len(leaves) <= LEAVES_PER_ANCHOR_EVENT:
            return cls(**anchored)
        starts = range(0, len(leaves), LEAVES_PER_ANCHOR_EVENT)
        first = _placed_part(anchored, 0)
        created = cls._create(
            cls.AnchoredInParts,
            id=anchor_id_for(anchored["origin"], anchored["checkpoint_size"]),
            **first,
            leaf_count=len(leaves),
            parts=len(starts),
        )
        for start in starts[1:]:
            part = _placed_part(anchored, start)
            created.place(
                checkpoint_size=part["checkpoint_size"],
                first_leaf=start,
                leaves=part["leaves"],
                documents=part["documents"],
                public_url=part["public_url"],
            )
        return created

    @event(Placed)
    def place(
        self,
        checkpoint_size: int,
        first_leaf: int,
        leaves: list[str],
        documents: list[dict[str, Any]],
        public_url: str,
    ) -> None:
        """Name more of the batch's leaves and documents (its events after the first)."""

    @event(Reanchored)
    def reanchor(
        self, tx_hash: str, block_number: int, block_hash: str, block_time: int, sender: str
    ) -> None:
        self.tx_hash = tx_hash
        self.block_hash = block_hash
        self.orphaned = False

    @event(Orphaned)
    def orphan(self, tx_hash: str, block_hash: str) -> None:
        self.orphaned = True


class AnchoringKeys(Aggregate):
    """The addresses the ledger anchors from, each with when it was adopted and retired.

    Issuer profiles list them, so a verifier judges a transaction's sender against the key
    that was valid at the transaction's time: documents anchored before a rotation keep
    verifying after it.
    """

    class Adopted(Aggregate.Created):
        address: str
        at: str

    class Rotated(Aggregate.Event):
        retired: str
        adopted: str
        at: str

    @staticmethod
    def create_id(address: str, at: str) -> uuid.UUID:
        return _ANCHORING_KEYS_ID

    @event(Adopted)
    def __init__(self, address: str, at: str) -> None:
        self.keys: list[dict[str, str | None]] = [
            {"address": address, "created": at, "revoked": None}
        ]

    @property
    def current(self) -> str:
        return str(self.keys[-1]["address"])

    @event(Rotated)
    def rotate(self, retired: str, adopted: str, at: str) -> None:
        self.keys[-1]["revoked"] = at
        self.keys.append({"address": adopted, "created": at, "revoked": None})


def _placed_part(anchored: dict[str, Any], start: int) -> dict[str, Any]:
    """``anchored`` with only the leaves from ``start`` on that one event names, and the
    documents at those leaves."""
    stop = start + LEAVES_PER_ANCHOR_EVENT
    return {
        **anchored,
        "leaves": anchored["leaves"][start:stop],
        "documents": [d for d in anchored["documents"] if start <= d["leaf_index"] < stop],
    }


ANCHORING_KEYS_ID = _ANCHORING_KEYS_ID
# Anchoring's own events: a batch of nothing else does not close by age (anchoring it would call
# for another anchor for ever), so they wait for the next batch with others.
ANCHORING_BOOKKEEPING = (
    BatchAnchor.Anchored,
    BatchAnchor.AnchoredInParts,
    BatchAnchor.Placed,
    BatchAnchor.Reanchored,
    BatchAnchor.Orphaned,
)
