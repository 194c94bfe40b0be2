"""The ledger service: it turns signed commands into events, or refuses them with a reason.

Checks run in a fixed order, each with its own error: the command's shape and rules (422), the
signature over the canonical bytes and the issuer it must belong to (401), the issuer's standing
(403), the content against the issuer's register entry (422), ownership of the credential (403),
and the credential's state (409). A command id seen before returns the first result and writes
nothing. Events of one command are appended atomically; a concurrent writer on the same
credential is detected by optimistic concurrency and the command decided again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric import ec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Transcoder

from ledger.application import command_checks
from ledger.application.signer_recovery import SignerRecovery
from ledger.domain.aggregates import (
    ANCHORING_KEYS_ID,
    AnchoringKeys,
    BatchAnchor,
    CommandReceipt,
    Credential,
    Issuer,
    Pathway,
    Recognition,
    SealFacts,
    anchor_id_for,
    credential_id_for,
    issuer_id_for,
    legacy_receipt_id_for,
    receipt_id_for,
)
from ledger.domain.canonical import canonical_bytes
from ledger.domain.commands import (
    AdoptWalletKeyCommand,
    AmendCommand,
    EraseCommand,
    IssuerRegistration,
    OfferCommand,
    PublishPathwayCommand,
    ReadDocumentsCommand,
    ReadPersonalDataCommand,
    RecogniseCommand,
    RecordSealCommand,
    RegisterSealCertificateCommand,
    RevisePathwayCommand,
    RevokeCommand,
    RevokeSealCertificateCommand,
    RotateKeyCommand,
    SignedCommand,
    _Command,
)
from ledger.domain.content import (
    CLOCK_SKEW,
    DEFAULT_RULES,
    ContentRules,
    parse_timestamp,
    utc_now,
)
from ledger.domain.errors import (
    AlreadyRegistered,
    AlreadyRevoked,
    AnchoringKeyChanged,
    CommandIdReused,
    ConcurrentWrite,
    FieldError,
    InvalidInput,
    IssuerSuspended,
    LedgerError,
    NotFound,
    NotYourCredential,
    NotYourPathway,
    NoWalletKey,
    OfferAlreadyDelivered,
    PersonalDataErased,
    ReadAlreadyAnswered,
    SealAlreadyRecorded,
    SignatureInvalid,
    UnknownIssuer,
    VersionMismatch,
)
from ledger.domain.json_text import ConfinedObject
from ledger.domain.jwk import public_jwk, thumbprint
from ledger.domain.seal_certificates import CertificateRefused, parse_seal_certificate
from ledger.domain.signing import address_bytes, checksum_address
from ledger.operations.metrics import count_commands, count_events, counted_command
from ledger.persistence.decided_on import DecidedOn
from ledger.persistence.event_transcoder import stored_event_transcoder
from ledger.persistence.personal_data import (
    KEY_ERASED,
    LEARNER_KNOWN,
    LearnerErasure,
    LearnerRecord,
    OpenedRecord,
    PersonalDataVault,
)
from ledger.persistence.stored_topics import register_former_topics
from ledger.persistence.wallet_keys import WalletKeyring

C = TypeVar("C", bound=_Command)
R = TypeVar("R")
log = logging.getLogger("credledger.ledger")

# The issuers the command being decided in this context was checked against, at the versions
# read (see ledger.persistence.decided_on): its write is conditional on them. Set (to a fresh
# dict) only while an issue or a retried decision runs, and emptied by each write, so that no
# other write of the context inherits them.
_decided_on: ContextVar[dict[UUID, int] | None] = ContextVar("credledger_decided_on", default=None)

# The position of the last event stored in this context (a request's): the request then waits
# for the read model to reach exactly that, without asking the store for its newest position.
last_stored_position: ContextVar[int | None] = ContextVar(
    "credledger_last_stored_position", default=None
)


@dataclass(frozen=True)
class CommandResult:
    """What a command did; a repeated command gets the same result with ``replayed``."""

    command_id: str
    command_type: str
    issuer_id: str
    credential_id: str | None
    version: int | None
    status: str
    replayed: bool = False
    pathway_id: str | None = None
    recognition_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # Its fields, in order (all plain values): asdict's deep copy costs a bulk answer more.
        return dict(self.__dict__)


@dataclass(frozen=True)
class _PreparedIssue:
    credential: Credential
    record: LearnerRecord
    result: CommandResult


@dataclass(frozen=True)
class Delivery:
    """An offer about to be delivered to a wallet: the key that signs for its issuer, and the
    credential (as it stands) the delivery is recorded on."""

    offer: OfferCommand
    signed: SignedCommand
    signer: str
    kid: str
    key: ec.EllipticCurvePrivateKey
    credential: Credential

    @property
    def content(self) -> dict[str, Any]:
        """The offered version's content (with the learner's commitment)."""
        content: dict[str, Any] = self.credential.versions[int(self.offer.version) - 1]["content"]
        return content


def _digest(command: dict[str, Any]) -> str:
    """What makes two commands the same: everything but the moment they were signed, so a
    client that re-signs a retry still gets the first result."""
    same = {k: v for k, v in command.items() if k != "signed_at"}
    return hashlib.sha256(canonical_bytes(same)).hexdigest()


class Ledger(Application[UUID]):
    """The credential ledger application over an eventsourcing event store."""

    name = "credledger"

    def __init__(
        self,
        vault: Callable[[ApplicationRecorder], PersonalDataVault],
        env: dict[str, str] | None = None,
        rules: ContentRules = DEFAULT_RULES,
        read_freshness: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utc_now,
        wallet_keyring: WalletKeyring | None = None,
    ) -> None:
        # Histories written before the aggregates moved name them by their former topics.
        register_former_topics()
        super().__init__(env)
        self.vault = vault(self.recorder)
        self._rules = rules
        self._read_freshness = read_freshness
        self._clock = clock
        self._wallet_keyring = wallet_keyring
        self._signers = SignerRecovery()

    def close(self) -> None:
        """Stop the signer-recovery helper thread, then close the event store."""
        self._signers.close()
        super().close()

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON transcoder, reading stored events faster (same results)."""
        return stored_event_transcoder()

    def clock(self) -> datetime:
        """The ledger's time now (a test's clock where one is given)."""
        return self._clock()

    @property
    def wallet_keyring(self) -> WalletKeyring:
        if self._wallet_keyring is None:
            raise NoWalletKey("this ledger was opened without the keys of issuers' SD-JWT VCs")
        return self._wallet_keyring

    # The issuer register (operator actions) -------------------------------------------------

    @counted_command("register-issuer")
    def register_issuer(self, registration: IssuerRegistration) -> Issuer:
        """Admit an issuer to the register; its id is fixed by its first address."""
        issuer_id = issuer_id_for(registration.address)
        if self._exists(issuer_id):
            raise AlreadyRegistered(
                "an issuer with this address is already registered", issuer_id=str(issuer_id)
            )
        issuer = Issuer(
            legal_name=registration.legal_name,
            country=registration.country,
            region=registration.region,
            quality_assurance=[qa.model_dump() for qa in registration.quality_assurance],
            address=registration.address,
        )
        self._save(issuer)
        return issuer

    @counted_command("suspend-issuer")
    def suspend_issuer(self, issuer_id: str, reason: str) -> Issuer:
        issuer = self._issuer(issuer_id)
        if not issuer.suspended:
            issuer.suspend(reason=reason)
            self._save(issuer)
        return issuer

    @counted_command("reinstate-issuer")
    def reinstate_issuer(self, issuer_id: str, reason: str) -> Issuer:
        issuer = self._issuer(issuer_id)
        if issuer.suspended:
            issuer.reinstate(reason=reason)
            self._save(issuer)
        return issuer

    # Anchors (recorded by the anchoring consumer) -------------------------------------------

    def record_anchor(self, anchored: dict[str, Any]) -> None:
        """Record that a batch is anchored (or anchored again after a re-organisation).

        Idempotent: recording the same transaction in the same block twice writes nothing.
        """
        anchor_id = anchor_id_for(anchored["origin"], anchored["checkpoint_size"])
        found = self._get(str(anchor_id))
        if found is None:
            self._save(BatchAnchor.record(anchored))
            return
        assert isinstance(found, BatchAnchor)
        if (found.tx_hash, found.block_hash, found.orphaned) == (
            anchored["tx_hash"],
            anchored["block_hash"],
            False,
        ):
            return
        found.reanchor(
            tx_hash=anchored["tx_hash"],
            block_number=anchored["block_number"],
            block_hash=anchored["block_hash"],
            block_time=anchored["block_time"],
            sender=anchored["sender"],
        )
        self._save(found)

    def anchoring_keys(self) -> list[dict[str, str | None]]:
        """Every address the ledger has anchored from, oldest first, with created/revoked."""
        found = self._get(str(ANCHORING_KEYS_ID))
        return [dict(k) for k in found.keys] if isinstance(found, AnchoringKeys) else []

    def adopt_anchoring_key(self, address: str, at: datetime) -> None:
        """Record the first anchoring address (idempotent for the same address)."""
        found = self._get(str(ANCHORING_KEYS_ID))
        if found is None:
            self._save(AnchoringKeys(address=address, at=_instant(at)))
        elif isinstance(found, AnchoringKeys) and found.current.lower() != address.lower():
            raise AnchoringKeyChanged(
                f"the ledger anchors from {found.current}, the configuration gives {address}; "
                "change the anchoring key with `credledger anchoring-key rotate`"
            )

    def rotate_anchoring_key(self, new_address: str, at: datetime) -> None:
        """Retire the current anchoring address and adopt ``new_address``, both at ``at``."""
        found = self._get(str(ANCHORING_KEYS_ID))
        if not isinstance(found, AnchoringKeys):
            raise AnchoringKeyChanged("the ledger has not anchored yet: there is no key to rotate")
        if found.current.lower() == new_address.lower():
            raise AnchoringKeyChanged(f"{new_address} is already the anchoring address")
        if any(str(k["address"]).lower() == new_address.lower() for k in found.keys):
            raise AnchoringKeyChanged(f"{new_address} was retired; a retired key is never reused")
        found.rotate(retired=found.current, adopted=new_address, at=_instant(at))
        self._save(found)

    def record_orphan(
        self, origin: str, checkpoint_size: int, tx_hash: str, block_hash: str
    ) -> None:
        """Record that a batch's anchoring block was re-organised away (idempotent)."""
        found = self._get(str(anchor_id_for(origin, checkpoint_size)))
        if isinstance(found, BatchAnchor) and not found.orphaned:
            found.orphan(tx_hash=tx_hash, block_hash=block_hash)
            self._save(found)

    # Issuing ---------------------------------------------------------------------------------

    @counted_command("issue")
    def issue(self, signed: SignedCommand) -> CommandResult:
        """Issue one credential."""
        checked = self._check(signed)
        token = _decided_on.set({})
        try:
            return self._issue_decided(signed, checked)
        finally:
            _decided_on.reset(token)

    def _issue_decided(
        self, signed: SignedCommand, checked: command_checks.CheckedIssue
    ) -> CommandResult:
        """Issue a checked command, deciding it again if its issuer changed meanwhile.

        It is first decided on the issuer as this process holds it, not read again: the write
        is conditional on that being the issuer's current version, so a stale one costs a
        failed write and a decision on the store's issuer, and a read is saved on every other
        issue. A refusal writes nothing, so one decided on the held issuer is decided again.
        """
        held = self._issuer_held(checked.issuer_id)
        if held:
            try:
                outcome = self._issue_checked(signed, checked, held)
            except LedgerError:
                outcome = None
            if outcome is not None:
                return outcome
        outcome = self._issue_checked(signed, checked, {})
        if outcome is None:
            outcome = self._issue_checked(signed, checked, {})
        if outcome is None:
            raise ConcurrentWrite("the issuer changed twice while the command was decided")
        return outcome

    def _issuer_held(self, issuer_id: str) -> dict[str, Issuer]:
        """The issuer as this process last read it (only to be read), if it holds it."""
        cache = self.repository.cache
        if cache is None:
            return {}
        try:
            held = cache.get(UUID(issuer_id))
        except (KeyError, ValueError):
            return {}
        return {issuer_id: held} if isinstance(held, Issuer) else {}

    def _issue_checked(
        self,
        signed: SignedCommand,
        checked: command_checks.CheckedIssue,
        issuers: dict[str, Issuer],
    ) -> CommandResult | None:
        """Issue a checked command, decided on ``issuers`` (else read): its result, or None if
        its issuer moved on meanwhile."""
        _deciding_afresh()
        prepared = self._prepared(signed, checked, issuers)
        try:
            self._save_with_personal_data([prepared.record], prepared.credential, expect_new=True)
        except ConcurrentWrite:
            # The command was written before (a retried request, or the same one sent twice at
            # once): its credential's first event is there. Found by the write, not looked up
            # before it: a new credential, the common case, then costs no read.
            return self._existing_issue(prepared)
        return prepared.result

    def issue_many(self, signed: Sequence[SignedCommand]) -> list[CommandResult | LedgerError]:
        """Issue many credentials at once; each item gets a result or its own error.

        Good items are written in one transaction, decided first on the issuers this process
        holds (see :meth:`_issue_together`); if any was already issued (a retried bulk request),
        or an issuer moved on meanwhile, each is decided again and written on its own.
        """
        token = _decided_on.set({})
        try:
            outcomes = self._issue_together(signed)
        finally:
            _decided_on.reset(token)
        count_commands("issue", outcomes)
        return outcomes

    def _issue_together(self, signed: Sequence[SignedCommand]) -> list[CommandResult | LedgerError]:
        """Decide and write the items together, first on the issuers this process holds.

        As for one issue (:meth:`_issue_decided`), the joint write is conditional on the
        issuers it was decided on, so a bulk request reads its issuers from the store only if
        the held ones prove stale: the joint write then fails, or an item is refused, and the
        request is decided again on the issuers as the store has them.
        """
        checked = self._check_all(signed)
        held: dict[str, Issuer] = {}
        for one in checked:
            if not isinstance(one, LedgerError) and one.issuer_id not in held:
                held.update(self._issuer_held(one.issuer_id))
        if held:
            outcomes = self._decide_together(signed, checked, held, fallback=False)
            if outcomes is not None:
                return outcomes
        outcomes = self._decide_together(signed, checked, {}, fallback=True)
        assert outcomes is not None
        return outcomes

    def _decide_together(
        self,
        signed: Sequence[SignedCommand],
        checked: Sequence[command_checks.CheckedIssue | LedgerError],
        issuers: dict[str, Issuer],
        *,
        fallback: bool,
    ) -> list[CommandResult | LedgerError] | None:
        """The items decided on ``issuers`` (else read) and written in one transaction.

        Without ``fallback``: None if an item was refused or the joint write failed, for the
        caller to decide them all again on the store's issuers. With it, items refused stay
        refused, and if the joint write failed (one was written before, a retried request, or
        an issuer moved on) each is decided again and written on its own.
        """
        _deciding_afresh()
        outcomes: list[CommandResult | LedgerError] = []
        prepared: list[_PreparedIssue] = []
        checks: dict[str | None, tuple[SignedCommand, command_checks.CheckedIssue]] = {}
        seen: set[UUID] = set()
        for item, one_checked in zip(signed, checked, strict=True):
            try:
                if isinstance(one_checked, LedgerError):
                    raise one_checked
                one = self._prepared(item, one_checked, issuers)
                if one.credential.id in seen:
                    raise CommandIdReused("the same command id appears twice in this request")
            except LedgerError as exc:
                if not fallback and not isinstance(one_checked, LedgerError):
                    return None
                outcomes.append(exc)
                continue
            seen.add(one.credential.id)
            prepared.append(one)
            checks[one.result.credential_id] = (item, one_checked)
            outcomes.append(one.result)
        if prepared:
            try:
                self._save_with_personal_data(
                    [p.record for p in prepared], *(p.credential for p in prepared)
                )
            except ConcurrentWrite:
                if not fallback:
                    return None
                for index, outcome in enumerate(outcomes):
                    if isinstance(outcome, CommandResult) and outcome.credential_id in checks:
                        outcomes[index] = self._issue_again(*checks[outcome.credential_id])
        return outcomes

    def _check(self, signed: SignedCommand) -> command_checks.CheckedIssue:
        checked = command_checks.check_issue(
            (signed.command, signed.signature, signed.personal_data),
            self._clock(),
            self._rules,
        )
        if isinstance(checked, LedgerError):
            raise checked
        return checked

    def _check_all(
        self, signed: Sequence[SignedCommand]
    ) -> list[command_checks.CheckedIssue | LedgerError]:
        return command_checks.check_issues(
            [(item.command, item.signature, item.personal_data) for item in signed],
            self._clock(),
            self._rules,
            self._signers,
        )

    def _issue_again(
        self, signed: SignedCommand, checked: command_checks.CheckedIssue
    ) -> CommandResult | LedgerError:
        """One item of a bulk request whose joint write conflicted, issued on its own."""
        try:
            return self._issue_decided(signed, checked)
        except LedgerError as exc:
            return exc

    def _prepared(
        self,
        signed: SignedCommand,
        checked: command_checks.CheckedIssue,
        issuers: dict[str, Issuer],
    ) -> _PreparedIssue:
        issuer = self._signing_issuer(checked.issuer_id, checked.signer, issuers, to_change=False)
        self._matches_register(checked.issuer_country, checked.qa_type, issuer)
        self._recognised_parts(signed.command["content"], checked.issuer_id)
        # The command model admits strings, lists and ASCII keys only: its event is written
        # without walking the command again.
        credential = Credential(
            issuer_id=checked.issuer_id,
            command=ConfinedObject(signed.command),
            signature=signed.signature,
        )
        credential_id = str(credential.id)
        return _PreparedIssue(
            credential=credential,
            record=LearnerRecord(
                checked.issuer_id, credential_id, checked.commitment, checked.learner, checked.salt
            ),
            result=CommandResult(
                checked.command_id, "issue", checked.issuer_id, credential_id, 1, "active"
            ),
        )

    def _existing_issue(self, prepared: _PreparedIssue) -> CommandResult | None:
        """The first result if this issue command was seen before; 409 if the id was reused."""
        try:
            existing: Any = self.repository.get(prepared.credential.id)
        except AggregateNotFoundError:
            return None
        if isinstance(existing, CommandReceipt):
            raise CommandIdReused(
                f"command id {existing.command_id!r} was used before for a "
                f"{existing.result['command_type']} command"
            )
        first = existing.versions[0]
        if _digest(first) != _digest(prepared.credential.versions[0]):
            raise CommandIdReused(
                f"command id {first['command_id']!r} was used before for a different credential"
            )
        return CommandResult(
            **{**prepared.result.as_dict(), "status": self._status(existing), "replayed": True}
        )

    # Other issuer commands -----------------------------------------------------------------

    @counted_command("amend")
    def amend(self, signed: SignedCommand) -> CommandResult:
        """Publish a new version of a credential; the previous one becomes superseded."""
        return self._retrying(lambda: self._amend(signed))

    def _amend(self, signed: SignedCommand) -> CommandResult:
        now = self._clock()
        amend = command_checks.command(AmendCommand, signed.command, now)
        command_checks.content_rules(amend.content, now, self._rules, "command.content")
        issuer = self._authenticate(amend, signed)
        self._matches_register(
            amend.content.issuer_country, amend.content.quality_assurance.type, issuer
        )
        if (replayed := self._replayed(amend, signed)) is not None:
            return replayed
        credential = self._own_credential(amend.credential_id, amend.issuer_id)
        if credential.revoked:
            raise AlreadyRevoked("a revoked credential cannot be amended")
        self._recognised_parts(signed.command["content"], amend.issuer_id)
        self._at_current_version(credential, amend.version)
        commitment = amend.content.learner.commitment
        record = None
        if commitment != credential.learner_commitment or signed.personal_data is not None:
            learner, salt = command_checks.personal_data(signed.personal_data, commitment, now)
            record = LearnerRecord(amend.issuer_id, amend.credential_id, commitment, learner, salt)
        credential.amend(command=signed.command, signature=signed.signature)
        result = CommandResult(
            amend.command_id,
            "amend",
            amend.issuer_id,
            amend.credential_id,
            len(credential.versions),
            "active",
        )
        self._save_with_personal_data(
            [record] if record else [], credential, self._receipt(amend, signed, result)
        )
        return result

    @counted_command("revoke")
    def revoke(self, signed: SignedCommand) -> CommandResult:
        """Revoke a credential, with a reason; revocation is final."""
        return self._retrying(lambda: self._revoke(signed))

    def _revoke(self, signed: SignedCommand) -> CommandResult:
        revoke = command_checks.command(RevokeCommand, signed.command, self._clock())
        self._authenticate(revoke, signed)
        if (replayed := self._replayed(revoke, signed)) is not None:
            return replayed
        credential = self._own_credential(revoke.credential_id, revoke.issuer_id)
        if credential.revoked:
            raise AlreadyRevoked("the credential is already revoked")
        self._at_current_version(credential, revoke.version)
        credential.revoke(command=signed.command, signature=signed.signature)
        result = CommandResult(
            revoke.command_id,
            "revoke",
            revoke.issuer_id,
            revoke.credential_id,
            len(credential.versions),
            "revoked",
        )
        self._save(credential, self._receipt(revoke, signed, result))
        return result

    @counted_command("erase")
    def erase(self, signed: SignedCommand) -> CommandResult:
        """Erase the personal data of the learner of a credential, across all of that
        learner's credentials from this issuer. Statuses, history and proofs stay intact."""
        return self._retrying(lambda: self._erase(signed))

    def _erase(self, signed: SignedCommand) -> CommandResult:
        erase = command_checks.command(EraseCommand, signed.command, self._clock())
        self._authenticate(erase, signed)
        credential = self._own_credential(erase.credential_id, erase.issuer_id)
        learner_refs = {
            ref
            for version in credential.versions
            if (ref := self.vault.learner_of(version["content"]["learner"]["commitment"]))
        }
        result = self._replayed(erase, signed)
        if result is None:
            self._at_current_version(credential, erase.version)
            held = sorted({cid for ref in learner_refs for cid in self.vault.credentials_of(ref)})
            affected = {UUID(cid) for cid in held}
            credentials = [credential] + [
                self._credential(str(cid)) for cid in sorted(affected - {credential.id})
            ]
            # The credential the command names always records it (its signature speaks for
            # that one first); the learner's others only if not erased already.
            for each in credentials:
                if each is credential or not each.personal_data_erased:
                    each.erase_personal_data(command=signed.command, signature=signed.signature)
            result = CommandResult(
                erase.command_id,
                "erase",
                erase.issuer_id,
                erase.credential_id,
                len(credential.versions),
                self._status(credential),
            )
            # The learner's records (and with them their key) are destroyed in the events'
            # transaction, which fails if a credential was issued to them meanwhile: it is
            # then decided again, and that credential is recorded as erased too.
            erasure = LearnerErasure(sorted(learner_refs), held) if learner_refs else None
            self._save(*credentials, self._receipt(erase, signed, result), erasure=erasure)
            self.vault.forget(sorted(learner_refs))
        else:
            # A store written before the two shared a transaction may have recorded an erasure
            # whose destruction a crash then stopped: a repeated command completes it.
            for ref in learner_refs:
                self.vault.erase(ref)
        return result

    @counted_command("rotate-key")
    def rotate_key(self, signed: SignedCommand) -> CommandResult:
        """Move the issuer to a new key; both the current and the new key must sign."""
        return self._retrying(lambda: self._rotate_key(signed))

    def _rotate_key(self, signed: SignedCommand) -> CommandResult:
        rotate = command_checks.command(RotateKeyCommand, signed.command, self._clock())
        issuer = self._authenticate(rotate, signed)
        if (replayed := self._replayed(rotate, signed)) is not None:
            return replayed
        new_address = rotate.new_address
        new_signer = command_checks.signer(signed.command, signed.new_key_signature or "")
        if new_signer != address_bytes(new_address):
            raise SignatureInvalid("new_key_signature is not made by the key of new_address")
        if new_address.lower() == issuer.address.lower() or self._exists(
            issuer_id_for(new_address)
        ):
            raise InvalidInput(
                [FieldError("command.new_address", "address-in-use", "is already in use")]
            )
        issuer.rotate_key(signed.command, signed.signature, signed.new_key_signature or "")
        result = CommandResult(
            rotate.command_id, rotate.type, rotate.issuer_id, None, None, "key-rotated"
        )
        self._save(issuer, self._receipt(rotate, signed, result))
        return result

    # Electronic seals (Europass EDC) -----------------------------------------------------------

    @counted_command("register-seal-certificate")
    def register_seal_certificate(self, signed: SignedCommand) -> CommandResult:
        """Register the certificate the issuer seals EDC credentials with (optionally
        rotating out one registered before)."""
        return self._retrying(lambda: self._register_seal_certificate(signed))

    def _register_seal_certificate(self, signed: SignedCommand) -> CommandResult:
        now = self._clock()
        register = command_checks.command(RegisterSealCertificateCommand, signed.command, now)
        issuer = self._authenticate(register, signed)
        if (replayed := self._replayed(register, signed)) is not None:
            return replayed
        try:
            certificate = parse_seal_certificate(register.certificate)
        except CertificateRefused as refused:
            raise InvalidInput([refused.error]) from None
        errors = []
        if now > certificate.not_after:
            errors.append(_certificate_error("expired", "has expired"))
        if certificate.sha256 in issuer.seal_certificates:
            raise AlreadyRegistered(
                "this seal certificate is registered already", certificate_sha256=certificate.sha256
            )
        if certificate.country != issuer.country:
            errors.append(
                _certificate_error(
                    "identifier-country",
                    f"names organisation {certificate.legal_identifier}, not of the country the "
                    "issuer is registered in",
                )
            )
        current = [c for c in issuer.seal_certificates.values() if not c["revoked"]]
        if any(c["legal_identifier"] != certificate.legal_identifier for c in current):
            errors.append(
                _certificate_error(
                    "legal-identifier-changed",
                    f"names organisation {certificate.legal_identifier}; the issuer's registered "
                    "seal certificates name another",
                )
            )
        if register.replaces is not None:
            replaced = issuer.seal_certificates.get(register.replaces)
            if replaced is None or replaced["revoked"] or replaced["retired"]:
                errors.append(
                    FieldError(
                        "command.replaces",
                        "not-registered",
                        "must be a registered seal certificate of the issuer still in use",
                    )
                )
        if errors:
            raise InvalidInput(errors)
        issuer.register_seal_certificate(
            signed.command,
            signed.signature,
            SealFacts(
                sha256=certificate.sha256,
                not_before=_instant(certificate.not_before),
                not_after=_instant(certificate.not_after),
                legal_identifier=certificate.legal_identifier,
                country=certificate.country,
            ),
        )
        result = CommandResult(
            register.command_id,
            register.type,
            register.issuer_id,
            None,
            None,
            "seal-certificate-registered",
        )
        self._save(issuer, self._receipt(register, signed, result))
        return result

    @counted_command("revoke-seal-certificate")
    def revoke_seal_certificate(self, signed: SignedCommand) -> CommandResult:
        """Revoke a registered seal certificate: no seal made with it is recorded again."""
        return self._retrying(lambda: self._revoke_seal_certificate(signed))

    def _revoke_seal_certificate(self, signed: SignedCommand) -> CommandResult:
        revoke = command_checks.command(RevokeSealCertificateCommand, signed.command, self._clock())
        issuer = self._authenticate(revoke, signed)
        if (replayed := self._replayed(revoke, signed)) is not None:
            return replayed
        found = issuer.seal_certificates.get(revoke.certificate_sha256)
        if found is None:
            raise NotFound(f"the issuer has no seal certificate {revoke.certificate_sha256}")
        if found["revoked"]:
            raise AlreadyRevoked("the seal certificate is already revoked")
        issuer.revoke_seal_certificate(signed.command, signed.signature)
        result = CommandResult(
            revoke.command_id, revoke.type, revoke.issuer_id, None, None, "seal-certificate-revoked"
        )
        self._save(issuer, self._receipt(revoke, signed, result))
        return result

    def authorize_seal_record(self, signed: SignedCommand) -> RecordSealCommand:
        """Check a record-seal command's shape, signature and credential before its seal is
        compared with the ledger's record (which holds the learner's data)."""
        record = command_checks.command(RecordSealCommand, signed.command, self._clock())
        self._authenticate(record, signed)
        self._own_credential(record.credential_id, record.issuer_id)
        return record

    @counted_command("record-seal")
    def record_seal(self, signed: SignedCommand, sealed_at: datetime) -> CommandResult:
        """Record the digest of an EDC credential the issuer sealed at ``sealed_at``.

        The seal itself (its signature, and that its payload is the ledger's record of the
        version) is checked by ``ledger.formats.edc.recording`` before this is called.
        """
        return self._retrying(lambda: self._record_seal(signed, sealed_at))

    def _record_seal(self, signed: SignedCommand, sealed_at: datetime) -> CommandResult:
        now = self._clock()
        record = command_checks.command(RecordSealCommand, signed.command, now)
        issuer = self._authenticate(record, signed)
        if (replayed := self._replayed(record, signed)) is not None:
            return replayed
        credential = self._own_credential(record.credential_id, record.issuer_id)
        if credential.revoked:
            raise AlreadyRevoked("a revoked credential is not sealed again")
        self._at_current_version(credential, record.version)
        if credential.personal_data_erased:
            raise PersonalDataErased(
                "the learner's personal data has been erased: no new EDC credential is recorded"
            )
        if record.seal_sha256 in credential.seals:
            raise SealAlreadyRecorded("this seal is recorded already")
        self._usable_certificate(issuer, record.certificate_sha256, sealed_at, now)
        credential.record_seal(signed.command, signed.signature)
        result = CommandResult(
            record.command_id,
            record.type,
            record.issuer_id,
            record.credential_id,
            len(credential.versions),
            "seal-recorded",
        )
        self._save(credential, self._receipt(record, signed, result))
        return result

    @staticmethod
    def _usable_certificate(
        issuer: Issuer, certificate_sha256: str, sealed_at: datetime, now: datetime
    ) -> None:
        field = "command.certificate_sha256"
        found = issuer.seal_certificates.get(certificate_sha256)
        if found is None:
            raise InvalidInput(
                [
                    FieldError(
                        field,
                        "unregistered-certificate",
                        "is not a seal certificate the issuer registered",
                    )
                ]
            )
        problem = None
        if found["revoked"]:
            problem = ("certificate-revoked", "names a revoked seal certificate")
        elif found["retired"]:
            problem = ("certificate-retired", "names a seal certificate rotated out")
        elif not (
            parse_timestamp(found["not_before"]) <= sealed_at <= parse_timestamp(found["not_after"])
        ) or now > parse_timestamp(found["not_after"]):
            problem = (
                "certificate-expired",
                "names a seal certificate not valid at the seal's signing time or now",
            )
        elif sealed_at > now + CLOCK_SKEW:
            problem = ("signing-time-in-future", "the seal's signing time is in the future")
        if problem is not None:
            raise InvalidInput([FieldError(field, *problem)])

    # Learner wallets (SD-JWT VC over OpenID4VCI) ---------------------------------------------

    @counted_command("adopt-wallet-key")
    def adopt_wallet_key(self, signed: SignedCommand) -> CommandResult:
        """Adopt a new ES256 key that signs the issuer's SD-JWT VCs (retiring the one before)."""
        return self._retrying(lambda: self._adopt_wallet_key(signed))

    def _adopt_wallet_key(self, signed: SignedCommand) -> CommandResult:
        adopt = command_checks.command(AdoptWalletKeyCommand, signed.command, self._clock())
        issuer = self._authenticate(adopt, signed)
        if (replayed := self._replayed(adopt, signed)) is not None:
            return replayed
        key = self.wallet_keyring.private_key(adopt.issuer_id, adopt.command_id)
        jwk = public_jwk(key.public_key())
        issuer.adopt_wallet_key(signed.command, signed.signature, thumbprint(jwk), jwk)
        result = CommandResult(
            adopt.command_id, adopt.type, adopt.issuer_id, None, None, "wallet-key-adopted"
        )
        self._save(issuer, self._receipt(adopt, signed, result))
        return result

    @counted_command("offer")
    def authorize_offer(self, signed: SignedCommand) -> tuple[OfferCommand, str]:
        """Check a signed offer: fresh, by the credential's issuer, for its current version,
        not revoked or erased, with a wallet key adopted, and a command id not used before.
        It is answered once. Returns the offer and the issuer key (address) that signed it."""
        offer = self._fresh_read(OfferCommand, signed)
        issuer = self._authenticate(offer, signed)
        self._deliverable(issuer, offer, self._own_credential(offer.credential_id, offer.issuer_id))
        if self._get(str(receipt_id_for(offer.issuer_id, offer.command_id))) is not None:
            raise CommandIdReused(f"command id {offer.command_id!r} was used before")
        self._spend(offer)
        return offer, issuer.address

    def wallet_signing_key(self, issuer_id: str) -> tuple[str, ec.EllipticCurvePrivateKey]:
        """(kid, private key) of the key that signs the issuer's SD-JWT VCs now."""
        return self._wallet_key_of(self._issuer(issuer_id))

    def _wallet_key_of(self, issuer: Issuer) -> tuple[str, ec.EllipticCurvePrivateKey]:
        current = issuer.wallet_key
        if current is None:
            raise NoWalletKey("the issuer has not adopted a key for SD-JWT VCs")
        kid, adopted_by = current
        return kid, self.wallet_keyring.private_key(str(issuer.id), adopted_by)

    def prepare_delivery(self, command: dict[str, Any], signature: str, signer: str) -> Delivery:
        """An offer about to be delivered, checked again as things stand now: the version still
        current and standing, the issuer in good standing with the key (``signer``) that
        signed the offer, and the offer not delivered yet. What the log then records is still
        what was offered, and the audit finds its signature by the issuer's key of the time."""
        (prepared,) = self.prepare_deliveries([(command, signature, signer)])
        if isinstance(prepared, LedgerError):
            raise prepared
        offer = prepared.offer
        if self._get(str(receipt_id_for(offer.issuer_id, offer.command_id))) is not None:
            raise OfferAlreadyDelivered("this offer has delivered its credential already")
        return prepared

    def prepare_deliveries(
        self, offers: Sequence[tuple[dict[str, Any], str, str]]
    ) -> list[Delivery | LedgerError]:
        """``prepare_delivery`` for several offers (command, signature, signer) at once, each
        with its own outcome: an issuer or credential is read once, and the deliveries of one
        credential share it, so that they can be recorded together.

        An offer delivered before is not looked up here: its receipt, written with the
        delivery, exists once only, so recording it again fails (and ``record_deliveries``
        then decides each delivery alone). The access token is spent with the delivery, so
        only the same token used twice at one moment gets that far."""
        issuers: dict[str, Issuer] = {}
        credentials: dict[str, Credential] = {}
        offered: set[str] = set()
        prepared: list[Delivery | LedgerError] = []
        for command, signature, signer in offers:
            try:
                prepared.append(
                    self._prepared_delivery(
                        command, signature, signer, issuers, credentials, offered
                    )
                )
            except LedgerError as exc:
                prepared.append(exc)
        return prepared

    def _prepared_delivery(
        self,
        command: dict[str, Any],
        signature: str,
        signer: str,
        issuers: dict[str, Issuer],
        credentials: dict[str, Credential],
        offered: set[str],
    ) -> Delivery:
        offer = command_checks.command(OfferCommand, command, self._clock())
        if offer.issuer_id not in issuers:
            try:
                # Read, never changed here: the cached issuer itself, not a copy.
                issuers[offer.issuer_id] = self._issuer(offer.issuer_id, to_change=False)
            except NotFound:
                raise UnknownIssuer(f"no issuer {offer.issuer_id} is registered") from None
        issuer = issuers[offer.issuer_id]
        if issuer.address.lower() != signer.lower():
            raise SignatureInvalid(
                "the issuer's key changed since the offer was signed: ask for a new offer"
            )
        if issuer.suspended:
            raise IssuerSuspended("the issuer is suspended from the register")
        credential = credentials.get(offer.credential_id)
        if credential is None:
            credential = self._own_credential(offer.credential_id, offer.issuer_id)
        self._deliverable(issuer, offer, credential)
        credentials[offer.credential_id] = credential
        if offer.command_id in offered:
            raise OfferAlreadyDelivered("this offer is being delivered already")
        offered.add(offer.command_id)
        kid, key = self._wallet_key_of(issuer)
        return Delivery(
            offer, SignedCommand(command=command, signature=signature), signer, kid, key, credential
        )

    def record_delivery(self, delivery: Delivery, jwt_sha256: str, index: int) -> CommandResult:
        """Record that an SD-JWT VC (the digest of its issuer-signed JWT, with status list entry
        ``index``) went to a wallet for the prepared offer."""
        (recorded,) = self.record_deliveries([(delivery, jwt_sha256, index)])
        if isinstance(recorded, LedgerError):
            raise recorded
        return recorded

    def record_deliveries(
        self,
        deliveries: Sequence[tuple[Delivery, str, int]],
        statements: Callable[[Any], None] | None = None,
    ) -> list[CommandResult | LedgerError]:
        """``record_delivery`` for deliveries prepared together, in one transaction. If another
        command changed one of their credentials meanwhile, each is prepared again as things
        now stand and recorded alone, with its own outcome.

        ``statements`` (given the transaction's cursor) run in the same transaction: what the
        deliveries spend. With them, a conflict is not retried but raised
        (:class:`ConcurrentWrite`, or what the statements raise), and nothing is recorded."""
        changed: dict[UUID, Credential] = {}
        receipts: list[CommandReceipt] = []
        results: list[CommandResult | LedgerError] = []
        for delivery, jwt_sha256, index in deliveries:
            offer, credential = delivery.offer, delivery.credential
            credential.record_delivery(
                delivery.signed.command, delivery.signed.signature, jwt_sha256, delivery.kid, index
            )
            changed[credential.id] = credential
            result = CommandResult(
                offer.command_id,
                offer.type,
                offer.issuer_id,
                offer.credential_id,
                len(credential.versions),
                "delivered",
            )
            receipts.append(self._receipt(offer, delivery.signed, result))
            results.append(result)
        try:
            self._save(*changed.values(), *receipts, statements=statements)
        except ConcurrentWrite:
            if statements is not None:
                raise
            if len(deliveries) == 1:
                return [
                    OfferAlreadyDelivered(
                        "the credential changed, or this offer was delivered, at the same moment"
                    )
                ]
            return [self._record_again(*one) for one in deliveries]
        return results

    def _record_again(
        self, delivery: Delivery, jwt_sha256: str, index: int
    ) -> CommandResult | LedgerError:
        signed = delivery.signed
        try:
            again = self.prepare_delivery(signed.command, signed.signature, delivery.signer)
            return self.record_delivery(again, jwt_sha256, index)
        except LedgerError as exc:
            return exc

    def _deliverable(self, issuer: Issuer, offer: OfferCommand, credential: Credential) -> None:
        """An offer of ``credential`` can be made or delivered as it stands."""
        if credential.revoked:
            raise AlreadyRevoked("a revoked credential is not offered to wallets")
        self._at_current_version(credential, offer.version)
        if credential.personal_data_erased:
            raise PersonalDataErased(
                "the learner's personal data has been erased: no credential goes to a wallet"
            )
        if issuer.wallet_key is None:
            raise NoWalletKey("the issuer has not adopted a key for SD-JWT VCs")

    @counted_command("read-personal-data")
    # Pathways (stacking and recognition) -------------------------------------------------------

    @counted_command("publish-pathway")
    def publish_pathway(self, signed: SignedCommand) -> CommandResult:
        """Publish a pathway (version 1): its target and rules, by the recognising issuer."""
        return self._retrying(lambda: self._publish_pathway(signed))

    def _publish_pathway(self, signed: SignedCommand) -> CommandResult:
        publish = command_checks.command(PublishPathwayCommand, signed.command, self._clock())
        self._authenticate(publish, signed)
        if (replayed := self._replayed(publish, signed)) is not None:
            return replayed
        pathway = Pathway(
            issuer_id=publish.issuer_id, command=signed.command, signature=signed.signature
        )
        result = CommandResult(
            publish.command_id,
            publish.type,
            publish.issuer_id,
            None,
            1,
            "published",
            pathway_id=str(pathway.id),
        )
        self._save(pathway, self._receipt(publish, signed, result))
        return result

    @counted_command("revise-pathway")
    def revise_pathway(self, signed: SignedCommand) -> CommandResult:
        """Publish a new version of one of the issuer's pathways."""
        return self._retrying(lambda: self._revise_pathway(signed))

    def _revise_pathway(self, signed: SignedCommand) -> CommandResult:
        revise = command_checks.command(RevisePathwayCommand, signed.command, self._clock())
        self._authenticate(revise, signed)
        if (replayed := self._replayed(revise, signed)) is not None:
            return replayed
        pathway = self._pathway(revise.pathway_id)
        if pathway.issuer_id != revise.issuer_id:
            raise NotYourPathway("the pathway was published by another issuer")
        current = len(pathway.versions)
        if revise.version != str(current):
            raise VersionMismatch(
                f"the command revises version {revise.version}, the pathway's current version "
                f"is {current}",
                current_version=current,
            )
        pathway.revise(signed.command, signed.signature)
        result = CommandResult(
            revise.command_id,
            revise.type,
            revise.issuer_id,
            None,
            current + 1,
            "published",
            pathway_id=revise.pathway_id,
        )
        self._save(pathway, self._receipt(revise, signed, result))
        return result

    def authorize_recognition(self, signed: SignedCommand) -> RecogniseCommand:
        """Check a recognise command's shape, signature and pathway before its components'
        documents are verified (which only the API layer can do)."""
        recognise = command_checks.command(RecogniseCommand, signed.command, self._clock())
        self._authenticate(recognise, signed)
        self._recognising_pathway(recognise)
        return recognise

    @counted_command("recognise")
    def recognise(self, signed: SignedCommand) -> CommandResult:
        """Record a recognition decision, every component checked again as things stand.

        The components' documents (the learner, the anchoring, the pathway's rules) are
        verified by the caller first; here each component must still be the current version
        of a credential that is not revoked, of an issuer in good standing.
        """
        return self._retrying(lambda: self._recognise(signed))

    def _recognise(self, signed: SignedCommand) -> CommandResult:
        recognise = command_checks.command(RecogniseCommand, signed.command, self._clock())
        self._authenticate(recognise, signed)
        if (replayed := self._replayed(recognise, signed)) is not None:
            return replayed
        self._recognising_pathway(recognise)
        errors = []
        for index, component in enumerate(recognise.components):
            problem = self._unrecognisable(component.credential_id, component.version)
            if problem is not None:
                rule, message = problem
                errors.append(FieldError(f"command.components[{index}]", rule, message))
        if errors:
            raise InvalidInput(errors)
        recognition = Recognition(
            issuer_id=recognise.issuer_id, command=signed.command, signature=signed.signature
        )
        result = CommandResult(
            recognise.command_id,
            recognise.type,
            recognise.issuer_id,
            None,
            None,
            "recognised",
            pathway_id=recognise.pathway_id,
            recognition_id=str(recognition.id),
        )
        self._save(recognition, self._receipt(recognise, signed, result))
        return result

    def _recognised_parts(self, content: dict[str, Any], issuer_id: str) -> None:
        """Refuse (422) a stacked credential whose parts no recognition of its issuer
        decided: nothing is combined without a recorded decision."""
        parts = content.get("has_part")
        if parts is None:
            return
        field = "command.content.recognition_id"
        recognition = self.recognition(str(content.get("recognition_id")))
        if recognition is None:
            raise InvalidInput(
                [FieldError(field, "unknown-recognition", "names no recorded recognition")]
            )
        if recognition.issuer_id != issuer_id:
            raise InvalidInput(
                [FieldError(field, "not-your-recognition", "is another institution's decision")]
            )
        if not recognition.covers(parts):
            raise InvalidInput(
                [
                    FieldError(
                        "command.content.has_part",
                        "not-recognised",
                        "names a component (credential id and version) the recognition did "
                        "not recognise",
                    )
                ]
            )

    def _recognising_pathway(self, recognise: RecogniseCommand) -> Pathway:
        pathway = self._pathway(recognise.pathway_id)
        if pathway.issuer_id != recognise.issuer_id:
            raise NotYourPathway("only the institution that published a pathway recognises by it")
        if int(recognise.pathway_version) > len(pathway.versions):
            raise InvalidInput(
                [
                    FieldError(
                        "command.pathway_version",
                        "unknown-version",
                        f"the pathway has {len(pathway.versions)} version(s)",
                    )
                ]
            )
        return pathway

    def _unrecognisable(self, credential_id: str, version: str) -> tuple[str, str] | None:
        """Why a component cannot be recognised now (rule, message), or None."""
        found = self._get(credential_id)
        if not isinstance(found, Credential):
            return "unknown-credential", f"no credential {credential_id}"
        if found.revoked:
            return "revoked", f"credential {credential_id} is revoked"
        if version != str(len(found.versions)):
            return (
                "superseded",
                f"version {version} of credential {credential_id} is superseded by version "
                f"{len(found.versions)}",
            )
        issuer = self._issuer(found.issuer_id)
        if issuer.suspended:
            return "issuer-suspended", f"the issuer of credential {credential_id} is suspended"
        return None

    def recognition(self, recognition_id: str) -> Recognition | None:
        """A recorded recognition, or None."""
        found = self._get(recognition_id)
        return found if isinstance(found, Recognition) else None

    def _pathway(self, pathway_id: str) -> Pathway:
        found = self._get(pathway_id)
        if not isinstance(found, Pathway):
            raise NotFound(f"no pathway {pathway_id}")
        return found

    def read_personal_data(self, signed: SignedCommand) -> OpenedRecord:
        """The learner's data behind a credential's current version, for its issuer only."""
        read = self._fresh_read(ReadPersonalDataCommand, signed)
        self._authenticate(read, signed)
        credential = self._own_credential(read.credential_id, read.issuer_id)
        self._spend(read)
        opened = self.vault.get(credential.learner_commitment)
        if opened is None:
            raise PersonalDataErased("the learner's personal data has been erased")
        return opened

    def authorize_document_read(self, signed: SignedCommand) -> ReadDocumentsCommand:
        """Check a signed request for documents: fresh, by the issuer of every credential
        named. Documents carry the learner's data, so nobody else may have them."""
        read = self._fresh_read(ReadDocumentsCommand, signed)
        self._authenticate(read, signed)
        for index, wanted in enumerate(read.documents):
            try:
                self._own_credential(wanted.credential_id, read.issuer_id)
            except NotFound as exc:
                raise NotFound(f"command.documents[{index}]: {exc.detail}") from exc
        self._spend(read)
        return read

    # Shared steps ----------------------------------------------------------------------------

    def _fresh_read(self, model: type[C], signed: SignedCommand) -> C:
        now = self._clock()
        read = command_checks.command(model, signed.command, now)
        if abs(now - parse_timestamp(read.signed_at)) > self._read_freshness:
            raise InvalidInput(
                [
                    FieldError(
                        "command.signed_at",
                        "stale-request",
                        "a signed read must be made within "
                        f"{int(self._read_freshness.total_seconds())} seconds of signing",
                    )
                ]
            )
        return read

    def _spend(self, read: _Command) -> None:
        """Answer a signed read once: a replay within its freshness window is refused."""
        now = self._clock()
        expires = parse_timestamp(read.signed_at) + self._read_freshness
        nonce = f"{read.issuer_id}/{read.command_id}"
        if not self.vault.spend_read(nonce, now.timestamp(), expires.timestamp()):
            raise ReadAlreadyAnswered(
                f"the signed read {read.command_id!r} was answered already; a signed read "
                "is answered once"
            )

    def _authenticate(self, command: _Command, signed: SignedCommand) -> Issuer:
        # Where every signed command but an issue starts to be decided (again, when retried).
        _deciding_afresh()
        signer = command_checks.signer(signed.command, signed.signature)
        return self._signing_issuer(command.issuer_id, signer, {})

    def _signing_issuer(
        self, issuer_id: str, signer: bytes, issuers: dict[str, Issuer], *, to_change: bool = True
    ) -> Issuer:
        """The issuer, if ``signer`` is its current key and it is in good standing.

        ``issuers`` memoises lookups across the items of one bulk request. With
        ``to_change=False`` the issuer is the cached aggregate itself (no copy: an issue only
        reads it), which the caller must only read.
        """
        issuer = issuers.get(issuer_id)
        if issuer is None:
            try:
                issuer = self._issuer(issuer_id, to_change=to_change)
            except NotFound:
                raise UnknownIssuer(f"no issuer {issuer_id} is registered") from None
            issuers[issuer_id] = issuer
        decided = _decided_on.get()
        if decided is not None:
            # Noted before the checks: if the issuer moves on while they run, the store holds
            # a later version than this, and the write fails as a conflict.
            decided.setdefault(issuer.id, issuer.version)
        if signer != address_bytes(issuer.address):
            raise SignatureInvalid(
                "the signature is not by the issuer's current key "
                f"(it was made by {checksum_address(signer)}, the issuer's key is "
                f"{issuer.address})"
            )
        if issuer.suspended:
            raise IssuerSuspended("the issuer is suspended from the register")
        return issuer

    @staticmethod
    def _matches_register(country: str, qa_type: str, issuer: Issuer) -> None:
        errors = []
        if country != issuer.country:
            errors.append(
                FieldError(
                    "command.content.issuer_country",
                    "issuer-mismatch",
                    "must be the country the issuer is registered in",
                )
            )
        if qa_type not in issuer.qa_types():
            errors.append(
                FieldError(
                    "command.content.quality_assurance.type",
                    "qa-not-registered",
                    "must be a kind of quality assurance the issuer registered evidence for",
                )
            )
        if errors:
            raise InvalidInput(errors)

    @staticmethod
    def _at_current_version(credential: Credential, version: str) -> None:
        current = len(credential.versions)
        if version != str(current):
            raise VersionMismatch(
                f"the command acts on version {version}, the credential's current version is "
                f"{current}",
                current_version=current,
            )

    def _replayed(self, command: _Command, signed: SignedCommand) -> CommandResult | None:
        """The first result if this command id was used before by the issuer; 409 if it was
        used for a different command, of any type."""
        receipt = self._get(str(receipt_id_for(command.issuer_id, command.command_id)))
        if receipt is None:
            receipt = self._get(str(legacy_receipt_id_for(command.issuer_id, command.command_id)))
        if receipt is None:
            return None
        if isinstance(receipt, Credential):
            raise CommandIdReused(
                f"command id {command.command_id!r} was used before to issue credential "
                f"{receipt.id}"
            )
        assert isinstance(receipt, CommandReceipt)
        if receipt.command_digest != _digest(signed.command):
            raise CommandIdReused(
                f"command id {command.command_id!r} was used before for a different command"
            )
        return CommandResult(**{**receipt.result, "replayed": True})

    def _receipt(
        self, command: _Command, signed: SignedCommand, result: CommandResult
    ) -> CommandReceipt:
        return CommandReceipt(
            issuer_id=command.issuer_id,
            command_id=command.command_id,
            command_digest=_digest(signed.command),
            result=result.as_dict(),
        )

    def _own_credential(self, credential_id: str, issuer_id: str) -> Credential:
        credential = self._credential(credential_id)
        if credential.issuer_id != issuer_id:
            raise NotYourCredential("the credential was issued by another issuer")
        return credential

    def _credential(self, credential_id: str) -> Credential:
        found = self._get(credential_id)
        if not isinstance(found, Credential):
            raise NotFound(f"no credential {credential_id}")
        return found

    def _issuer(self, issuer_id: str, *, to_change: bool = True) -> Issuer:
        found = self._get(issuer_id, to_change=to_change)
        if not isinstance(found, Issuer):
            raise NotFound(f"no issuer {issuer_id}")
        return found

    def _get(self, aggregate_id: str, *, to_change: bool = True) -> object:
        """The aggregate, or None; with ``to_change=False`` the cached one itself, which the
        caller must only read."""
        try:
            return self.repository.get(UUID(aggregate_id), deepcopy_from_cache=to_change)
        except (AggregateNotFoundError, ValueError):
            return None

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    @staticmethod
    def _status(credential: Credential) -> str:
        return "revoked" if credential.revoked else "active"

    def _save_with_personal_data(
        self, records: list[LearnerRecord], *aggregates: Any, expect_new: bool = False
    ) -> None:
        """Save the aggregates' events and the learners' sealed data in one transaction.

        ``expect_new``: learners the vault does not remember are taken for new ones without
        reading it first (a credential being issued; see ``PersonalDataVault.seal``).
        If an erasure destroyed a learner's key after the records were sealed under it, or a
        learner taken for a new one has a key, the data is sealed again (under the key the
        vault holds, else a new one) and saved once more. Any other conflict (on the events
        themselves, or an issuer that moved on) is reported at once: a second write would
        only fail the same way.
        """
        if not records:
            self._save(*aggregates)
            return
        pending = _pending_events(aggregates)
        collected = _decided_on.get()
        decided = dict(collected) if collected else {}
        try:
            self._put(pending, personal_data=self.vault.seal(records, expect_new=expect_new))
        except _LearnerKeysChanged:
            if collected is not None:
                collected.update(decided)  # the second write rests on the same issuers
            self._put(pending, personal_data=self.vault.seal(records, fresh=True))

    def _save(self, *aggregates: Any, **kwargs: Any) -> None:
        self._put(_pending_events(aggregates), **kwargs)

    def _put(self, events: list[Any], **kwargs: Any) -> None:
        """Store the events (and whatever ``kwargs`` the recorder writes with them).

        What :meth:`Application.save` does for this application: its aggregate cache
        fast-forwards (so a save does not fill it), it takes no snapshots and nothing
        subscribes to its notifications. Put directly, without the library's runtime protocol
        check of each object, which cost more than building the event.
        """
        # The write of a decision is conditional on the issuers it was decided on; taken here,
        # so that no later write of this context inherits them.
        decided = _decided_on.get()
        if decided:
            decided = dict(decided)
            _deciding_afresh()
            # An issuer this write changes is held by its own next event (a second writer of
            # that version conflicts): it is not asked to stay where it was.
            written = {event.originator_id for event in events}
            versions = {i: v for i, v in decided.items() if i not in written}
            if versions:
                kwargs["decided_on"] = DecidedOn(versions)
        try:
            recordings = self.events.put(events, **kwargs)
        except IntegrityError as conflict:
            if KEY_ERASED in str(conflict) or LEARNER_KNOWN in str(conflict):
                raise _LearnerKeysChanged(str(conflict)) from None
            raise ConcurrentWrite(
                "another command changed this credential at the same moment"
            ) from None
        count_events(type(r.domain_event).__qualname__ for r in recordings)
        if recordings:
            positions = [r.notification.id for r in recordings]
            last_stored_position.set(positions[-1])
            log.info(
                "stored %d event(s) at positions %d-%d",
                len(positions),
                positions[0],
                positions[-1],
                extra={"fields": {"first_position": positions[0], "last_position": positions[-1]}},
            )

    @staticmethod
    def _retrying(decide: Callable[[], R]) -> R:
        """Decide a command; if a concurrent write won the race (or its issuer moved on),
        decide it once more on the new state, which then gives the precise outcome (e.g.
        already revoked, or a key no longer the issuer's)."""
        token = _decided_on.set({})
        try:
            try:
                return decide()
            except ConcurrentWrite:
                return decide()
        finally:
            _decided_on.reset(token)


class _LearnerKeysChanged(ConcurrentWrite):
    """A write refused because a learner's key it sealed records under was erased meanwhile,
    or a learner it gave a new key has one: sealed again, the records can be written."""


__all__ = ["CommandResult", "Ledger", "credential_id_for"]


def _certificate_error(rule: str, message: str) -> FieldError:
    return FieldError("command.certificate", rule, message)


def _instant(at: datetime) -> str:
    """A key's created/revoked time: whole seconds in UTC, as verifiers compare block times."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _deciding_afresh() -> None:
    """Forget the issuers noted so far in this context's decision (one starts, or wrote)."""
    collected = _decided_on.get()
    if collected is not None:
        collected.clear()


def _pending_events(aggregates: Sequence[Any]) -> list[Any]:
    """The events the aggregates have pending, collected (and so no longer pending)."""
    return [event for aggregate in aggregates for event in aggregate.collect_events()]
