"""The public pages in a real headless Chromium (Debian's), driven with Playwright.

One ledger serves the pages; credentials are issued, amended and revoked, their batches anchored
and cosigned by a witness; then a person's use of the verifier is replayed: a valid file, a
changed file, a revoked credential, a superseded version, a credential not yet anchored, and the
whole flow by keyboard alone. Screenshots of each state are saved under test-artifacts/pages/.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from playwright.sync_api import Page, expect

from anchors.witness import WitnessKey
from ledger.api import create_app
from ledger.cli.main import cli
from ledger.client import CommandSigner, LedgerClient
from ledger.domain import samples
from ledger.domain.signing import IssuerKey
from ledger.formats.edc.demo_pki import DemoCA
from ledger.formats.edc.seal import seal
from ledger.formats.sd_jwt.holder import Holder
from ledger.runtime.embedded import EmbeddedLedger
from ledger.settings import Settings, create_secrets
from tests.conftest import (
    LEARNER,
    content,
    free_port,
    settled,
    start_server,
    wait_for,
)
from tests.web.conftest import ON_SQLITE_ONLY, accessibility_violations, shot

ROOT = Path(__file__).resolve().parents[2]
WITNESS = WitnessKey.generate()

pytestmark = ON_SQLITE_ONLY


@dataclass
class Site:
    url: str
    client: LedgerClient
    signer: CommandSigner
    issuer_id: str
    documents: dict[str, dict[str, Any]]
    credentials: dict[str, str]
    ledger: EmbeddedLedger
    holder: Holder
    sd_jwt: str


def _serve(settings: Settings) -> tuple[EmbeddedLedger, uvicorn.Server, threading.Thread]:
    embedded = EmbeddedLedger(settings).start()
    server, thread, _ = start_server(create_app(embedded.api_context()), settings.port)
    return embedded, server, thread


def _cosign(url: str, client: LedgerClient, work: Path) -> None:
    key_file = work / "witness.json"
    if not key_file.exists():
        WITNESS.save(key_file)
    log_key = client._call("GET", "/log/key")["verifier_key"]
    result = CliRunner().invoke(
        cli,
        [
            "witness",
            "cosign",
            "--url",
            url,
            "--key",
            str(key_file),
            "--state",
            str(work / "witness-state.json"),
            "--log-key",
            log_key,
        ],
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("pages")
    create_secrets(work / "data")
    ca = DemoCA.create()
    (work / "edc-ca.pem").write_bytes(ca.certificate_pem())
    port = free_port()
    settings = Settings(
        edc_trust_anchors=work / "edc-ca.pem",
        data_dir=work / "data",
        chain="in-process",
        batch_age_seconds=0.2,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        witnesses=[{"key": WITNESS.public, "proof": WITNESS.proof_of_possession()}],
        witness_quorum=1,
    )
    embedded, server, thread = _serve(settings)
    url = settings.public_url_value()
    client = LedgerClient(url, admin_token=settings.admin_token_value())
    try:
        key = IssuerKey.generate()
        issuer = client.register_issuer(samples.issuer_registration(key.address))
        signer = CommandSigner(key, issuer["issuer_id"])
        learners = [LEARNER, {"identifier": "s-2", "full_name": "Zoë Ångström"}]
        learners.append({"identifier": "s-3", "full_name": "Łukasz Żółć"})
        # One request, so the three are in one batch: the checkpoint the witness cosigns next
        # is the one they are anchored under.
        issued = client.bulk_issue([signer.issue(content(), learner) for learner in learners])
        ids = [item["result"]["credential_id"] for item in issued]
        wait_for(lambda: settled(embedded))
        _cosign(url, client, work)
        valid, amended, revoked = ids
        client.amend(
            signer.amend(
                amended, 1, content(title="Applied Machine Learning (with Lab)"), learners[1]
            )
        )
        wait_for(lambda: settled(embedded))
        _cosign(url, client, work)
        client.revoke(
            signer.revoke(revoked, 1, "assessment irregularity confirmed by the exam board")
        )
        wait_for(lambda: settled(embedded))
        _cosign(url, client, work)
        wanted = [
            {"credential_id": valid},
            {"credential_id": amended, "version": 1},
            {"credential_id": revoked},
        ]
        fetched = client.documents(signer.read_documents(wanted))
        assert all("document" in item for item in fetched), fetched
        documents = dict(
            zip(("valid", "superseded", "revoked"), (i["document"] for i in fetched), strict=True)
        )
        sealer = ca.issue_seal(samples.ISSUER_NAME, samples.ISSUER_LEGAL_IDENTIFIER, "IE")
        client.register_seal_certificate(
            signer.register_seal_certificate(sealer.certificate_pem().decode())
        )
        (unsealed,) = client.documents(
            signer.read_documents([{"credential_id": valid}], format="edc")
        )
        sealed = seal(unsealed["credential"], sealer.chain, sealer.key, datetime.now(UTC))
        client.record_seal(signer.record_seal(sealed))
        wait_for(lambda: settled(embedded))
        documents["edc"] = sealed
        client.adopt_wallet_key(signer.adopt_wallet_key())
        offer = client.offer(signer.offer(valid, 1))
        holder = Holder()
        sd_jwt = holder.receive(offer["credential_offer_uri"], offer["tx_code"])
        wait_for(lambda: settled(embedded))
        _cosign(url, client, work)
        tampered = copy.deepcopy(documents["valid"])
        tampered["credentialSubject"]["hasClaim"]["specifiedBy"]["creditPoint"][0]["point"] = "30"
        documents["tampered"] = tampered
        yield Site(
            url,
            client,
            signer,
            issuer["issuer_id"],
            documents,
            {"valid": valid, "amended": amended, "revoked": revoked},
            embedded,
            holder,
            sd_jwt,
        )
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        embedded.stop()


def _verify_file(page: Page, site: Site, document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    page.goto(site.url + "/")
    page.get_by_label(re.compile("^Credential file")).set_input_files(path)
    page.get_by_role("button", name="Verify").click()
    _wait_for_verdict(page)


def _wait_for_verdict(page: Page) -> None:
    expect(page.locator("#verdict")).to_have_attribute(
        "data-verdict", re.compile(".+"), timeout=30_000
    )


def _steps(page: Page) -> dict[str, str]:
    items = page.locator("#steps li")
    return {
        items.nth(i).get_attribute("data-step") or "": items.nth(i).get_attribute("data-result")
        or ""
        for i in range(items.count())
    }


def test_a_valid_credential_file_shows_valid_with_every_step_passed(
    page: Page, site: Site, tmp_path: Path
) -> None:
    _verify_file(page, site, site.documents["valid"], tmp_path)
    shot(page, "valid")
    expect(page.locator("#verdict-title")).to_have_text("VALID")
    steps = _steps(page)
    for name in (
        "integrity",
        "anchor_path",
        "transaction",
        "issuer",
        "issuer_signature",
        "issuer_registered",
        "quality_assurance",
        "log_inclusion",
        "witnesses",
        "status",
    ):
        assert steps.get(name) == "pass", (name, steps)
    assert set(steps.values()) == {"pass"}


def test_the_page_shows_the_constitutive_elements_not_raw_json(
    page: Page, site: Site, tmp_path: Path
) -> None:
    _verify_file(page, site, site.documents["valid"], tmp_path)
    facts = page.locator("#facts")
    for term, value in (
        ("Title", "Applied Machine Learning"),
        ("Awarding body", "Example Technological University"),
        ("Workload", "5 ECTS credits"),
        ("Level", "EQF Level 6"),
        ("Learning outcomes", "Train, evaluate and compare supervised learning models."),
        ("Quality assurance", "Quality and Qualifications Ireland"),
        ("Grade", "A"),
    ):
        expect(facts.locator("dt", has_text=term).first).to_be_visible()
        expect(facts).to_contain_text(value)
    expect(page.locator("#raw")).not_to_be_visible()


def test_a_sealed_edc_credential_shows_valid_with_its_seal_checks_and_elements(
    page: Page, site: Site, tmp_path: Path
) -> None:
    _verify_file(page, site, site.documents["edc"], tmp_path)
    shot(page, "edc")
    expect(page.locator("#verdict-title")).to_have_text("VALID")
    steps = _steps(page)
    assert steps == {
        name: "pass"
        for name in (
            "seal",
            "certificate_chain",
            "shapes",
            "seal_certificate",
            "ledger_record",
            "anchor",
            "status",
        )
    }
    expect(page.locator("#facts")).to_contain_text("EQF Level 6")


def test_a_wallet_presentation_shows_valid_and_only_the_disclosed_claims(
    page: Page, site: Site
) -> None:
    shown = site.holder.present(
        site.sd_jwt, {"title", "eqf_level"}, "page-nonce", "https://hr.example"
    )
    page.goto(site.url + "/")
    page.get_by_label(re.compile("^Or paste")).fill(shown)
    page.get_by_label("Nonce").fill("page-nonce")
    page.get_by_label("Audience (you)").fill("https://hr.example")
    page.get_by_role("button", name="Verify").click()
    _wait_for_verdict(page)
    shot(page, "sd-jwt")
    expect(page.locator("#verdict-title")).to_have_text("VALID")
    steps = _steps(page)
    assert steps["disclosures"] == steps["key_binding"] == steps["anchor"] == "pass"
    facts = page.locator("#facts")
    expect(facts).to_contain_text("Applied Machine Learning")
    expect(facts).to_contain_text("Level 6")
    expect(facts).to_contain_text("Not disclosed")
    expect(facts).not_to_contain_text(LEARNER["full_name"])
    expect(facts).not_to_contain_text("Learning outcomes")


def test_a_wallet_presentation_without_its_nonce_is_not_sent(page: Page, site: Site) -> None:
    shown = site.holder.present(site.sd_jwt, {"title"}, "n", "https://hr.example")
    page.goto(site.url + "/")
    page.get_by_label(re.compile("^Or paste")).fill(shown)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#form-error")).to_contain_text("nonce and audience")


def test_the_commissions_sealed_sample_shows_not_issued_here(
    page: Page, site: Site, tmp_path: Path
) -> None:
    samples_dir = ROOT / "tests" / "ledger" / "formats" / "edc" / "commission-samples"
    sample = json.loads((samples_dir / "Sample-MC-Annex1-signed.jsonld").read_text("utf-8"))
    _verify_file(page, site, sample, tmp_path)
    expect(page.locator("#verdict-title")).to_have_text("NOT ISSUED HERE")
    assert _steps(page)["seal"] == "pass"


def test_a_changed_file_shows_not_valid_at_integrity(
    page: Page, site: Site, tmp_path: Path
) -> None:
    _verify_file(page, site, site.documents["tampered"], tmp_path)
    shot(page, "tampered")
    expect(page.locator("#verdict-title")).to_have_text("NOT VALID")
    assert _steps(page)["integrity"] == "fail"
    expect(page.locator('[data-step="integrity"]')).to_contain_text("changed")


def test_a_revoked_credential_shows_revoked_with_reason_and_date(page: Page, site: Site) -> None:
    page.goto(site.url + "/")
    page.get_by_label("Or paste a credential id").fill(site.credentials["revoked"])
    page.get_by_role("button", name="Verify").click()
    _wait_for_verdict(page)
    shot(page, "revoked")
    expect(page.locator("#verdict-title")).to_have_text("REVOKED")
    verdict = page.locator("#verdict-text")
    expect(verdict).to_contain_text("assessment irregularity confirmed by the exam board")
    expect(verdict).to_contain_text(re.compile(r"on \d{1,2} \w+ 20\d\d"))


def test_a_superseded_version_shows_superseded_and_the_newer_version(
    page: Page, site: Site, tmp_path: Path
) -> None:
    _verify_file(page, site, site.documents["superseded"], tmp_path)
    shot(page, "superseded")
    expect(page.locator("#verdict-title")).to_have_text("SUPERSEDED")
    expect(page.locator("#verdict-text")).to_contain_text("version 2")
    expect(page.locator("#verdict-text")).to_contain_text(re.compile(r"on \d{1,2} \w+ 20\d\d"))
    expect(page.locator('[data-step="status"]').first).to_contain_text("superseded by version 2")


@pytest.fixture(scope="module")
def waiting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A ledger whose batches close only after an hour, and a credential issued on it."""
    work = tmp_path_factory.mktemp("waiting")
    create_secrets(work / "data")
    ca = DemoCA.create()
    (work / "edc-ca.pem").write_bytes(ca.certificate_pem())
    port = free_port()
    settings = Settings(
        edc_trust_anchors=work / "edc-ca.pem",
        data_dir=work / "data",
        chain="in-process",
        batch_age_seconds=3600,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
    )
    embedded, server, thread = _serve(settings)
    client = LedgerClient(settings.public_url_value(), admin_token=settings.admin_token_value())
    try:
        key = IssuerKey.generate()
        issuer = client.register_issuer(samples.issuer_registration(key.address))
        signer = CommandSigner(key, issuer["issuer_id"])
        issued = client.issue(signer.issue(content(), LEARNER))
        yield settings.public_url_value(), str(issued["credential_id"])
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        embedded.stop()


