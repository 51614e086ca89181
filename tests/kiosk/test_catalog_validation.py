"""A broken catalog is refused with every problem named by file, item code and field; form fields
check what residents type."""

from __future__ import annotations

import datetime as dt
import shutil
from importlib import resources
from pathlib import Path

import pytest

from kiosk.catalog.loading import Catalog, CatalogError
from kiosk.catalog.model import FormField

DEPARTMENT = ('[department]\ncode = "rs"\nname = { zh_CN = "人社", en = "HR" }\n'
              'full_name = { zh_CN = "人社局", en = "HR bureau" }\n\n')
GOOD_ITEM = ('[[items]]\ncode = "rs-sbjfzm"\nname = { zh_CN = "社保参保缴费证明打印", en = "Certificate" }\n'
             'kind = "print"\nidentity = "id_card_face"\nidentity_alternatives = ["app_qr"]\n'
             'output = "certificate_slip"\ndevices = ["printer", "camera"]\n\n')
APPLY_ITEM = ('[[items]]\ncode = "rs-sydj"\nname = { zh_CN = "失业登记", en = "Unemployment registration" }\n'
              'kind = "apply"\nidentity = "id_card"\noutput = "receipt"\ndevices = ["printer"]\n'
              'fields = ["mobile"]\n\n')
FIELDS = ('[[fields]]\nkey = "mobile"\ntype = "mobile"\nlabel = { zh_CN = "手机号码", en = "Mobile" }\n\n')


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def problems_of(path: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path)
    return [str(p) for p in caught.value.problems]


def test_a_minimal_folder_loads(tmp_path):
    catalog = Catalog.load(write(tmp_path / "c", rs=DEPARTMENT + GOOD_ITEM + APPLY_ITEM, fields=FIELDS))
    assert [i.code for i in catalog.items] == ["rs-sbjfzm", "rs-sydj"]
    assert catalog.get("rs-sydj").fields[0].type == "mobile"


def test_malformed_toml_names_the_file_and_line(tmp_path):
    folder = write(tmp_path / "c", rs=DEPARTMENT + GOOD_ITEM + 'code = "unterminated\n')
    [problem] = problems_of(folder)
    assert "rs.toml" in problem and "not valid TOML" in problem and "line" in problem


def test_unknown_field_type_names_file_item_and_field(tmp_path):
    bad = APPLY_ITEM.replace('fields = ["mobile"]',
                             'fields = [{ key = "pet", type = "hamster", '
                             'label = { zh_CN = "宠物", en = "Pet" } }]')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad))
    assert any("rs.toml: rs-sydj: fields.pet.type:" in p for p in problems), problems


def test_fields_that_are_not_a_list_name_the_item(tmp_path):
    """Found by the catalog fuzzer (tests/soak/test_fuzz_loaders.py): ``fields = false`` was a TypeError."""
    bad = APPLY_ITEM.replace('fields = ["mobile"]', "fields = false")
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad, fields=FIELDS))
    assert any("rs.toml: rs-sydj: fields: expected a list" in p for p in problems), problems


def test_bundle_naming_a_missing_item_is_refused(tmp_path):
    bundles = ('[[bundles]]\ncode = "birth"\nname = { zh_CN = "出生一件事", en = "Birth" }\n'
               'summary = { zh_CN = "一次办好", en = "In one go" }\nlead_department = "rs"\n'
               'items = ["rs-sbjfzm", "ga-csdj"]\n')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + GOOD_ITEM, bundles=bundles))
    file = tmp_path / "c" / "bundles.toml"
    assert problems == [f"{file}: bundle birth: items: names a missing item 'ga-csdj'"]


def test_duplicate_codes_across_files_are_refused(tmp_path):
    other = DEPARTMENT.replace('code = "rs"', 'code = "yb"')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + GOOD_ITEM,
                                 yb=other + GOOD_ITEM.replace("社保参保缴费证明打印", "另一个名字")))
    assert any("rs-sbjfzm: code: duplicate item code (also in" in p for p in problems), problems


