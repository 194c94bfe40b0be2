"""Credential documents in and out of anchor trees.

:func:`document_sources` builds the document of every credential version a batch issues or
amends; their hashes become the batch's anchor-tree leaves (``consumers.document_leaves`` hashes
them ahead of time). Later, :class:`DocumentReader` rebuilds a
version's document from the stored event and the sealed personal data, checks that it hashes
to the anchored leaf, and attaches its MerkleProof2019 proof. A learner erased before their
batch is anchored gets no leaf; one erased afterwards keeps the documents they hold (the proof
needs no personal data), but no new one can be made.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import Mapper

from anchors.anchor_tree import AnchorTree
from anchors.anchoring import AnchorStore
from anchors.merkle_proof_2019 import MerkleProof2019
from ledger.application.service import Ledger
from ledger.domain.aggregates import Credential
from ledger.domain.errors import (
    DocumentDoesNotReproduce,
    DocumentUnavailable,
    NotFound,
    PersonalDataErased,
)
from ledger.formats.blockcerts.document import credential_document, document_id
from ledger.formats.blockcerts.document_quads import document_hash
from ledger.persistence.event_transcoder import stored_event_transcoder
from ledger.persistence.read_model import ReadModel
from ledger.persistence.stored_topics import topics_of

log = logging.getLogger("credledger.documents")

_VERSIONED_TOPICS = topics_of(Credential.Issued, Credential.Amended)
_ISSUED_TOPICS = frozenset(topics_of(Credential.Issued))


def issuer_profile_url(public_url: str, issuer_id: str) -> str:
    """Where an issuer's Blockcerts profile is served."""
    return f"{public_url.rstrip('/')}/issuers/{issuer_id}/profile"


def _version_of(ledger: Ledger, credential_id: str, aggregate_version: int) -> tuple[int, Any]:
    """(credential version, command) of the event at ``aggregate_version``."""
    credential: object = ledger.repository.get(UUID(credential_id), version=aggregate_version)
    assert isinstance(credential, Credential)
    return len(credential.versions), credential.versions[-1]


class DocumentRecipe(NamedTuple):
    """What one credential version's document is built from, cheap to hand to another
    process: an issue's stored event as it is stored (its command inside) or an amendment's
    command, and the learner's opened data. A hashing process builds the document itself, so
    that the few kB of nested objects a document is are neither built nor pickled here."""

    credential_id: str
    version: int
    stored_state: bytes | None  # an issue's stored event state (decrypted, decompressed)
    command: dict[str, Any] | None  # an amendment's command, as its aggregate holds it
    learner: dict[str, Any]
    salt: str
    issuer_profile_url: str
    # What the recipe was made for, read from the stored event without decoding it: checked
    # against the decoded command before a document is built from it.
    commitment: str
    issuer_id: str

    def document(self) -> dict[str, Any]:
        """The version's document, without its proof."""
        command = self.command
        if command is None:
            assert self.stored_state is not None
            # The application's own decoding of the stored event: the same command, down to
            # the difference between 5 and 5.0 that JSON-LD types apart.
            command = _TRANSCODER.decode(self.stored_state)["command"]
            if (command["content"]["learner"]["commitment"], command["issuer_id"]) != (
                self.commitment,
                self.issuer_id,
            ):
                raise ValueError(
                    f"the recipe of {self.credential_id} was made for another learner or issuer "
                    "than its stored event names"
                )
        return credential_document(
            credential_id=self.credential_id,
            version=self.version,
            content=command["content"],
            learner=self.learner,
            salt=self.salt,
            issuer_profile_url=self.issuer_profile_url,
        )


_TRANSCODER = stored_event_transcoder()


@dataclass(frozen=True)
class DocumentSource:
    """A credential version's document, before it takes a place in a batch."""

    entry: int  # index of its entry among those it was built from
    commitment: str
    recipe: DocumentRecipe
    placement: dict[str, Any]  # document id, issuer, credential and version

    def document(self) -> dict[str, Any]:
        """The version's document, without its proof."""
        return self.recipe.document()


def document_sources(
    ledger: Ledger, positions: Sequence[int], public_url: str
) -> list[DocumentSource]:
    """The documents of the credential versions issued or amended by the log entries made from
    the stored events at ``positions`` (consecutive entries), in order, as recipes.

    The commands come from the stored events, read in one query by topic (not from the
    entries: their canonical JSON writes ``5.0`` as ``5``, which JSON-LD would type
    differently, and reading each entry to find its type would cost more than the rest), and
    the learners' data in one vault read. Versions whose data is erased are left out.
    """
    if not positions:
        return []
    entry_of = {position: index for index, position in enumerate(positions)}
    stored = ledger.recorder.select_notifications(
        start=positions[0],
        limit=positions[-1] - positions[0] + 1,
        stop=positions[-1],
        topics=_VERSIONED_TOPICS,
    )
    mapper = ledger.mapper
    # (position, credential id, version, commitment, issuer id, an amendment's command, an
    # issue's stored state)
    versions: list[tuple[int, str, int, str, str, dict[str, Any] | None, bytes | None]] = []
    for notification in stored:
        if notification.id not in entry_of:
            continue
        credential_id = str(notification.originator_id)
        if notification.topic in _ISSUED_TOPICS:
            plain = _plain_state(mapper, notification.state)
            named = issue_names(plain)
            if named is None:
                command = mapper.transcoder.decode(plain)["command"]
                named = command["content"]["learner"]["commitment"], command["issuer_id"]
            versions.append((notification.id, credential_id, 1, *named, None, plain))
        else:
            version, command = _version_of(ledger, credential_id, notification.originator_version)
            named = command["content"]["learner"]["commitment"], command["issuer_id"]
            versions.append((notification.id, credential_id, version, *named, command, None))
    opened = ledger.vault.get_many([commitment for _, _, _, commitment, *_ in versions])
    sources: list[DocumentSource] = []
    for position, credential_id, version, commitment, issuer_id, command, state in versions:
        if commitment not in opened:
            log.info("no document for %s version %d: personal data erased", credential_id, version)
            continue
        recipe = DocumentRecipe(
            credential_id,
            version,
            state,
            command,
            opened[commitment].learner,
            opened[commitment].salt,
            issuer_profile_url(public_url, issuer_id),
            commitment,
            issuer_id,
        )
        placement = {
            "document_id": document_id(credential_id, version),
            "issuer_id": issuer_id,
            "credential_id": credential_id,
            "version": version,
        }
        sources.append(DocumentSource(entry_of[position], commitment, recipe, placement))
    return sources