def test_a_credential_not_yet_anchored_shows_not_yet_anchored(
    page: Page, waiting: tuple[str, str]
) -> None:
    url, credential_id = waiting
    page.goto(f"{url}/?credential={credential_id}")
    _wait_for_verdict(page)
    shot(page, "not-yet-anchored")
    expect(page.locator("#verdict-title")).to_have_text("NOT YET ANCHORED")


def test_the_verifier_works_by_keyboard_alone(page: Page, site: Site) -> None:
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "pasted":
            break
    expect(page.locator("#pasted")).to_be_focused()
    page.keyboard.type(site.credentials["valid"])
    # Past the nonce and audience a wallet presentation is checked for, to the button.
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "verify-button":
            break
    expect(page.get_by_role("button", name="Verify")).to_be_focused()
    page.keyboard.press("Enter")
    _wait_for_verdict(page)
    expect(page.locator("#verdict")).to_be_focused()
    expect(page.locator("#verdict-title")).to_have_text("VALID")
    page.keyboard.press("Tab")
    shot(page, "keyboard")
    assert page.evaluate("document.activeElement.tagName") in ("A", "SUMMARY")


def test_the_issuer_page_shows_quality_assurance_and_key_history(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/issuer?id={site.issuer_id}")
    expect(page.locator("#issuer-name")).to_have_text("Example Technological University")
    shot(page, "issuer")
    expect(page.locator("#qa")).to_contain_text("Quality and Qualifications Ireland")
    expect(page.locator("#keys tr")).to_have_count(1)
    expect(page.locator("#anchoring-keys")).to_contain_text("in use")


def test_the_overview_shows_the_checkpoint_anchors_and_witness_quorum(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.url}/overview")
    expect(page.locator("#chart circle").first).to_be_visible()
    shot(page, "overview")
    expect(page.locator("#checkpoint")).to_contain_text("entries")
    expect(page.locator("#witnesses")).to_contain_text("1 of 1 trusted witnesses")
    assert page.locator("#anchors tr").count() >= 3


def test_the_verifier_with_a_result_meets_wcag_21_aa_rules(
    audited_page: Page, site: Site, tmp_path: Path
) -> None:
    page = audited_page
    _verify_file(page, site, site.documents["tampered"], tmp_path)
    page.locator("#raw-details summary").click()
    assert accessibility_violations(page) == []


def test_the_issuer_and_overview_pages_meet_wcag_21_aa_rules(
    audited_page: Page, site: Site
) -> None:
    page = audited_page
    page.goto(f"{site.url}/issuer?id={site.issuer_id}")
    expect(page.locator("#issuer-name")).to_have_text("Example Technological University")
    assert accessibility_violations(page) == []
    page.goto(f"{site.url}/overview")
    expect(page.locator("#chart circle").first).to_be_visible()
    assert accessibility_violations(page) == []


def test_a_proof_bundle_file_shows_the_version_it_proves(
    page: Page, site: Site, tmp_path: Path
) -> None:
    bundle = site.client.proof(site.credentials["amended"], 1)
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(bundle), "utf-8")
    page.goto(site.url + "/")
    page.get_by_label(re.compile("^Credential file")).set_input_files(path)
    page.get_by_role("button", name="Verify").click()
    _wait_for_verdict(page)
    shot(page, "bundle-superseded")
    expect(page.locator("#verdict-title")).to_have_text("SUPERSEDED")
    expect(page.locator("#facts")).to_contain_text("1 of 2")