def test_face_item_without_a_non_biometric_alternative_is_refused(tmp_path):
    bad = GOOD_ITEM.replace('identity_alternatives = ["app_qr"]\n', "")
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad))
    assert len(problems) == 1
    assert "rs-sbjfzm: identity_alternatives: uses face verification but offers no non-biometric" \
        in problems[0]


def test_missing_translation_is_refused(tmp_path):
    bad = GOOD_ITEM.replace(', en = "Certificate"', "")
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad))
    assert any(p.endswith("rs-sbjfzm: name.en: missing translation") for p in problems), problems


def test_unknown_references_are_refused(tmp_path):
    bad = APPLY_ITEM.replace('fields = ["mobile"]', 'fields = ["mobile", "shoe_size"]\nthemes = ["moon"]\n'
                             'follow_ups = ["rs-nothing"]')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad, fields=FIELDS))
    text = "\n".join(problems)
    assert "rs-sydj: fields[1]: unknown shared field 'shoe_size'" in text
    assert "rs-sydj: themes: unknown theme 'moon'" in text
    assert "rs-sydj: follow_ups: names a missing item 'rs-nothing'" in text


def test_inconsistent_kind_output_and_devices_are_refused(tmp_path):
    bad = GOOD_ITEM.replace('output = "certificate_slip"', 'output = "appointment_slip"').replace(
        'devices = ["printer", "camera"]', 'devices = ["printer"]')
    text = "\n".join(problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad)))
    assert "rs-sbjfzm: output: a print item outputs certificate_slip" in text
    assert "rs-sbjfzm: devices: face verification needs 'camera'" in text


def test_every_problem_is_listed_at_once(tmp_path):
    bad = GOOD_ITEM.replace('kind = "print"', 'kind = "teleport"') + APPLY_ITEM.replace(
        'identity = "id_card"', 'identity = "telepathy"')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad, fields=FIELDS))
    assert any("rs-sbjfzm: kind:" in p for p in problems)
    assert any("rs-sydj: identity:" in p for p in problems)


def test_a_broken_copy_of_the_packaged_catalog_names_the_item(tmp_path):
    folder = tmp_path / "catalog"
    shutil.copytree(Path(str(resources.files("config").joinpath("catalog"))), folder)
    text = (folder / "gjj.toml").read_text(encoding="utf-8")
    (folder / "gjj.toml").write_text(text.replace('kind = "print"', 'kind = "prnt"', 1), encoding="utf-8")
    problems = problems_of(folder)
    assert problems == [f"{folder / 'gjj.toml'}: gjj-jczm: kind: " + problems[0].split("kind: ", 1)[1]]
    assert "print" in problems[0]  # pydantic lists the accepted kinds


def test_missing_folder_says_so(tmp_path):
    with pytest.raises(CatalogError, match="no such file or folder"):
        Catalog.load(tmp_path / "nowhere")


# --- form fields -----------------------------------------------------------------------------

def field(**kw) -> FormField:
    return FormField.model_validate({"key": "f", "label": {"zh_CN": "字段", "zh_TW": "字段", "en": "F"}, **kw})


def test_citizen_id_field_checks_gb_11643():
    f = field(type="citizen_id", prefill="id_number")
    assert f.check("11010519491231002X") is None
    assert f.check("11010519491231002x") is None
    assert f.check("110105194912310021") == "citizen_id"
    assert f.check("") == "required"


def test_social_credit_code_and_mobile_fields():
    assert field(type="social_credit_code").check("91350100M000100Y43") is None
    assert field(type="social_credit_code").check("91350100M000100Y44") == "social_credit_code"
    assert field(type="mobile").check("13912345678") is None
    assert field(type="mobile").check("12912345678") == "mobile"


