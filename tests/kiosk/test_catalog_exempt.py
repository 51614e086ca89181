"""免申即办 in the catalog: which items are granted without applying, and the rule that keeps the flag honest."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.catalog.loading import Catalog, CatalogError

DEPARTMENT = ('[department]\ncode = "yb"\nname = { zh_CN = "医保", en = "MI" }\n'
              'full_name = { zh_CN = "医保局", en = "MI bureau" }\n\n')
FIELDS = '[[fields]]\nkey = "mobile"\ntype = "mobile"\nlabel = { zh_CN = "手机号码", en = "Mobile" }\n\n'


def item(code: str, *, exempt: bool = False, kind: str = "apply", follow_ups: str = "") -> str:
    output = "receipt" if kind == "apply" else "none"
    devices = '["printer"]' if output != "none" else "[]"
    fields = '["mobile"]' if kind == "apply" else "[]"
    text = (f'[[items]]\ncode = "{code}"\nname = {{ zh_CN = "事项{code[-1]}", en = "Item {code[-1]}" }}\n'
            f'kind = "{kind}"\nidentity = "id_card"\noutput = "{output}"\ndevices = {devices}\n'
            f"fields = {fields}\n")
    if kind == "apply":
        text += "instant = false\npromised_days = 5\n"
    if exempt:
        text += "exempt_from_application = true\n"
    if follow_ups:
        text += f'follow_ups = ["{follow_ups}"]\n'
    return text + "\n"


def load(tmp_path: Path, body: str) -> list[str]:
    folder = tmp_path / "c"
    folder.mkdir(parents=True)
    (folder / "yb.toml").write_text(DEPARTMENT + body, encoding="utf-8")
    (folder / "fields.toml").write_text(FIELDS, encoding="utf-8")
    try:
        Catalog.load(folder)
    except CatalogError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_the_seeds_items_are_granted_without_applying():
    catalog = Catalog.load()
    exempt = {i.code for i in catalog.items if i.exempt_from_application}
    assert {"yb-syjt", "yb-zzzt"} <= exempt  # 生育津贴, 医保在职转退休: named in the seeds
    for code in exempt:  # each is set going by another item, which names it
        assert catalog.triggered_by(code), code


def test_an_exempt_item_that_nothing_triggers_is_refused(tmp_path):
    problems = load(tmp_path, item("yb-a", exempt=True) + item("yb-b"))
    assert any("yb-a: exempt_from_application: no item names it in follow_ups" in p for p in problems)
    fine = load(tmp_path / "ok", item("yb-a", exempt=True) + item("yb-b", follow_ups="yb-a"))
    assert not [p for p in fine if "exempt_from_application" in p], fine


def test_only_an_apply_item_can_be_exempt(tmp_path):
    problems = load(tmp_path, item("yb-a", exempt=True, kind="query") + item("yb-b", follow_ups="yb-a"))
    assert any("only an apply item" in p for p in problems)


@pytest.mark.parametrize("code", ["yb-syjt", "yb-zzzt"])
def test_no_bundle_applies_for_an_exempt_item(code):
    catalog = Catalog.load()
    assert all(code not in b.items for b in catalog.bundles.values())
