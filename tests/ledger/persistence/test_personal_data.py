"""Learners' personal data: never in clear in the stores, readable only by the issuer,
and erasable, after which nothing returns it and everything else keeps working."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from ledger.client import LedgerRequestError
from ledger.domain.binding import Bindings
from ledger.domain.canonical import canonical_bytes
from ledger.formats.sd_jwt.holder import Holder
from tests.conftest import RegisteredIssuer, RunningLedger, content, issue, wait_for

LEARNER = {
    "identifier": "R00987654",
    "full_name": "Małgorzata Wiśniewska-Kowalczyk",
    "email": "m.wisniewska@example.org",
    "date_of_birth": "1999-04-01",
}
CLEAR_VALUES = ("Wiśniewska", "R00987654", "m.wisniewska@example.org", "1999-04-01")


def stored_bytes(data_dir: Path) -> bytes:
    """Every byte the ledger keeps on disk (databases, their WAL and journal files)."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def everything_stored(ledger: RunningLedger) -> bytes:
    """The files of the embedded stores, or on PostgreSQL every row of every table."""
    settings = ledger.embedded.settings
    if settings.store != "postgres":
        return stored_bytes(ledger.data_dir)
    import psycopg

    from ledger.persistence.postgres import conninfo

    chunks = []
    with psycopg.connect(conninfo(settings)) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            for row in connection.execute(f"SELECT * FROM {table}"):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(chunks)


def present(haystack: bytes) -> list[str]:
    found = []
    for value in CLEAR_VALUES:
        encodings = {value.encode("utf-8"), json.dumps(value).encode("ascii")}
        if any(e in haystack for e in encodings):
            found.append(value)
    return found


