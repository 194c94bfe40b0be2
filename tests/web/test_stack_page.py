"""The stacking page in a real headless Chromium: a person picks a pathway, gives a learner's
credential files, and reads each component's verdict, a bar per credit system and the rules,
in words; by keyboard too, and within WCAG 2.1 AA as axe-core checks it. Screenshots are saved
under test-artifacts/pages/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.ledger.stacking.conftest import Holdings, holdings, publish
from tests.web.conftest import ON_SQLITE_ONLY, accessibility_violations, shot

__all__ = ["holdings"]  # the stacking tests' ledger, used as a fixture here
pytestmark = ON_SQLITE_ONLY


def _files(holdings: Holdings, tmp_path: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(holdings.documents[name], ensure_ascii=False), "utf-8")
        paths.append(path)
    return paths


def _check(page: Page, holdings: Holdings, pathway_id: str, files: list[Path]) -> None:
    page.goto(f"{holdings.ledger.url}/stack")
    page.get_by_label("Pathway").select_option(pathway_id)
    page.get_by_label(re.compile("^Credential files")).set_input_files(files)
    page.get_by_role("button", name="Check the pathway").click()
    expect(page.locator("#verdict")).to_have_attribute("data-met", re.compile("."), timeout=30_000)


def test_three_issuers_credentials_that_meet_the_pathway_show_met_and_a_full_bar(
    page: Page, holdings: Holdings, tmp_path: Path
) -> None:
    pathway_id = publish(holdings)
    _check(page, holdings, pathway_id, _files(holdings, tmp_path, "a1", "b1", "c1"))
    shot(page, "stack-met")
    expect(page.locator("#verdict-title")).to_have_text("PATHWAY MET")
    bar = page.get_by_label(re.compile("^ECTS: 15 of the 15 ECTS required"))
    expect(bar).to_have_attribute("value", "15")
    expect(page.locator("#components > li[data-counts=true]")).to_have_count(3)
    expect(page.locator("#components")).to_contain_text("Corrib College")
    expect(page.locator("#rules li.met")).to_have_count(1)


def test_a_revoked_component_and_a_short_total_are_shown_in_words(
    page: Page, holdings: Holdings, tmp_path: Path
) -> None:
    pathway_id = publish(holdings)
    _check(page, holdings, pathway_id, _files(holdings, tmp_path, "a1", "b1", "revoked", "v1"))
    shot(page, "stack-not-met")
    expect(page.locator("#verdict-title")).to_have_text("PATHWAY NOT MET")
    refused = page.locator("#components > li[data-counts=false]")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("Networks")
    expect(refused).to_contain_text("It was revoked")
    expect(page.get_by_label(re.compile("^ECTS: 10 of the 15"))).to_have_attribute("value", "10")
    expect(page.locator("#bars")).to_contain_text("5 ECVET offered: another credit system")
    expect(page.locator("#missing")).to_have_text("5 more ECTS.")


def test_the_stacking_page_works_by_keyboard_alone(
    page: Page, holdings: Holdings, tmp_path: Path
) -> None:
    pathway_id = publish(holdings)
    page.goto(f"{holdings.ledger.url}/stack?pathway={pathway_id}")
    # A file chooser is the browser's own dialog: the files are given as a person would pick
    # them there; everything else is done with the keyboard.
    page.locator("#files").set_input_files(_files(holdings, tmp_path, "a1", "b1", "c1"))
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "check-button":
            break
    expect(page.get_by_role("button", name="Check the pathway")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_be_focused(timeout=30_000)
    expect(page.locator("#verdict-title")).to_have_text("PATHWAY MET")
    shot(page, "stack-keyboard")


def test_the_stacking_page_with_a_result_meets_wcag_21_aa_rules(
    audited_page: Page, holdings: Holdings, tmp_path: Path
) -> None:
    pathway_id = publish(holdings)
    _check(audited_page, holdings, pathway_id, _files(holdings, tmp_path, "a1", "revoked"))
    assert accessibility_violations(audited_page) == []
