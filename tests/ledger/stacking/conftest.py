"""One ledger for the stacking tests: three issuers' credentials for one learner (and a few
that must not count), anchored, and the documents the learner holds of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.domain.codelists import ECTS, ECVET
from ledger.formats.edc.demo_pki import DemoCA, SealIdentity
from ledger.settings import Settings, create_secrets
from tests.conftest import (
    RegisteredIssuer,
    RunningLedger,
    content,
    databases,
    register,
    running_ledger,
    settled,
    wait_for,
)

LEARNER = {"identifier": "learner-stack-1", "full_name": "Aoife Ní Chonaill"}
OTHER_LEARNER = {"identifier": "learner-stack-2", "full_name": "Jürgen Groß"}
ICT = "http://data.europa.eu/snb/isced-f/0613"
STATISTICS = "http://data.europa.eu/snb/isced-f/0542"
MET = ("a1", "b1", "c1")  # 5 ECTS from each of three issuers, for one learner
TARGET = {
    "title": "Postgraduate Certificate in Data Science",
    "eqf_level": "http://data.europa.eu/snb/eqf/7",
    "thematic_area": ICT,
    "qualification": "MSc in Data Science",
}


@dataclass
class Holdings:
    """The ledger, its issuers, and the learner's documents by name; the recognising
    institution (issuer "a") seals EDC credentials with ``sealer``."""

    ledger: RunningLedger
    issuers: dict[str, RegisteredIssuer]
    sealer: SealIdentity | None = None
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    credential_ids: dict[str, str] = field(default_factory=dict)

    def held(self, *names: str) -> list[dict[str, Any]]:
        return [self.documents[name] for name in names]


def ects(points: str) -> dict[str, Any]:
    return {"credit_points": [{"framework": ECTS, "point": points}]}


def rules(**more: Any) -> dict[str, Any]:
    """Pathway rules: 15 ECTS, with whatever else is given."""
    return {"credits": [{"framework": ECTS, "minimum": "15"}], **more}


def publish(holdings: Holdings, **more: Any) -> str:
    """A pathway of the recognising institution (issuer "a"); returns its id."""
    recognising = holdings.issuers["a"]
    signed = recognising.signer.publish_pathway(TARGET, rules(**more))
    return str(holdings.ledger.public.publish_pathway(signed)["pathway_id"])


def fresh(holdings: Holdings, issuer: str, title: str, **more: Any) -> dict[str, Any]:
    """A new credential of the learner's, anchored; its document."""
    signer = holdings.issuers[issuer].signer
    ledger = holdings.ledger
    credential_id = ledger.public.issue(signer.issue(content(title=title, **more), LEARNER))[
        "credential_id"
    ]
    wait_for(lambda: settled(ledger.embedded))
    (item,) = ledger.public.documents(signer.read_documents([{"credential_id": credential_id}]))
    document: dict[str, Any] = item["document"]
    return document


@pytest.fixture(scope="package")
def holdings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holdings]:
    work = tmp_path_factory.mktemp("stacking")
    data_dir = work / "data"
    create_secrets(data_dir)
    ca = DemoCA.create()
    (work / "edc-trust-anchors.pem").write_bytes(ca.certificate_pem())
    with databases() as database:
        settings = Settings(
            data_dir=data_dir,
            chain="in-process",
            batch_age_seconds=0.3,
            edc_trust_anchors=work / "edc-trust-anchors.pem",
            **database(),
        )
        with running_ledger(settings) as ledger:
            yield _hold(ledger, ca.issue_seal("University of Aran", "VATIE-7654321X", "IE"))


def _hold(ledger: RunningLedger, sealer: SealIdentity) -> Holdings:
    issuers = {
        "a": register(ledger, legal_name="University of Aran"),
        "b": register(ledger, legal_name="Boyne Academy"),
        "c": register(ledger, legal_name="Corrib College"),
        "s": register(ledger, legal_name="Shannon School"),
    }
    pem = sealer.certificate_pem().decode()
    ledger.public.register_seal_certificate(issuers["a"].signer.register_seal_certificate(pem))
    holdings = Holdings(ledger, issuers, sealer)
    long_ago = (datetime.now(UTC) - timedelta(days=3 * 365)).replace(microsecond=0)
    made = {
        "a1": ("a", LEARNER, content(title="Applied Machine Learning")),
        "a2": ("a", LEARNER, content(title="Data Engineering")),
        "a3": ("a", LEARNER, content(title="Deep Learning", workload=ects("6"))),
        "b1": ("b", LEARNER, content(title="Cloud Computing")),
        "c1": ("c", LEARNER, content(title="Statistics", thematic_area=STATISTICS)),
        "c4": ("c", LEARNER, content(title="Statistical Inference", workload=ects("4"))),
        "v1": (
            "c",
            LEARNER,
            content(
                title="Workplace Safety",
                workload={"credit_points": [{"framework": ECVET, "point": "5"}]},
                eqf_level="http://data.europa.eu/snb/eqf/4",
            ),
        ),
        "old": (
            "b",
            LEARNER,
            content(
                title="Databases",
                issued=long_ago.isoformat(),
                awarding_date=long_ago.isoformat(),
            ),
        ),
        "revoked": ("b", LEARNER, content(title="Networks")),
        "superseded": ("a", LEARNER, content(title="Optimisation")),
        "suspended": ("s", LEARNER, content(title="Visualisation")),
        "other": ("b", OTHER_LEARNER, content(title="Cloud Computing")),
    }
    for name, (issuer, learner, body) in made.items():
        signed = issuers[issuer].signer.issue(body, learner)
        holdings.credential_ids[name] = str(ledger.public.issue(signed)["credential_id"])
    wait_for(lambda: settled(ledger.embedded))
    for name, (issuer, _, _) in made.items():
        wanted = [{"credential_id": holdings.credential_ids[name]}]
        (item,) = ledger.public.documents(issuers[issuer].signer.read_documents(wanted))
        holdings.documents[name] = item["document"]
    ids = holdings.credential_ids
    ledger.public.revoke(issuers["b"].signer.revoke(ids["revoked"], 1, "issued in error"))
    ledger.public.amend(
        issuers["a"].signer.amend(ids["superseded"], 1, content(title="Optimisation II"), LEARNER)
    )
    ledger.admin.suspend_issuer(issuers["s"].issuer_id, "accreditation lapsed")
    wait_for(lambda: settled(ledger.embedded))
    return holdings
