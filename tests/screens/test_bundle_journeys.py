"""一件事 as one journey (issue 20), walked by touches: every bundle × standard and elder mode × 简体,
繁體 and English, from the life events to the result screen — its intro with every item and its
department, one identity, one form (each field once), each material once, the review of what goes to
which department, one submission per item, one receipt, and a result that shows each item's own
outcome (one item's failure shown for that item only). Every frame is checked for clipping
(tests/screens/layout_check.py)."""

from __future__ import annotations

import pytest
from resident import Resident
from test_reachability import MODES, fill, identify

from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow import bundle
from screens.i18n import LANGUAGES

BUNDLES = ("birth", "school", "employment", "retirement", "business", "disability")


@pytest.fixture(scope="module")
def catalog():
    return Catalog.load()


def test_the_six_bundles_of_the_seeds_are_in_the_catalog(catalog):
    assert sorted(catalog.bundles) == sorted(BUNDLES)


def answer_working(r: Resident, failing: str) -> list[str]:
    """The gateway's answers while the bundle's items go out, one at a time; ``failing`` is refused.
    Returns the item codes in the order they were sent."""
    sent = []
    serial = 0
    while r.screen == "working":
        run = bundle.run_of(r.flow)
        assert run is not None and run.phase == "submitting"
        part = run.parts[run.step]
        code = part.item.code
        if part.handling == "print" and code not in run.documents:
            r.event(flow.DocumentFetched({"title": "证明", "rows": [], "doc_no": "D1"}))
            continue
        sent.append(code)
        if code == failing:
            r.event(flow.ServiceFailed("error_not_stored"))
        else:
            serial += 1
            r.event(flow.SubmissionAccepted(f"HC-DEMO-001-20261121-{serial:06d}"))
    return sent


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
@pytest.mark.parametrize("code", BUNDLES)
def test_each_bundle_is_one_journey_to_its_result(surface, catalog, code, language, elder):
    spec = catalog.bundles[code]
    r = Resident(surface, catalog)
    r.start(language, elder)
    r.touch("browse:themes")
    assert r.find(f"bundle:{code}")
    r.touch(f"bundle:{code}")
    assert r.screen == "bundle"
    intro = r.view()
    assert [p.code for p in intro.parts] == list(spec.items)
    assert all(p.department for p in intro.parts)
    assert {t for page in r.pages() for t in page if t.startswith("detail:")} == {f"detail:{c}" for c in spec.items}
    r.touch("start")
    item = r.flow.session.item
    identify(r, item)  # once, for every item
    keys = [f.key for f in item.fields]
    assert len(keys) == len(set(keys))
    own = {f.key for i in catalog.bundle_items(code) if bundle.handling(i) == "apply" for f in i.fields}
    assert {k.split("__")[0] for k in keys} == own  # every item's field asked, each once
    fill(r, item)
    r.touch("next")
    names = [m.name.zh_CN for m in item.materials]
    assert len(names) == len(set(names))  # each material once, shared by the items that need it
    for i in range(len(item.materials)):
        assert r.screen == "materials", (code, r.screen, r.view().notice_key)
        if r.find(f"capture:{i}"):
            r.touch(f"capture:{i}")
            r.event(flow.PageCaptured(i, b"\xff\xd8page", 10, 10))
    if item.materials:
        r.touch("next")
    assert r.screen == "bundle_review", (code, r.screen, r.view().notice_key)
    review = r.view()
    assert [(p.code, p.department) for p in review.parts] == [(p.code, p.department) for p in intro.parts]
    submitted = [p.item.code for p in bundle.run_of(r.flow).parts if p.handling in ("apply", "print")]
    failing = submitted[-1]
    r.touch("submit")
    assert answer_working(r, failing) == submitted  # one submission per item, in the bundle's order
    jobs = 0
    while r.screen == "printing":
        jobs += 1
        r.event(flow.PrintFinished(r.flow.session.print_job, True))
    assert jobs >= 1  # the bundle's receipt (then any print item's certificate)
    assert r.screen == "bundle_result"
    # How far each accepted item got, as the gateway's outbox says: the first delivered, the rest waiting.
    accepted = [p.receipt_no for p in r.view().parts if p.state == "accepted"]
    r.event(flow.DeliveriesChecked({n: "delivered" if i == 0 else "queued" for i, n in enumerate(accepted)}))
    result = r.view()
    deliveries = [p.delivery for p in result.parts if p.state == "accepted"]
    assert deliveries == ["delivered"] + ["queued"] * (len(accepted) - 1)
    r.pages()  # every page of the result drawn (and checked for clipping)
    states = {p.code: p.state for p in result.parts}
    assert states[failing] == "failed"
    assert all(states[c] == "accepted" for c in submitted if c != failing)
    assert all(p.receipt_no for p in result.parts if p.state == "accepted")
    assert len({p.receipt_no for p in result.parts if p.state == "accepted"}) == len(submitted) - 1
    assert result.printed is True and r.flow.session.identity is None  # paper out, identity forgotten
    r.touch("finish")
    assert r.screen == "done" and r.view().receipt_no
    assert not r.problems, r.problems


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("elder", MODES)
def test_a_bundle_receipts_progress_shows_every_item_unclipped(surface, catalog, language, elder):
    """The bundle receipt's QR code looked up: each item of the bundle with its own status (the
    platform's ``bundle.items``), in place of one item's steps, every name whole."""
    for code in BUNDLES:
        r = Resident(surface, catalog)
        r.start(language, elder)
        r.touch("progress")
        r.touch("type_receipt")
        for digit in "20261121000001":
            r.touch(f"pk:{digit}")
        r.touch("pk:done")
        items = [{"item_code": c, "receipt_no": f"HC-DEMO-001-20261121-{n:06d}", "status": "in_review",
                  "status_text": "审核中"} for n, c in enumerate(catalog.bundles[code].items, 1)]
        r.event(flow.ProgressAnswered("HC-DEMO-001-20261121-000001", {
            "receipt_no": "HC-DEMO-001-20261121-000001", "status": "accepted", "status_text": "已受理",
            "steps": [{"status": "received", "text": "已接收", "at": "2026-11-21T10:00"}],
            "bundle": {"id": "0f8c2a1e-1b2c-4d5e-8f90-a1b2c3d4e5f6", "code": code, "items": items}}))
        assert r.screen == "progress_result"
        names = [catalog.get(c).name.get(language) for c in catalog.bundles[code].items]
        assert [name for name, _ in r.view().progress_steps] == names
        assert not r.problems, r.problems