def test_date_choice_and_amount_fields():
    today = dt.date(2025, 6, 1)
    birth = field(type="date", past_only=True)
    assert birth.check("2020-02-29", today=today) is None
    assert birth.check("2021-02-29", today=today) == "date"
    assert birth.check("2030-01-01", today=today) == "future_date"
    choice = field(type="choice", choices=[{"value": "a", "label": {"zh_CN": "甲", "en": "A"}}])
    assert choice.check("a") is None and choice.check("b") == "choice"
    amount = field(type="amount", min_value=1, max_value=100)
    assert amount.check("99.50") is None
    assert amount.check("100.01") == "too_large"
    assert amount.check("0.5") == "too_small"
    assert amount.check("1.234") == "number"
    assert field(type="text", required=False).check("") is None
    assert field(type="text", max_length=3).check("四个字啊") == "too_long"


def test_choice_field_without_choices_is_refused(tmp_path):
    bad = APPLY_ITEM.replace('fields = ["mobile"]',
                             'fields = [{ key = "x", type = "choice", '
                             'label = { zh_CN = "选", en = "Pick" } }]')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad))
    assert any("rs-sydj: fields.x: " in p and "choices" in p for p in problems), problems


def test_prefill_must_fit_the_field_type(tmp_path):
    bad = APPLY_ITEM.replace('fields = ["mobile"]',
                             'fields = [{ key = "x", type = "mobile", prefill = "id_number", '
                             'label = { zh_CN = "号", en = "No" } }]')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + bad))
    assert any("rs-sydj: fields.x.prefill: card field 'id_number' cannot fill a 'mobile' field" in p
               for p in problems), problems


def test_a_fee_without_a_payment_route_is_refused(tmp_path):
    fee = ('fee_yuan = 20\nfee_note = { zh_CN = "工本费20元", en = "Fee: 20 yuan" }\n')
    unpaid = APPLY_ITEM.replace('fields = ["mobile"]\n', 'fields = ["mobile"]\n' + fee)
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + unpaid, fields=FIELDS))
    assert any("rs-sydj: payment:" in p and "no payment route" in p for p in problems), problems
    paid = unpaid.replace(fee, fee + 'payment = "catalog_amount"\n')
    catalog = Catalog.load(write(tmp_path / "c", rs=DEPARTMENT + paid, fields=FIELDS))
    assert catalog.get("rs-sydj").payment == "catalog_amount"
    both = paid.replace('payment = "catalog_amount"', 'payment = "platform_amount"')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + both, fields=FIELDS))
    assert any("rs-sydj: fee_yuan:" in p for p in problems), problems


def test_every_fee_item_of_the_packaged_catalog_is_paid_at_the_terminal():
    catalog = Catalog.load()
    fees = [i for i in catalog.items if i.fee_yuan > 0]
    assert fees and all(i.payment == "catalog_amount" for i in fees)
    assert {i.code for i in catalog.items if i.payment == "platform_amount"} >= {"ga-wfcl", "sw-jmjf"}


@pytest.mark.parametrize("card", ["social_security_card", "id_card"])
def test_a_proof_of_life_check_that_a_card_alone_passes_is_refused(tmp_path, card):
    certification = ('[[items]]\ncode = "rs-ylrz"\nname = { zh_CN = "养老金资格认证", en = "Pension check" }\n'
                     'kind = "certification"\nidentity = "id_card_face"\n'
                     f'identity_alternatives = ["{card}", "app_qr"]\n'
                     'output = "receipt"\ndevices = ["printer", "camera"]\n\n')
    problems = problems_of(write(tmp_path / "c", rs=DEPARTMENT + certification))
    assert any("rs-ylrz: identity_alternatives:" in p and "proof-of-life" in p for p in problems), problems
    fixed = certification.replace(f'"{card}", ', "")
    assert Catalog.load(write(tmp_path / "ok", rs=DEPARTMENT + fixed)).get("rs-ylrz").identity_alternatives == ("app_qr",)
