"""免申即办 and 数据互认 in the flow (kiosk/flow/exempt.py, licences.py): no display, an injected clock."""

from __future__ import annotations

from devices.id_card.identity import sample_cards
from kiosk import flow
from kiosk.flow import Screen
from kiosk.flow.exempt import benefit_rows
from kiosk.flow.licences import FORM_KEY

GRANTED = ({"item_code": "yb-syjt", "title": "生育津贴", "status": "granted", "granted_on": "2026-03-20",
            "amount": "18600.00", "period": "once", "decision_no": "YBSJ2026000456"},)


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def card_read(kiosk, card=None):
    effects = kiosk.handle(flow.CardRead(card or sample_cards()[0]))
    return effects, of(effects, flow.AskBenefits)


# -- the notice after the card ------------------------------------------------------------------------

def test_the_card_asks_the_platform_and_the_notice_shows_what_it_granted(kiosk):
    _, asked = card_read(kiosk)
    assert kiosk.screen is Screen.HOME and len(asked) == 1
    assert asked[0].applicant["id_number"] == sample_cards()[0].id_number
    assert sample_cards()[0].id_number not in repr(asked[0])  # never in a log
    kiosk.handle(flow.BenefitsAnswered(GRANTED, ask_id=asked[0].ask_id))
    assert kiosk.screen is Screen.EXEMPT
    view = kiosk.view()
    assert [(b.name, b.status, b.day, b.amount) for b in view.benefits] == \
        [("生育津贴申领", "granted", "2026-03-20", "18600.00")]
    kiosk.handle(flow.Tapped("continue"))  # one touch: back where the resident was
    assert kiosk.screen is Screen.HOME


def test_the_notice_speaks_the_residents_language(kiosk):
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("lang:en"))
    _, asked = card_read(kiosk)
    kiosk.handle(flow.BenefitsAnswered(GRANTED, ask_id=asked[0].ask_id))
    assert kiosk.view().benefits[0].name == "Maternity allowance"


def test_nothing_granted_or_platform_out_shows_nothing_and_blocks_nothing(kiosk):
    _, asked = card_read(kiosk)
    kiosk.handle(flow.BenefitsAnswered((), ask_id=asked[0].ask_id))
    assert kiosk.screen is Screen.HOME and kiosk.view().notice_key == ""
    kiosk.end_session("resident left")
    _, asked = card_read(kiosk)
    kiosk.handle(flow.BenefitsAnswered((), failed=True, ask_id=asked[0].ask_id))
    assert kiosk.screen is Screen.HOME and kiosk.view().notice_key == ""  # nothing alarming


def test_offline_the_platform_is_not_even_asked(kiosk):
    kiosk.handle(flow.DeviceStates({"platform": False}))
    _, asked = card_read(kiosk)
    assert asked == [] and kiosk.screen is Screen.HOME


def test_the_same_card_again_is_not_asked_twice_and_a_late_answer_for_a_gone_resident_is_dropped(kiosk):
    _, asked = card_read(kiosk)
    card = kiosk.session.identity
    assert of(kiosk.handle(flow.CardRead(card)), flow.AskBenefits) == []
    kiosk.end_session("resident left")
    assert kiosk.handle(flow.BenefitsAnswered(GRANTED, ask_id=asked[0].ask_id)) == []
    assert kiosk.screen is Screen.ATTRACT


def test_the_notice_waits_while_the_resident_is_in_the_middle_of_an_item(kiosk, catalog):
    _, asked = card_read(kiosk)
    item = next(i for i in catalog.items if i.kind == "query" and i.identity == "id_card")
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{item.code}"))
    kiosk.handle(flow.Tapped("begin"))
    assert kiosk.screen is Screen.CONFIRM
    kiosk.handle(flow.BenefitsAnswered(GRANTED, ask_id=asked[0].ask_id))
    assert kiosk.screen is Screen.CONFIRM  # not interrupted


