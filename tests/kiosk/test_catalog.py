"""The packaged service catalog: 301 items, what the screens and the gateway rely on, and realism."""

from __future__ import annotations

from collections import Counter

import opencc
import pytest

from kiosk.catalog.loading import Catalog
from kiosk.catalog.model import FACE_LEVELS

PRINT_ITEMS = {
    "rs-sbjfzm": "社保参保缴费证明打印",
    "rs-qyjl": "养老保险个人权益记录单打印",
    "yb-cbpz": "医保参保凭证打印",
    "gjj-jczm": "公积金缴存证明打印",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_packaged_catalog_has_292_items_with_unique_codes(catalog):
    assert len(catalog.items) == 301
    assert len({i.code for i in catalog.items}) == 301


def test_the_simulators_print_items_are_print_items_with_their_names(catalog):
    for code, name in PRINT_ITEMS.items():
        item = catalog.get(code)
        assert item is not None and item.kind == "print" and item.name.get("zh_CN") == name


def test_home_screen_features_the_four_print_items_rs_sbjfzm_first(catalog):
    assert [i.code for i in catalog.featured(8)] == list(PRINT_ITEMS)
    assert [i.code for i in catalog.featured(2)] == ["rs-sbjfzm", "rs-qyjl"]
    assert catalog.items[0].code == "rs-sbjfzm"  # display order puts the featured items first


def test_unknown_code_is_none(catalog):
    assert catalog.get("no-such-item") is None


def test_every_name_exists_in_three_languages(catalog):
    for item in catalog.items:
        for language in ("zh_CN", "zh_TW", "en"):
            assert item.name.get(language).strip(), (item.code, language)


def test_traditional_names_are_derived_with_opencc(catalog):
    s2t = opencc.OpenCC("s2tw")  # Taiwan characters; plus a short list of Taiwan words (打印 → 列印)
    item = catalog.get("rs-sbjfzm")
    assert item.name.get("zh_TW") == "社保參保繳費證明列印" == s2t.convert(item.name.zh_CN).replace("打印", "列印")
    assert catalog.get("yb-cbpz").name.get("zh_TW") == "醫保參保憑證列印"
    label = catalog.get("rs-sydj").fields[0].label.get("zh_TW")
    assert label == s2t.convert(catalog.get("rs-sydj").fields[0].label.zh_CN)


def test_traditional_name_written_in_the_data_wins(catalog):
    item = catalog.get("ga-twjzz")
    assert item.name.zh_CN == "台湾居民居住证申领"
    assert item.name.get("zh_TW") == "臺灣居民居住證申請"  # Taiwan usage, not the s2t conversion


def test_unknown_language_falls_back_to_simplified(catalog):
    assert catalog.get("gjj-jczm").name.get("fr") == "公积金缴存证明打印"


def test_every_face_item_offers_a_non_biometric_way(catalog):
    face = [i for i in catalog.items if i.uses_face()]
    assert face
    for item in face:
        others = [level for level in item.accepted_identity() if level not in FACE_LEVELS]
        assert any(level != "none" for level in others), item.code
        assert "camera" in item.devices


def test_counts_look_like_a_real_terminal(catalog):
    stats = catalog.stats()
    assert stats["items"] == 301
    kinds = stats["kinds"]
    assert kinds["print"] + kinds["query"] > 301 / 2  # most items are prints and queries
    assert set(kinds) == {"guide", "query", "print", "apply", "appointment", "certification"}
    departments = stats["departments"]
    for name in ("公安", "人社", "医保", "交通", "公积金", "民政", "税务", "不动产", "市场监管", "教育", "卫健", "残联"):
        assert departments.get(name, 0) >= 3, name
    assert departments["人社"] == max(departments.values())
    assert sum(departments.values()) == 301
    assert set(stats["identity"]) <= {"none", "id_card", "id_card_face", "social_security_card", "app_qr"}
    # personal records need identity; only public information goes without
    for item in catalog.items:
        if item.identity == "none":
            assert item.kind in ("guide", "query"), item.code


def test_certification_is_face_or_app_never_a_card_alone(catalog):
    """养老金资格认证 is a proof-of-life check: a card proves possession, not that the pensioner is alive."""
    certifications = [i for i in catalog.items if i.kind == "certification"]
    assert {i.code for i in certifications} >= {"rs-ylrz", "rs-gsrz", "rs-yszr"}
    for item in certifications:
        assert item.identity == "id_card_face", item.code
        assert item.identity_alternatives == ("app_qr",), item.code


def test_life_event_bundles_name_existing_items(catalog):
    assert set(catalog.bundles) == {"birth", "school", "employment", "retirement", "business", "disability"}
    for code, bundle in catalog.bundles.items():
        items = catalog.bundle_items(code)
        assert len(items) == len(bundle.items) >= 3
        assert bundle.lead_department in catalog.departments
    assert "ga-csdj" in catalog.bundles["birth"].items


def test_follow_ups_are_triggered_without_a_new_application(catalog):
    assert [i.code for i in catalog.follow_ups("yb-syfy")] == ["yb-syjt"]  # 生育津贴
    assert [i.code for i in catalog.follow_ups("rs-txsq")] == ["yb-zzzt"]  # 医保在职转退休
    assert [i.code for i in catalog.triggered_by("yb-zzzt")] == ["rs-txsq"]


def test_apply_items_have_forms_prefilled_from_the_card(catalog):
    applies = [i for i in catalog.items if i.kind == "apply"]
    assert applies
    for item in applies:
        by_key = {f.key: f for f in item.fields}
        assert by_key["id_number"].type == "citizen_id" and by_key["id_number"].prefill == "id_number"
        assert by_key["name"].prefill == "name"
        assert item.output == "receipt" and "printer" in item.devices
    business = catalog.get("scjg-qysl")
    assert business.materials and "document_camera" in business.devices
    assert any(f.type == "social_credit_code" for f in catalog.get("rs-dwcb").fields)
    assert any(f.type == "mobile" for f in catalog.get("rs-sydj").fields)


def test_time_limits_and_fees_are_consistent(catalog):
    for item in catalog.items:
        assert item.instant == (item.promised_days == 0), item.code
        if item.legal_days is not None:
            assert item.promised_days <= item.legal_days, item.code
        if item.fee_yuan:
            assert item.fee_note is not None, item.code
    passport = catalog.get("ga-hzsl")
    assert passport.fee_yuan == 120 and not passport.instant


def test_themes_list_items(catalog):
    assert {"birth", "school", "employment", "retirement", "business", "disability"} <= set(catalog.themes)
    retirement = catalog.in_theme("retirement")
    assert catalog.get("rs-ylrz") in retirement
    assert [i.popularity for i in retirement] == sorted((i.popularity for i in retirement), reverse=True)


def test_item_codes_follow_their_department(catalog):
    counts = Counter(i.department_code for i in catalog.items)
    assert sum(counts.values()) == 301
    assert len(catalog.in_department("gjj")) == counts["gjj"]
    for item in catalog.items:
        assert item.code.startswith(item.department_code + "-")


def test_record_gives_all_languages_for_export(catalog):
    record = catalog.record(catalog.get("rs-sydj"))
    assert record["name"] == {"zh_CN": "失业登记", "zh_TW": "失業登記", "en": "Unemployment registration"}
    assert all(set(f["label"]) == {"zh_CN", "zh_TW", "en"} for f in record["fields"])


def test_load_accepts_one_file(tmp_path):
    path = tmp_path / "one.toml"
    path.write_text(
        '[department]\ncode = "rs"\nname = { zh_CN = "人社", en = "HR" }\n'
        'full_name = { zh_CN = "人社局", en = "HR bureau" }\n\n'
        '[[items]]\ncode = "rs-sbjfzm"\nname = { zh_CN = "社保参保缴费证明打印", en = "Certificate" }\n'
        'kind = "print"\nidentity = "id_card"\noutput = "certificate_slip"\ndevices = ["printer"]\n',
        encoding="utf-8")
    catalog = Catalog.load(path)
    assert [i.code for i in catalog.items] == ["rs-sbjfzm"]
    assert catalog.get("rs-sbjfzm").department == "人社"