# In compact JSON a quote inside a string is always escaped, so an unescaped ``"commitment":"``
# is a key of that name with a string value; a valid issue command has exactly one, and names
# its issuer at the event's top level and in the command, alike.
_COMMITMENT = re.compile(rb'"commitment":"([^"\\]*)"')
_ISSUER_ID = re.compile(rb'"issuer_id":"([^"\\]*)"')


def issue_names(state: bytes) -> tuple[str, str] | None:
    """(learner commitment, issuer id) of an issue's stored event state, found without
    decoding it; None where the text does not name each exactly once (decode it then)."""
    commitments = _COMMITMENT.findall(state)
    issuers = set(_ISSUER_ID.findall(state))
    if len(commitments) != 1 or len(issuers) != 1:
        return None
    return commitments[0].decode("utf-8"), issuers.pop().decode("utf-8")


def _plain_state(mapper: Mapper[Any], state: bytes) -> bytes:
    """A stored event's state as the transcoder reads it (decrypted, decompressed)."""
    if mapper.cipher is not None:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor is not None:
        state = mapper.compressor.decompress(state)
    return state


def place_documents(
    sources: Sequence[DocumentSource], leaves: Sequence[bytes]
) -> tuple[list[bytes], list[dict[str, Any]]]:
    """The batch's document leaves in order, and what each is (leaf 0 is the checkpoint's)."""
    placed = [
        {**source.placement, "leaf_index": index} for index, source in enumerate(sources, start=1)
    ]
    return list(leaves), placed


@dataclass
class DocumentReader:
    """Hands out anchored credential documents with their proofs."""

    ledger: Ledger
    read_model: ReadModel
    anchors: AnchorStore

    def document(self, credential_id: str, version: int | None = None) -> dict[str, Any]:
        """The document of ``version`` (default: the current one), proof attached."""
        found = self.read_model.credential(credential_id)
        if found is None:
            raise NotFound(f"no credential {credential_id}")
        version = found["current_version"] if version is None else version
        if not 1 <= version <= found["current_version"]:
            raise NotFound(f"credential {credential_id} has no version {version}")
        placed = self.read_model.document(document_id(credential_id, version))
        if placed is None:
            raise DocumentUnavailable(self._why_missing(found, version))
        record = self.anchors.get(placed["checkpoint_size"])
        if record is None or record.tx_hash is None or record.state != "recorded":
            raise DocumentUnavailable(
                f"version {version} of {credential_id} is being anchored again; retry shortly"
            )
        credential: object = self.ledger.repository.get(UUID(credential_id))
        assert isinstance(credential, Credential)
        command = credential.versions[version - 1]
        opened = self.ledger.vault.get(command["content"]["learner"]["commitment"])
        if opened is None:
            raise PersonalDataErased(
                "the learner's personal data has been erased: no new document can be made "
                "(documents the learner already holds keep verifying)"
            )
        profile_url = issuer_profile_url(placed["public_url"], command["issuer_id"])
        document = credential_document(
            credential_id=credential_id,
            version=version,
            content=command["content"],
            learner=opened.learner,
            salt=opened.salt,
            issuer_profile_url=profile_url,
        )
        leaves = [bytes.fromhex(leaf) for leaf in record.leaves]
        leaf = document_hash(document)
        index = placed["leaf_index"]
        if leaves[index] != leaf or document["id"] != document_id(credential_id, version):
            raise DocumentDoesNotReproduce(
                f"the document of {credential_id} version {version} no longer hashes to its "
                "anchored leaf; the ledger's data or code changed since it was anchored"
            )
        tree = AnchorTree.build(leaves)
        proof = MerkleProof2019(
            target_hash=leaf,
            merkle_root=tree.root,
            path=tuple(tree.path(index)),
            chain_id=record.chain_id,
            tx_hash=bytes.fromhex(record.tx_hash.removeprefix("0x")),
        )
        assert record.block_time is not None
        created = datetime.fromtimestamp(record.block_time, UTC).isoformat()
        document["proof"] = {
            "type": "DataIntegrityProof",
            "cryptosuite": "merkle-proof-2019",
            "proofPurpose": "assertionMethod",
            "created": created.replace("+00:00", "Z"),
            "verificationMethod": f"{profile_url}#{record.sender.lower()}",
            "proofValue": proof.encode(),
        }
        return document

    @staticmethod
    def _why_missing(found: dict[str, Any], version: int) -> str:
        if found["personal_data_erased"]:
            return (
                f"version {version} has no document: the learner's data was erased before its "
                "batch was anchored"
            )
        return (
            f"version {version} is not anchored yet; its document exists once its batch is "
            "anchored (see the credential's anchor state)"
        )