def test_benefit_rows_keep_what_makes_sense(catalog):
    rows = benefit_rows([{"item_code": "yb-zzzt", "status": "due", "due_on": "2030-06-01"},
                         {"title": "高龄津贴", "status": "granted", "amount": "100", "period": "month"},
                         {"item_code": "yb-syjt", "status": "refused"},
                         {"status": "granted"},
                         {"item_code": "yb-syjt", "status": "granted", "amount": "lots", "granted_on": "soon"}],
                        catalog, "zh_CN")
    assert [(r.name, r.status, r.day, r.amount, r.period) for r in rows] == [
        ("高龄津贴", "granted", "", "100", "month"), ("生育津贴申领", "granted", "", "", ""),
        ("医保在职转退休", "due", "2030-06-01", "", "")]


# -- an exempt item: no application ---------------------------------------------------------------------

def exempt_detail(kiosk, code="yb-syjt"):
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{code}"))
    assert kiosk.screen is Screen.DETAIL and kiosk.view().item_exempt


def test_an_exempt_item_cannot_be_applied_for_its_status_is_asked_instead(kiosk):
    kiosk.handle(flow.Tapped("start"))
    exempt_detail(kiosk)
    assert kiosk.handle(flow.Tapped("begin")) == [] and kiosk.screen is Screen.DETAIL
    kiosk.handle(flow.Tapped("exempt:status"))
    assert kiosk.screen is Screen.CARD_PROMPT
    effects = kiosk.handle(flow.CardRead(sample_cards()[2]))  # no face needed to read one's own status
    asked = of(effects, flow.AskBenefits)
    assert kiosk.screen is Screen.WORKING and asked[0].purpose == "status"
    kiosk.handle(flow.BenefitsAnswered(GRANTED, purpose="status", ask_id=asked[0].ask_id))
    assert kiosk.screen is Screen.EXEMPT and kiosk.view().printable
    effects = kiosk.handle(flow.Tapped("print"))
    job = of(effects, flow.PrintReceipt)[0]
    assert job.layout == "query" and ["待遇金额", "¥18600.00"] in job.content["answer"]["rows"]
    assert sample_cards()[2].id_number not in str(job.content)  # masked like every slip
    kiosk.handle(flow.PrintFinished(job.job_id, True))
    assert kiosk.screen is Screen.DONE


def test_an_exempt_item_not_granted_yet_says_so_and_prints_nothing(kiosk):
    card_read(kiosk)
    exempt_detail(kiosk, "yb-zzzt")
    effects = kiosk.handle(flow.Tapped("exempt:status"))  # the card is already read
    asked = of(effects, flow.AskBenefits)[0]
    kiosk.handle(flow.BenefitsAnswered(GRANTED, purpose="status", ask_id=asked.ask_id))  # only 生育津贴
    view = kiosk.view()
    assert kiosk.screen is Screen.EXEMPT and view.benefits == [] and not view.printable
    assert kiosk.handle(flow.Tapped("print")) == []
    kiosk.handle(flow.Tapped("continue"))
    assert kiosk.screen is Screen.HOME


def test_an_exempt_items_status_when_the_platform_fails_is_an_error_not_a_wait(kiosk):
    card_read(kiosk)
    exempt_detail(kiosk)
    asked = of(kiosk.handle(flow.Tapped("exempt:status")), flow.AskBenefits)[0]
    kiosk.handle(flow.BenefitsAnswered(failed=True, purpose="status", ask_id=asked.ask_id))
    assert kiosk.screen is Screen.ERROR and kiosk.view().error_key == "error_platform_unavailable"


def test_the_triggering_item_names_what_follows_without_applying(kiosk, catalog):
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped("detail:yb-syfy"))
    assert kiosk.view().item_follow_ups == ["生育津贴申领"] and not kiosk.view().item_exempt


# -- 数据互认 ---------------------------------------------------------------------------------------------