def test_no_personal_data_in_clear_anywhere_on_disk(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    ledger.public.amend(issuer.signer.amend(credential_id, 1, content(title="v2"), learner=LEARNER))
    # A delivery to a wallet keeps only the digest of what it signed.
    ledger.public.adopt_wallet_key(issuer.signer.adopt_wallet_key())
    offer = ledger.public.offer(issuer.signer.offer(credential_id, 2))
    Holder().receive(offer["credential_offer_uri"], offer["tx_code"])
    stored = everything_stored(ledger)
    assert len(stored) > 1000
    assert present(stored) == []


def test_the_grep_itself_finds_clear_text(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(json.dumps({"n": CLEAR_VALUES[0]}).encode())
    assert present(stored_bytes(tmp_path)) == [CLEAR_VALUES[0]]


def test_wallet_answers_carry_no_learner(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    ledger.public.adopt_wallet_key(issuer.signer.adopt_wallet_key())
    offer = ledger.public.offer(issuer.signer.offer(credential_id, 1))
    holder = Holder()
    credential = holder.receive(offer["credential_offer_uri"], offer["tx_code"])
    shown = holder.present(credential, {"title"}, "n", "https://v.example")
    answers = [
        ledger.public.verify(sd_jwt=shown, nonce="n", audience="https://v.example"),
        ledger.public.issuer(issuer.issuer_id),
        httpx.get(f"{ledger.url}/issuers/{issuer.issuer_id}/token-status-list").text,
        httpx.get(f"{ledger.url}/.well-known/jwt-vc-issuer/issuers/{issuer.issuer_id}").text,
        httpx.get(f"{ledger.url}/.well-known/openid-credential-issuer").text,
        offer,
    ]
    assert present(json.dumps(answers, ensure_ascii=False).encode()) == []


def test_public_answers_carry_no_learner(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    answer = json.dumps(ledger.public.status(credential_id), ensure_ascii=False)
    assert present(answer.encode()) == []
    assert "learner" not in answer and "commitment" not in answer


def test_the_issuer_reads_its_learners_data_with_a_signed_request(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    found = ledger.public.personal_data(issuer.signer.read_personal_data(credential_id))
    assert found["learner"] == LEARNER


def test_a_signed_read_is_answered_once(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    body = issuer.signer.read_personal_data(credential_id)
    ledger.public.personal_data(body)
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.personal_data(body)
    assert (caught.value.status, caught.value.code) == (409, "read-already-answered")
    assert "learner" not in caught.value.problem


def test_a_signed_read_must_be_fresh(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    body = issuer.signer.read_personal_data(credential_id)
    body["command"]["signed_at"] = "2020-01-01T00:00:00+00:00"
    body["signature"] = issuer.key.sign(canonical_bytes(body["command"]))
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.personal_data(body)
    assert caught.value.problem["errors"][0]["rule"] == "stale-request"


def erase(ledger: RunningLedger, issuer: RegisteredIssuer, credential_id: str) -> dict[str, Any]:
    return ledger.public.erase(issuer.signer.erase(credential_id, 1))


def test_after_erasure_no_api_returns_the_learners_data(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    erase(ledger, issuer, credential_id)
    with pytest.raises(LedgerRequestError) as caught:
        ledger.public.personal_data(issuer.signer.read_personal_data(credential_id))
    assert (caught.value.status, caught.value.code) == (404, "personal-data-erased")


def test_erasure_destroys_the_key_and_statuses_still_answer(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    storage = ledger.embedded.storage
    commitment = storage.read_model.commitment_of(credential_id, 1)
    assert commitment is not None
    learner_ref = storage.vault.learner_of(commitment)
    assert learner_ref is not None
    erase(ledger, issuer, credential_id)
    assert storage.vault.learner_of(commitment) is None
    assert storage.vault.credentials_of(learner_ref) == []
    found = ledger.public.status(credential_id)
    assert (found["status"], found["personal_data_erased"]) == ("active", True)


def test_the_vault_holds_a_learners_data_until_it_is_erased(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    kept = issue(ledger, issuer, learner={**LEARNER, "identifier": "kept-1"})
    erased = issue(ledger, issuer, learner=LEARNER)
    storage = ledger.embedded.storage
    commitments = [storage.read_model.commitment_of(c, 1) or "" for c in (kept, erased)]
    assert storage.vault.held([*commitments, "00" * 32]) == set(commitments)
    erase(ledger, issuer, erased)
    assert storage.vault.held(commitments) == {commitments[0]}


def test_an_erasure_moves_the_vaults_count_of_erasures(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer)
    vault = ledger.embedded.storage.vault
    before = vault.erasures()
    erase(ledger, issuer, credential_id)
    assert vault.erasures() > before


def test_a_write_leaves_the_vaults_count_of_erasures(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    erase(ledger, issuer, issue(ledger, issuer))
    vault = ledger.embedded.storage.vault
    before = vault.erasures()
    issue(ledger, issuer, learner={**LEARNER, "identifier": "another-learner"})
    assert vault.erasures() == before


def test_erasure_covers_all_of_the_learners_credentials_from_that_issuer(
    ledger: RunningLedger, issuer: RegisteredIssuer, other_issuer: RegisteredIssuer
) -> None:
    first = issue(ledger, issuer, learner=LEARNER)
    second = issue(ledger, issuer, learner=LEARNER, title="Second course")
    elsewhere = issue(ledger, other_issuer, learner=LEARNER)
    erase(ledger, issuer, first)
    assert ledger.public.status(second)["personal_data_erased"] is True
    assert ledger.public.status(elsewhere)["personal_data_erased"] is False
    read = other_issuer.signer.read_personal_data(elsewhere)
    assert ledger.public.personal_data(read)["learner"] == LEARNER


def test_erasures_of_a_learners_credentials_stay_bound_in_the_public_history(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    first = issue(ledger, issuer, learner=LEARNER)
    issue(ledger, issuer, learner=LEARNER, title="Second course")
    erase(ledger, issuer, first)
    # The learner comes back for another course, and asks again through the first credential.
    issue(ledger, issuer, learner=LEARNER, title="Third course")
    erase(ledger, issuer, first)
    storage = ledger.embedded.storage
    wait_for(lambda: storage.log.position() >= (storage.ledger.recorder.max_notification_id() or 0))
    bindings = Bindings()
    for entry in storage.log.store.entries(0, storage.log.size()):
        envelope = json.loads(entry)
        assert bindings.check(envelope) is None, envelope
        bindings.apply(envelope)
    assert len([key for key in bindings.erased if key.endswith(first)]) == 2


def test_revocation_and_amendment_still_work_after_erasure(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    erase(ledger, issuer, credential_id)
    commitment = ledger.embedded.storage.read_model.commitment_of(credential_id, 1)
    assert commitment is not None
    ledger.public.amend(
        issuer.signer.amend(credential_id, 1, content(title="Renamed"), commitment=commitment)
    )
    ledger.public.revoke(issuer.signer.revoke(credential_id, 2, "course withdrawn"))
    assert ledger.public.status(credential_id)["status"] == "revoked"


def test_a_repeated_erasure_returns_the_first_result(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    body = issuer.signer.erase(credential_id, 1, command_id="gdpr-request-7")
    first = ledger.public.erase(body)
    assert ledger.public.erase(body) == {**first, "replayed": True}


def test_history_keeps_only_the_commitment(ledger: RunningLedger, issuer: RegisteredIssuer) -> None:
    credential_id = issue(ledger, issuer, learner=LEARNER)
    erase(ledger, issuer, credential_id)
    app = ledger.embedded.storage.ledger
    issued = next(iter(app.events.get(UUID(credential_id))))
    assert set(issued.command["content"]["learner"]) == {"commitment"}


def test_concurrent_first_credentials_of_one_learner_share_one_key(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    from ledger.domain.commands import SignedCommand

    app = ledger.embedded.storage.ledger
    bodies = [
        SignedCommand(**issuer.signer.issue(content(title=f"Course {i}"), LEARNER))
        for i in range(4)
    ]
    barrier = threading.Barrier(len(bodies))
    results: list[str] = []

    def issue_one(body: SignedCommand) -> None:
        barrier.wait()
        results.append(str(app.issue(body).credential_id))

    threads = [threading.Thread(target=issue_one, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for credential_id in results:
        read = issuer.signer.read_personal_data(credential_id)
        assert ledger.public.personal_data(read)["learner"] == LEARNER


def learner_and_key(ledger: RunningLedger, credential_id: str) -> tuple[str, bytes]:
    """The learner reference and wrapped data key the vault keeps with a credential's record."""
    vault = ledger.embedded.storage.ledger.vault
    credential = ledger.embedded.storage.ledger._credential(credential_id)
    assert credential is not None
    learner_ref, _, wrapped_key = vault._load([credential.learner_commitment])[
        credential.learner_commitment
    ]
    return learner_ref, wrapped_key


def test_a_record_sealed_under_a_key_erased_before_it_is_written_is_sealed_under_a_new_one(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.domain.commands import SignedCommand

    app = ledger.embedded.storage.ledger
    learner_ref, erased_key = learner_and_key(ledger, issue(ledger, issuer, learner=LEARNER))
    seal = app.vault.seal

    def seal_then_erase(records: list[Any], **options: Any) -> Any:
        sealed = seal(records, **options)
        monkeypatch.setattr(app.vault, "seal", seal)
        # The learner's erasure commits after the record was sealed under their key.
        app.vault.erase(learner_ref)
        return sealed

    monkeypatch.setattr(app.vault, "seal", seal_then_erase)
    body = SignedCommand(**issuer.signer.issue(content(title="Second course"), LEARNER))
    second = str(app.issue(body).credential_id)
    new_ref, new_key = learner_and_key(ledger, second)
    assert new_ref == learner_ref
    assert new_key != erased_key
    read = issuer.signer.read_personal_data(second)
    assert ledger.public.personal_data(read)["learner"] == LEARNER


def test_a_new_learners_credential_is_sealed_without_reading_the_vault_first(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ledger.embedded.storage.ledger
    reads: list[list[str]] = []
    read = app.vault._wrapped_keys

    def counted(learner_refs: list[str]) -> dict[str, bytes]:
        reads.append(learner_refs)
        return read(learner_refs)

    monkeypatch.setattr(app.vault, "_wrapped_keys", counted)
    credential_id = issue(ledger, issuer, learner=LEARNER)
    assert reads == []
    read_back = issuer.signer.read_personal_data(credential_id)
    assert ledger.public.personal_data(read_back)["learner"] == LEARNER


def test_a_learner_the_ledger_does_not_remember_keeps_their_one_key_for_a_new_credential(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    app = ledger.embedded.storage.ledger
    learner_ref, first_key = learner_and_key(ledger, issue(ledger, issuer, learner=LEARNER))
    # As after a restart, or for a learner last seen by another API worker.
    app.vault.forget([learner_ref])
    second = issue(ledger, issuer, learner=LEARNER, title="Second course")
    assert learner_and_key(ledger, second) == (learner_ref, first_key)
    read = issuer.signer.read_personal_data(second)
    assert ledger.public.personal_data(read)["learner"] == LEARNER


@contextmanager
def erasure_in_progress(ledger: RunningLedger, learner_ref: str) -> Iterator[None]:
    """The learner's erasure, done but not yet committed, on a connection of its own (the
    statements the vault's erase runs, held open for the length of the block)."""
    settings = ledger.embedded.settings
    if settings.store == "postgres":
        import psycopg

        from ledger.persistence.postgres import LEARNER_LOCKS, conninfo

        with psycopg.connect(conninfo(settings)) as connection:
            connection.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LEARNER_LOCKS, learner_ref)
            )
            connection.execute("DELETE FROM personal_data WHERE learner_ref = %s", (learner_ref,))
            yield
    else:
        path = ledger.embedded.storage.ledger.recorder.datastore.pool.db_name
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("DELETE FROM personal_data WHERE learner_ref = ?", (learner_ref,))
            yield
            connection.execute("COMMIT")
        finally:
            connection.close()


def test_a_record_written_while_its_learner_is_erased_does_not_keep_their_key(
    ledger: RunningLedger, issuer: RegisteredIssuer
) -> None:
    from ledger.domain.commands import SignedCommand

    app = ledger.embedded.storage.ledger
    learner_ref, erased_key = learner_and_key(ledger, issue(ledger, issuer, learner=LEARNER))
    body = SignedCommand(**issuer.signer.issue(content(title="Second course"), LEARNER))
    issued: list[str] = []
    with erasure_in_progress(ledger, learner_ref):
        writer = threading.Thread(target=lambda: issued.append(str(app.issue(body).credential_id)))
        writer.start()
        # Time for the write to reach the learner's record; it must wait for the erasure.
        writer.join(timeout=1.0)
    writer.join()
    assert learner_and_key(ledger, issued[0])[1] != erased_key


def test_a_credential_issued_while_its_learners_erasure_is_decided_is_erased_with_a_record(
    ledger: RunningLedger, issuer: RegisteredIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.domain.commands import SignedCommand

    app = ledger.embedded.storage.ledger
    first = issue(ledger, issuer, learner=LEARNER)
    credentials_of = app.vault.credentials_of
    issued: list[str] = []

    def credentials_then_issue(learner_ref: str) -> list[str]:
        held = credentials_of(learner_ref)
        if not issued:
            # Another request gives the learner a credential after the erasure read theirs.
            body = SignedCommand(**issuer.signer.issue(content(title="Second course"), LEARNER))
            issued.append(str(app.issue(body).credential_id))
        return held

    monkeypatch.setattr(app.vault, "credentials_of", credentials_then_issue)
    app.erase(SignedCommand(**issuer.signer.erase(first, 1)))
    second = app._credential(issued[0])
    assert second is not None
    assert second.personal_data_erased
    assert app.vault.held([second.learner_commitment]) == set()
