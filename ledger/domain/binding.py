"""What a signed command binds, re-derived from the public history: one event, no other.

A command names its type, its command id and its target: an issue command the credential its
id derives to, amend, revoke, erase and record-seal the credential and the version they act on,
rotate-key and the seal-certificate commands their issuer, publish-pathway the pathway its id
derives to and revise-pathway the pathway and version it replaces. The ledger records an event only
where its command says; these checks let anyone see that it did, from the envelopes alone.
``target_problem`` needs the envelope only; ``Bindings`` follows the history in order for what
needs state (versions, command ids).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ledger.domain.aggregates import credential_id_text, pathway_id_for, recognition_id_for
from ledger.domain.jwk import thumbprint

COMMAND_OF_EVENT = {
    "Credential.Issued": "issue",
    "Credential.Amended": "amend",
    "Credential.Revoked": "revoke",
    "Credential.PersonalDataErased": "erase",
    "Issuer.KeyRotated": "rotate-key",
    "Issuer.SealCertificateRegistered": "register-seal-certificate",
    "Issuer.SealCertificateRevoked": "revoke-seal-certificate",
    "Credential.SealRecorded": "record-seal",
    "Issuer.WalletKeyAdopted": "adopt-wallet-key",
    "Credential.WalletDelivered": "offer",
    "Pathway.Published": "publish-pathway",
    "Pathway.Revised": "revise-pathway",
    "Recognition.Recorded": "recognise",
}
# What the ledger adds to a signed command in the envelope (outside what was signed).
RECORDED_BESIDE = ("new_key_signature", "wallet_key", "delivery")
# Events of the issuer itself: the command's target is its issuer.
_ISSUER_EVENTS = frozenset(
    {
        "Issuer.KeyRotated",
        "Issuer.SealCertificateRegistered",
        "Issuer.SealCertificateRevoked",
        "Issuer.WalletKeyAdopted",
    }
)


def target_problem(envelope: dict[str, Any]) -> str | None:
    """Why the envelope's signed command does not name this event, or None if it does.

    Checks the command's type against the event's, its issuer against the envelope's, and
    its target against the event's aggregate (an erase may also mark the other credentials of
    the same learner, so its target is checked with state, by :class:`Bindings`).
    """
    kind = envelope.get("type")
    expected = COMMAND_OF_EVENT.get(str(kind))
    if expected is None:
        return None
    command = envelope.get("content") or {}
    aggregate = str(envelope.get("aggregate_id"))
    issuer = command.get("issuer_id")
    if command.get("type") != expected:
        return f"the signed command is of type {command.get('type')!r}, the event is {kind}"
    if issuer != envelope.get("issuer_id"):
        return f"the signed command is by issuer {issuer}, the event names {envelope['issuer_id']}"
    if kind == "Credential.Issued":
        derived = credential_id_text(str(issuer), str(command.get("command_id")))
        if derived != aggregate:
            return (
                f"the issue command {command.get('command_id')!r} creates credential {derived}, "
                f"not {aggregate}"
            )
    elif kind == "Pathway.Published":
        derived = str(pathway_id_for(str(issuer), str(command.get("command_id"))))
        if derived != aggregate:
            return (
                f"the publish-pathway command {command.get('command_id')!r} creates pathway "
                f"{derived}, not {aggregate}"
            )
    elif kind == "Recognition.Recorded":
        derived = str(recognition_id_for(str(issuer), str(command.get("command_id"))))
        if derived != aggregate:
            return (
                f"the recognise command {command.get('command_id')!r} records recognition "
                f"{derived}, not {aggregate}"
            )
    elif kind == "Pathway.Revised":
        if command.get("pathway_id") != aggregate:
            return (
                f"the signed revise-pathway command names pathway {command.get('pathway_id')}, "
                f"the event is of pathway {aggregate}"
            )
    elif kind in _ISSUER_EVENTS:
        if aggregate != issuer:
            return f"the {expected} command is signed for issuer {issuer}, not {aggregate}"
    elif kind != "Credential.PersonalDataErased" and command.get("credential_id") != aggregate:
        return (
            f"the signed {expected} command names credential {command.get('credential_id')}, "
            f"the event is of credential {aggregate}"
        )
    return None


# The events that name a batch's leaves and documents: the first, and the parts after it.
ANCHOR_EVENTS = frozenset(
    {"BatchAnchor.Anchored", "BatchAnchor.AnchoredInParts", "BatchAnchor.Placed"}
)

_SETS = frozenset({"erased", "status_indexes", "revoked", "suspended"})


@dataclass
class Bindings:
    """Each credential's issuer and current version, and each issuer's command ids, as the
    history has them so far; ``check`` then ``apply`` every envelope, in log order."""

    credentials: dict[str, list[Any]] = field(default_factory=dict)
    """credential id -> [issuer id, current version]"""
    commands: dict[str, str] = field(default_factory=dict)
    """"issuer id/command id" -> the signature of the erase command that first used it ("" for
    the other commands: only an erase may name its command again)"""
    erased: set[str] = field(default_factory=set)
    """credentials an erase command has marked ("command key/credential id")"""
    wallet_keys: dict[str, str] = field(default_factory=dict)
    """issuer id -> the kid of its SD-JWT VC key in use"""
    status_indexes: set[str] = field(default_factory=set)
    """"issuer id/index" of every status list entry a delivery took"""
    pathways: dict[str, list[Any]] = field(default_factory=dict)
    """pathway id -> [issuer id, current version]"""
    revoked: set[str] = field(default_factory=set)
    """credentials revoked so far"""
    suspended: set[str] = field(default_factory=set)
    """issuers suspended now"""
    anchored_leaves: dict[str, str] = field(default_factory=dict)
    """"credential id/version" -> the leaf its document was anchored as (hex)"""
    recognitions: dict[str, list[Any]] = field(default_factory=dict)
    """recognition id -> [issuer id, ["credential id/version" it recognised]]"""
    anchor_leaves: dict[str, list[int]] = field(default_factory=dict)
    """anchor (aggregate id) -> [leaves its events named so far, leaves it has in all]"""

    def saved(self) -> dict[str, Any]:
        """The state as JSON values, for an incremental audit to start again from: a copy,
        which the history checked after this point leaves as it is."""
        return {name: _copied(value) for name, value in self.__dict__.items()}

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> Bindings:
        """The state :meth:`saved` wrote."""
        fields: dict[str, Any] = {
            name: set(value) if name in _SETS else value for name, value in saved.items()
        }
        return cls(**fields)

    def check(self, envelope: dict[str, Any]) -> str | None:
        """Why ``envelope`` is not bound to its event at this point of the history."""
        kind = str(envelope.get("type"))
        if kind in ANCHOR_EVENTS:
            return self._anchor_part_problem(kind, envelope)
        if kind not in COMMAND_OF_EVENT:
            return None
        problem = target_problem(envelope)
        if problem is not None:
            return problem
        command = envelope["content"]
        key = f"{command['issuer_id']}/{command.get('command_id')}"
        first = self.commands.get(key)
        repeated_erase = kind == "Credential.PersonalDataErased" and first == envelope.get(
            "signature"
        )
        if first is not None and not repeated_erase:
            return (
                f"command id {command.get('command_id')!r} of issuer {command['issuer_id']} "
                "was used by an earlier event: a command id speaks for one command"
            )
        if kind == "Issuer.WalletKeyAdopted":
            return _wallet_key_problem(command)
        if kind in _ISSUER_EVENTS:
            return None
        if kind == "Credential.WalletDelivered":
            problem = self._delivery_problem(command)
            if problem is not None:
                return problem
        aggregate = str(envelope["aggregate_id"])
        if kind.startswith("Pathway."):
            return self._pathway_problem(kind, aggregate, command)
        if kind == "Recognition.Recorded":
            return self._recognition_problem(command)
        if kind in ("Credential.Issued", "Credential.Amended"):
            problem = self._parts_problem(command)
            if problem is not None:
                return problem
        known = self.credentials.get(aggregate)
        if kind == "Credential.Issued":
            return f"credential {aggregate} was issued before" if known else None
        if known is None:
            return f"credential {aggregate} was never issued"
        if known[0] != command["issuer_id"]:
            return f"credential {aggregate} belongs to issuer {known[0]}, not the command's"
        return self._version_problem(kind, aggregate, command, key, known[1], repeated_erase)

    def _pathway_problem(self, kind: str, aggregate: str, command: dict[str, Any]) -> str | None:
        known = self.pathways.get(aggregate)
        if kind == "Pathway.Published":
            return f"pathway {aggregate} was published before" if known else None
        if known is None:
            return f"pathway {aggregate} was never published"
        if known[0] != command["issuer_id"]:
            return f"pathway {aggregate} belongs to issuer {known[0]}, not the command's"
        if command.get("version") != str(known[1]):
            return (
                f"the signed revise-pathway command acts on version {command.get('version')}, "
                f"pathway {aggregate} was at version {known[1]}"
            )
        return None

    def _parts_problem(self, command: dict[str, Any]) -> str | None:
        """Whether a stacked credential's parts were all recognised, by its issuer, before."""
        content = command.get("content") or {}
        parts = content.get("has_part")
        if parts is None:
            return None
        recognition = self.recognitions.get(str(content.get("recognition_id")))
        if recognition is None:
            return f"has_part rests on recognition {content.get('recognition_id')}, never recorded"
        if recognition[0] != command["issuer_id"]:
            return f"has_part rests on recognition {content['recognition_id']} of another issuer"
        for part in parts:
            if f"{part.get('credential_id')}/{part.get('version')}" not in recognition[1]:
                return (
                    f"has_part names version {part.get('version')} of credential "
                    f"{part.get('credential_id')}, which recognition {content['recognition_id']} "
                    "did not recognise"
                )
        return None

    def _recognition_problem(self, command: dict[str, Any]) -> str | None:
        """Whether the pathway was the issuer's, and every component, at this point of the
        history, the current version of a credential not revoked, of an issuer not
        suspended, whose document was anchored with the hash the decision names."""
        pathway = self.pathways.get(str(command.get("pathway_id")))
        if pathway is None:
            return f"the recognition names pathway {command.get('pathway_id')}, never published"
        if pathway[0] != command["issuer_id"]:
            return f"pathway {command['pathway_id']} belongs to issuer {pathway[0]}"
        if not 1 <= int(command.get("pathway_version", 0)) <= pathway[1]:
            return f"pathway {command['pathway_id']} had no version {command['pathway_version']}"
        for component in command.get("components", []):
            credential_id, version = str(component["credential_id"]), str(component["version"])
            known = self.credentials.get(credential_id)
            if known is None:
                return f"the recognition names credential {credential_id}, never issued"
            if credential_id in self.revoked:
                return f"the recognition counts credential {credential_id}, revoked before it"
            if version != str(known[1]):
                return (
                    f"the recognition counts version {version} of credential {credential_id}, "
                    f"which was at version {known[1]}"
                )
            if known[0] in self.suspended:
                return f"the recognition counts credential {credential_id} of a suspended issuer"
            leaf = self.anchored_leaves.get(f"{credential_id}/{version}")
            if leaf is None or leaf != component.get("document_hash"):
                return (
                    f"the recognition names a document of credential {credential_id} version "
                    f"{version} that is not the one anchored for it"
                )
        return None

    def _anchor_part_problem(self, kind: str, envelope: dict[str, Any]) -> str | None:
        """Why an anchor event is not the next part of its batch's leaves, in order."""
        content = envelope.get("content") or {}
        leaves = content.get("leaves")
        if not isinstance(leaves, list) or not leaves:
            return "the anchor event names no leaves"
        named = self.anchor_leaves.get(str(envelope.get("aggregate_id")))
        if kind == "BatchAnchor.Placed":
            if named is None:
                return "leaves placed for an anchor that no event records"
            if content.get("first_leaf") != named[0]:
                return (
                    f"the anchor's leaves continue at {content.get('first_leaf')}, "
                    f"not at {named[0]} where its events so far end"
                )
            if named[0] + len(leaves) > named[1]:
                return f"the anchor's events name more than its {named[1]} leaves"
        elif named is not None:
            return "the anchor is recorded twice"
        elif kind == "BatchAnchor.AnchoredInParts" and not (
            isinstance(content.get("leaf_count"), int) and content["leaf_count"] > len(leaves)
        ):
            return "an anchor in parts names all its leaves in its first event"
        return None

    def _delivery_problem(self, content: dict[str, Any]) -> str | None:
        delivery = content.get("delivery") or {}
        issuer = str(content["issuer_id"])
        if delivery.get("kid") != self.wallet_keys.get(issuer):
            return (
                f"the SD-JWT VC was signed with key {delivery.get('kid')!r}, not the key issuer "
                f"{issuer} had adopted at this point"
            )
        if f"{issuer}/{delivery.get('status_index')}" in self.status_indexes:
            return f"status list entry {delivery.get('status_index')} of issuer {issuer} was taken"
        return None

    def _version_problem(
        self,
        kind: str,
        aggregate: str,
        command: dict[str, Any],
        key: str,
        current: int,
        repeated_erase: bool,
    ) -> str | None:
        named = str(command.get("credential_id"))
        if kind == "Credential.PersonalDataErased" and named != aggregate:
            # The same learner's other credential: the erase must already have marked the
            # credential it names, in this command, and this one only once.
            if not repeated_erase or f"{key}/{named}" not in self.erased:
                return f"the erase command names credential {named}, which it has not erased"
            if f"{key}/{aggregate}" in self.erased:
                return f"the erase command marked credential {aggregate} twice"
            return None
        if repeated_erase:
            return f"the erase command marked credential {aggregate} twice"
        if command.get("version") != str(current):
            return (
                f"the signed {command.get('type')} command acts on version "
                f"{command.get('version')}, credential {aggregate} was at version {current}"
            )
        return None

    def apply(self, envelope: dict[str, Any]) -> None:
        """Take ``envelope`` (checked) into the state."""
        kind = str(envelope.get("type"))
        if kind not in COMMAND_OF_EVENT:
            self._apply_unsigned(kind, envelope)
            return
        command = envelope["content"]
        key = f"{command['issuer_id']}/{command.get('command_id')}"
        if kind == "Credential.PersonalDataErased":
            self.commands.setdefault(key, str(envelope.get("signature")))
        else:
            self.commands.setdefault(key, "")
        aggregate = str(envelope["aggregate_id"])
        if kind == "Credential.Issued":
            # One string for an issuer's million credentials, not one each.
            self.credentials[aggregate] = [sys.intern(command["issuer_id"]), 1]
        elif kind == "Credential.Amended":
            self.credentials[aggregate][1] += 1
        elif kind == "Credential.PersonalDataErased":
            self.erased.add(f"{key}/{aggregate}")
        elif kind == "Credential.Revoked":
            self.revoked.add(aggregate)
        elif kind == "Recognition.Recorded":
            parts = sorted(f"{c['credential_id']}/{c['version']}" for c in command["components"])
            self.recognitions[aggregate] = [command["issuer_id"], parts]
        elif kind == "Pathway.Published":
            self.pathways[aggregate] = [command["issuer_id"], 1]
        elif kind == "Pathway.Revised":
            self.pathways[aggregate][1] += 1
        elif kind == "Issuer.WalletKeyAdopted":
            self.wallet_keys[command["issuer_id"]] = command["wallet_key"]["kid"]
        elif kind == "Credential.WalletDelivered":
            index = command["delivery"]["status_index"]
            self.status_indexes.add(f"{command['issuer_id']}/{index}")

    def _apply_unsigned(self, kind: str, envelope: dict[str, Any]) -> None:
        """The operator's and the anchorer's events that later bindings depend on."""
        content = envelope.get("content") or {}
        if kind == "Issuer.Suspended":
            self.suspended.add(str(envelope["aggregate_id"]))
        elif kind == "Issuer.Reinstated":
            self.suspended.discard(str(envelope["aggregate_id"]))
        elif kind in ANCHOR_EVENTS:
            leaves = content.get("leaves") or []
            first = content.get("first_leaf", 0)
            anchor = str(envelope.get("aggregate_id"))
            if kind == "BatchAnchor.Placed":
                self.anchor_leaves[anchor][0] += len(leaves)
            else:
                self.anchor_leaves[anchor] = [len(leaves), content.get("leaf_count", len(leaves))]
            for placed in content.get("documents") or []:
                index = placed.get("leaf_index")
                if (
                    isinstance(index, int)
                    and isinstance(first, int)
                    and 0 <= index - first < len(leaves)
                ):
                    key = f"{placed.get('credential_id')}/{placed.get('version')}"
                    self.anchored_leaves[key] = str(leaves[index - first]).removeprefix("0x")


def _copied(value: Any) -> Any:
    """A set, or a dict of strings or of lists, as JSON values of its own."""
    if isinstance(value, set):
        return sorted(value)
    return {k: list(v) if isinstance(v, list) else v for k, v in value.items()}


def _wallet_key_problem(content: dict[str, Any]) -> str | None:
    recorded = content.get("wallet_key") or {}
    jwk = recorded.get("jwk")
    try:
        derived = thumbprint(jwk) if isinstance(jwk, dict) else None
    except KeyError:
        derived = None
    if derived is None or derived != recorded.get("kid"):
        return "the adopted key's kid is not the thumbprint of its JWK"
    return None