def to_materials(kiosk, catalog, code, *, offline=False):
    """The item's form filled, the face check passed (the platform lost after it if ``offline``): the
    materials screen; returns its effects."""
    item = catalog.get(code)
    card_read(kiosk)
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{code}"))
    kiosk.handle(flow.Tapped("begin"))
    kiosk.handle(flow.Tapped("consent"))
    kiosk.handle(flow.FaceCaptured(b"\xff\xd8face", True))
    kiosk.handle(flow.IdentityChecked(True))
    assert kiosk.screen is Screen.FORM
    for f in item.fields:
        if f.prefill:
            continue
        if f.type == "choice":
            kiosk.handle(flow.Tapped(f"choice:{f.key}:{f.choices[0].value}"))
        elif f.required:
            kiosk.handle(flow.Tapped(f"field:{f.key}"))
            kiosk.handle(flow.TextEntered({"mobile": "13950000000", "integer": "2", "amount": "100",
                                           "bank_account": "6222020200112233445",
                                           "date": "2020-01-01"}.get(f.type, "测试")))
    if offline:
        kiosk.handle(flow.DeviceStates({"platform": False}))
    effects = kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.MATERIALS
    return item, effects


def test_a_licence_the_library_holds_needs_no_page_and_the_submission_names_it(kiosk, catalog):
    item, effects = to_materials(kiosk, catalog, "mz-dbsq")  # 收入申报表 ×2 (paper) + 居民户口簿 (e-licence)
    fetch = of(effects, flow.FetchLicences)[0]
    assert fetch.materials == ((1, "居民户口簿"),) and sample_cards()[0].id_number not in repr(fetch)
    assert kiosk.view().e_licences == {1: "fetching"}
    kiosk.handle(flow.Tapped("capture:0"))
    kiosk.handle(flow.PageCaptured(0, b"\xff\xd8one", 1000, 1400))
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.MATERIALS and kiosk.view().notice_key == "notice_licences_fetching"
    kiosk.handle(flow.LicencesFetched(item.code, {1: "DZZZ-0001"}))
    assert kiosk.view().e_licences == {1: "fetched"}
    assert of(kiosk.handle(flow.Tapped("capture:1")), flow.CapturePage) == []  # nothing to photograph
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.screen is Screen.REVIEW and kiosk.view().e_licences == {1: "fetched"}
    submit = of(kiosk.handle(flow.Tapped("submit")), flow.Submit)[0]
    assert submit.form[FORM_KEY] == [{"material": "居民户口簿", "licence_ref": "DZZZ-0001"}]
    assert [m.name for m in submit.materials] == ["0-0.jpg"]  # no page of the licence


def test_a_licence_the_library_lacks_is_scanned_like_any_material(kiosk, catalog):
    item, _ = to_materials(kiosk, catalog, "mz-dbsq")
    kiosk.handle(flow.LicencesFetched(item.code, {}))
    assert kiosk.view().e_licences == {1: "scan"}
    kiosk.handle(flow.Tapped("capture:0"))
    kiosk.handle(flow.PageCaptured(0, b"\xff\xd8one", 1000, 1400))
    kiosk.handle(flow.Tapped("next"))
    assert kiosk.view().notice_key == "notice_materials_missing"
    assert of(kiosk.handle(flow.Tapped("capture:1")), flow.CapturePage)[0].material == 1
    kiosk.handle(flow.PageCaptured(1, b"\xff\xd8two", 1000, 1400))
    kiosk.handle(flow.Tapped("next"))
    submit = of(kiosk.handle(flow.Tapped("submit")), flow.Submit)[0]
    assert FORM_KEY not in submit.form and [m.name for m in submit.materials] == ["0-0.jpg", "1-0.jpg"]


def test_offline_nothing_is_asked_and_every_material_is_scanned(kiosk, catalog):
    _, effects = to_materials(kiosk, catalog, "yb-syfy", offline=True)
    assert of(effects, flow.FetchLicences) == [] and kiosk.view().e_licences == {1: "scan"}


def test_a_page_scanned_while_the_library_was_asked_is_kept(kiosk, catalog):
    item, _ = to_materials(kiosk, catalog, "mz-dbsq")
    kiosk.handle(flow.PageCaptured(1, b"\xff\xd8mine", 1000, 1400))
    kiosk.handle(flow.LicencesFetched(item.code, {1: "DZZZ-0001"}))
    assert kiosk.view().pages == {1: 1} and kiosk.view().e_licences == {1: "scan"}
