"""Wallet presentations as components: verified with their key binding, and shown to be one
learner's by one holder key; an evaluation spends nothing of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.formats.sd_jwt.holder import Holder
from ledger.settings import Settings, create_secrets
from tests.conftest import content, databases, register, running_ledger, settled, wait_for
from tests.ledger.stacking.conftest import LEARNER, Holdings, publish

AUDIENCE = "https://admissions.example/stacking"
SHOWN = {"title", "credit_points"}


@pytest.fixture(scope="module")
def wallets(holdings: Holdings) -> Iterator[dict[str, str]]:
    """SD-JWT VCs of a1, b1 and c1 in the learner's wallet, and of b1 again in another."""
    ledger = holdings.ledger
    for name in ("a", "b", "c"):
        signer = holdings.issuers[name].signer
        ledger.public.adopt_wallet_key(signer.adopt_wallet_key())
    learner, stranger = Holder(), Holder()
    held: dict[str, Any] = {}
    for name, holder, key in (("a1", learner, "a1"), ("b1", learner, "b1"), ("c1", learner, "c1")):
        held[key] = _deliver(holdings, name, holder)
    held["b1-stranger"] = _deliver(holdings, "b1", stranger)
    wait_for(lambda: settled(ledger.embedded))
    yield {"learner": learner, "stranger": stranger, **held}


def _deliver(holdings: Holdings, name: str, holder: Holder) -> str:
    signer = holdings.issuers[name[0]].signer
    offer = holdings.ledger.public.offer(signer.offer(holdings.credential_ids[name], 1))
    return holder.receive(offer["credential_offer_uri"], offer["tx_code"])


def shown(holder: Holder, sd_jwt: str, nonce: str) -> dict[str, str]:
    presentation = holder.present(sd_jwt, SHOWN, nonce, AUDIENCE)
    return {"sd_jwt": presentation, "nonce": nonce, "audience": AUDIENCE}


def evaluate(holdings: Holdings, pathway_id: str, items: list[dict[str, str]]) -> dict[str, Any]:
    return holdings.ledger.public._call(
        "POST", f"/pathways/{pathway_id}/evaluations", json={"presentations": items}
    )


def test_three_presentations_of_one_holder_key_meet_the_pathway(
    holdings: Holdings, wallets: dict[str, Any]
) -> None:
    learner = wallets["learner"]
    items = [shown(learner, wallets[k], f"n-{k}") for k in ("a1", "b1", "c1")]
    answer = evaluate(holdings, publish(holdings), items)
    assert [c["counts"] for c in answer["components"]] == [True, True, True], answer
    assert answer["met"] is True
    again = evaluate(holdings, publish(holdings), items)  # nothing was spent by the first
    assert again["met"] is True


def test_a_presentation_bound_to_another_key_counts_for_nothing(
    holdings: Holdings, wallets: dict[str, Any]
) -> None:
    learner = wallets["learner"]
    items = [shown(learner, wallets[k], f"m-{k}") for k in ("a1", "c1")]
    items.append(shown(wallets["stranger"], wallets["b1-stranger"], "m-stranger"))
    answer = evaluate(holdings, publish(holdings), items)
    assert answer["components"][2]["reasons"] == [
        "It belongs to another learner than the other components."
    ]
    assert answer["met"] is False


def test_a_presentation_for_another_audience_counts_for_nothing(
    holdings: Holdings, wallets: dict[str, Any]
) -> None:
    item = shown(wallets["learner"], wallets["a1"], "o-a1")
    item["audience"] = "https://elsewhere.example"
    answer = evaluate(holdings, publish(holdings), [item])
    (refused,) = answer["components"]
    assert (refused["counts"], refused["verdict"]) == (False, "invalid")


@pytest.fixture(scope="module")
def unanchored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holdings]:
    """A ledger whose first batch stays open for an hour: what it delivers is not anchored."""
    data_dir = tmp_path_factory.mktemp("unanchored") / "data"
    create_secrets(data_dir)
    with databases() as database:
        settings = Settings(
            data_dir=data_dir, chain="in-process", batch_age_seconds=3600, **database()
        )
        with running_ledger(settings) as ledger:
            issuer = register(ledger, legal_name="University of Aran")
            ledger.public.adopt_wallet_key(issuer.signer.adopt_wallet_key())
            yield Holdings(ledger, {"a": issuer})


def test_a_presentation_of_a_credential_not_yet_anchored_counts_for_nothing(
    unanchored: Holdings,
) -> None:
    ledger, signer = unanchored.ledger, unanchored.issuers["a"].signer
    credential_id = ledger.public.issue(signer.issue(content(title="Cloud Computing"), LEARNER))[
        "credential_id"
    ]
    learner = Holder()
    offer = ledger.public.offer(signer.offer(credential_id, 1))
    sd_jwt = learner.receive(offer["credential_offer_uri"], offer["tx_code"])
    answer = evaluate(unanchored, publish(unanchored), [shown(learner, sd_jwt, "u-1")])
    (component,) = answer["components"]
    assert (component["counts"], component["verdict"]) == (False, "not-anchored")
    assert component["reasons"][0].startswith("It is not anchored yet"), component
    assert answer["met"] is False
