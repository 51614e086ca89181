"""Guides worth printing (issue 20): every item carries a whole 办事指南, the validator refuses one with a part
missing, the detail screen's sections exist in every language, and the printed guide arrives at the printer
titled once, with its sections and no 办件编号."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from devices.printer import ReceiptPrinter, VirtualPrinter, render_escpos, stream_to_text
from kiosk import flow
from kiosk.catalog.bundle import (
    BundleError,
    BundleStore,
    build_bundle,
    catalog_files,
    read_bundle,
    sign_bundle,
)
from kiosk.catalog.guide import PHRASES, SECTION_KEYS, guide_title, item_guide
from kiosk.catalog.loading import Catalog, CatalogError
from kiosk.catalog.model import convert_traditional
from kiosk.catalog.traditional import derived_texts
from kiosk.crypto import SigningKey
from kiosk.flow.model import PrintReceipt
from kiosk.terminal.receipts import slip_layout

PACKAGED = Path(str(resources.files("config").joinpath("catalog")))
CJK = re.compile(r"[\u4e00-\u9fff]")
# Items residents confuse, each of which must say how it differs from the others (issue 20).
LOOK_ALIKES = [("yb-cbpz", "yb-jfzm"), ("rs-sbjfzm", "sw-sbjf"), ("rs-sbjfzm", "rs-jfmx"), ("sw-sbjf", "rs-jfmx"),
               ("bdc-djxx", "bdc-djjg"), ("ga-csdj", "wj-sydj"), ("ga-sfzhl", "ga-sfzbl"), ("ga-jzdj", "ga-jzzbl")]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(require_guides=True)


def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(PACKAGED, folder)
    return folder


def problems_of(folder: Path, **kwargs: bool) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        Catalog.load(folder, **kwargs)
    return [str(p) for p in caught.value.problems]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- the validator ------------------------------------------------------------------------------

def test_the_packaged_catalog_gives_every_item_a_whole_guide(catalog):
    assert len(catalog.items) == 301
    assert all(i.guide is not None for i in catalog.items)
    assert all(d.office is not None for d in catalog.departments.values())


def test_a_missing_part_is_refused_naming_file_item_and_field(tmp_path):
    folder = copy(tmp_path)
    guides = folder / "guides" / "bdc.toml"
    text = guides.read_text(encoding="utf-8")
    start = text.index("[items.bdc-jd]")
    conditions = text.index("conditions = ", start)
    guides.write_text(text[:conditions] + text[text.index("\n", conditions) + 1:], encoding="utf-8")
    edit(folder / "guides" / "yb.toml", 'description = { zh_CN = "打印医保参保凭证', 'description = { zh_CN = "   ", x = "')
    problems = problems_of(folder)
    assert any(p.startswith(f"{guides}: bdc-jd: conditions:") for p in problems), problems
    assert any("guides/yb.toml: yb-cbpz: description" in p for p in problems), problems


def test_an_empty_translation_is_refused(tmp_path):
    folder = copy(tmp_path)
    edit(folder / "guides" / "gjj.toml", 'en = "Prints a housing fund deposit certificate', 'en = " ", y = "')
    problems = problems_of(folder)
    assert any("guides/gjj.toml: gjj-jczm: description" in p for p in problems), problems


def test_a_whitespace_only_text_is_refused_as_empty(tmp_path):
    folder = copy(tmp_path)
    edit(folder / "guides" / "sf.toml", 'conditions = { zh_CN = "任何人均可免费咨询；复杂案件可转法律援助。"',
         'conditions = { zh_CN = "  "')
    problems = problems_of(folder)
    assert any(p.endswith("guides/sf.toml: sf-flzx: conditions.zh_CN: empty") for p in problems), problems


def test_an_item_without_a_guide_and_a_guide_for_no_item_are_refused(tmp_path):
    folder = copy(tmp_path)
    edit(folder / "guides" / "zh.toml", "[items.zh-hcp]", "[items.zh-nosuch]")
    problems = problems_of(folder)
    assert any("guides/zh.toml: zh-nosuch: a guide for an unknown item" in p for p in problems), problems
    assert any("guides/zh.toml: zh-hcp: guide: no guide" in p for p in problems), problems


def test_a_department_without_an_office_and_a_guide_item_without_window_materials_are_refused(tmp_path):
    folder = copy(tmp_path)
    edit(folder / "guides" / "tyjr.toml", "[office]", "[officex]")
    sf = folder / "guides" / "sf.toml"
    text = sf.read_text(encoding="utf-8")
    sf.write_text(text[:text.rindex("materials = [")], encoding="utf-8")  # sf-flzx's, the file's last
    problems = problems_of(folder)
    assert any("guides/tyjr.toml: office: no [office] for department 'tyjr'" in p for p in problems), problems
    assert any("guides/sf.toml: sf-flzx: materials: a guide item lists what to bring" in p for p in problems), problems


def test_a_catalog_without_guides_loads_but_validate_refuses_it(tmp_path):
    folder = copy(tmp_path)
    shutil.rmtree(folder / "guides")
    assert len(Catalog.load(folder)) == 301  # a kiosk still starts (a minimal test catalog has no guides)
    problems = problems_of(folder, require_guides=True)
    assert sum(": guide: no guide" in p for p in problems) == 301
    done = subprocess.run([sys.executable, "-m", "kiosk", "catalog", "validate", "--catalog", str(folder)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
    assert done.returncode == 2 and "no guide" in done.stderr, done.stderr


def test_a_difference_must_name_a_real_item(tmp_path):
    folder = copy(tmp_path)
    edit(folder / "guides" / "yb.toml", '{ item = "yb-jfzm", note', '{ item = "yb-nosuch", note')
    problems = problems_of(folder)
    assert any("guides/yb.toml: yb-cbpz: differs_from: names a missing item 'yb-nosuch'" in p for p in problems)


# -- what residents read ------------------------------------------------------------------------

def test_every_item_has_every_section_in_three_languages(catalog):
    for item in catalog.items:
        for language in ("zh_CN", "zh_TW", "en"):
            sections = item_guide(item, catalog.departments, lambda c: None, language)
            keys = [k for k, _, _ in sections]
            assert set(SECTION_KEYS) - {"differs"} <= set(keys), (item.code, language, keys)
            assert keys == sorted(keys, key=SECTION_KEYS.index)
            texts = [title for _, title, _ in sections] + [line for _, _, lines in sections for line in lines]
            assert all(t.strip() for t in texts), (item.code, language)
            if language == "en":
                assert not [t for t in texts if CJK.search(t)], (item.code, [t for t in texts if CJK.search(t)])
            if language == "zh_TW":  # written in 繁體: OpenCC has nothing left to convert
                assert all(convert_traditional(t) == t for t in texts), item.code


def test_the_guides_own_words_are_written_in_traditional_for_zh_tw():
    for key, (_, zh_tw, _) in PHRASES.items():
        assert convert_traditional(zh_tw) == zh_tw, key


def test_descriptions_say_more_than_the_name_and_are_not_copies(catalog):
    seen: dict[str, str] = {}
    for item in catalog.items:
        assert item.guide is not None
        for text in (item.guide.description.zh_CN, item.guide.description.en):
            assert len(text) >= 12 and text not in (item.name.zh_CN, item.name.en), item.code
            assert seen.setdefault(text, item.code) == item.code, f"{item.code} repeats {seen[text]}'s description"


@pytest.mark.parametrize("one, other", LOOK_ALIKES)
def test_look_alike_items_say_how_they_differ(catalog, one, other):
    for a, b in ((one, other), (other, one)):
        guide = catalog.get(a).guide
        assert any(d.item == b for d in guide.differs_from), f"{a} does not say how it differs from {b}"
        sections = {k: lines for k, _, lines in
                        item_guide(catalog.get(a), catalog.departments,
                                   lambda c: catalog.get(c).name.zh_CN if catalog.get(c) else None, "zh_CN")}
        assert any(catalog.get(b).name.zh_CN in line for line in sections["differs"])


def test_the_guide_says_where_when_what_it_costs_and_how_long(catalog):
    def section(code: str, key: str, language: str = "zh_CN") -> str:
        return "\n".join({k: lines for k, _, lines in
                              item_guide(catalog.get(code), catalog.departments, lambda c: None, language)}[key])

    assert "24小时" in section("rs-sbjfzm", "where") and "12333" in section("rs-sbjfzm", "where")
    assert "钟林路8号" in section("rs-sbjfzm", "where")
    assert "本机" not in section("bdc-zn", "where").split("\n")[1]  # a guide item: the counter, not here
    assert section("ga-hzsl", "fees").startswith("120元") and section("rs-sbjfzm", "fees") == "免费。"
    assert "3个工作日" in section("gjj-gftq", "time") and "5个工作日" in section("gjj-gftq", "time")
    assert "《住房公积金管理条例》" in section("gjj-gftq", "legal_basis")
    assert "《居住证暂行条例》" in section("ga-jzzbl", "legal_basis")  # an item's own basis
    assert "办件编号" in section("gjj-gftq", "progress") and "闽政通" in section("gjj-gftq", "progress")
    materials = section("bdc-zn", "materials")
    assert "申请人身份证：原件1份，复印件1份" in materials and "（视情况提供）" in materials
    assert "免提交" in section("bdc-dyzx", "materials")  # an electronic licence is fetched
    assert "1 original, 1 copy" in section("bdc-zn", "materials", "en")


@pytest.mark.parametrize("code, title", [("bdc-zn", "不动产登记办事指南"), ("rs-sbjfzm", "社保参保缴费证明打印办事指南")])
def test_the_guide_is_titled_once(catalog, code, title):
    assert guide_title(catalog.get(code), "zh_CN") == title
    assert guide_title(catalog.get(code), "en").count("guide") == 1


# -- the printed guide --------------------------------------------------------------------------

class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def printed_guide(catalog: Catalog, code: str) -> PrintReceipt:
    kiosk = flow.KioskFlow(catalog, Clock(), idle_timeout_s=90, warning_s=20)
    kiosk.handle(flow.Tapped("start"))
    kiosk.handle(flow.Tapped("browse:all"))
    kiosk.handle(flow.Tapped(f"detail:{code}"))
    assert kiosk.screen.value == "detail"
    [job] = [e for e in kiosk.handle(flow.Tapped("begin")) if isinstance(e, PrintReceipt)]
    return job


def test_the_printer_receives_the_guide_titled_once_with_its_sections_and_no_number(catalog, tmp_path):
    job = printed_guide(catalog, "bdc-zn")
    layout = slip_layout(job.layout, job.content, kiosk_id="HC-SQ-017", place="海沧区霞阳社区便民服务站",
                         now=datetime(2026, 12, 5, 9, 30))
    data = render_escpos(layout, 80)
    with VirtualPrinter(paper_mm=80) as sim, ReceiptPrinter(sim.uri, timeout_s=0.5, settle_s=0) as printer:
        assert printer.print_job(job.job_id, data).printed
        assert sim.wait_for_job() == data
        text = stream_to_text(sim.received(), 80)
        (tmp_path / "guide.png").write_bytes(sim.render_png())
    flat = text.replace("\n", "").replace(" ", "")
    assert "\x1c&" in data.decode("latin-1") and "不动产登记办事指南".encode("gb18030") in data  # GB18030 text
    assert flat.count("办事指南") == 1  # the title, once (no 不动产登记办事指南·办事指南)
    assert "不动产登记办事指南·办事指南" not in flat
    assert "办件编号：" not in flat and "扫码" not in flat  # a guide is no case: no number, no progress code
    assert "厦门市不动产登记中心" in flat
    for heading in ("事项说明", "申请条件", "申请材料", "办理地点和时间", "收费标准", "办理时限", "设定依据", "进度查询"):
        assert f"【{heading}】" in flat, heading
    assert "申请人身份证：原件1份，复印件1份" in flat
    assert "《不动产登记暂行条例》" in flat and "12345" in flat
    assert "终端编号" in flat  # the footer still says where and when it was printed


def test_a_guide_sheet_carries_the_differences(catalog):
    job = printed_guide(catalog, "rs-syzn")
    sections = {title: lines for title, lines in job.content["guide"]["sections"]}
    assert "失业保险金申领指南" == job.content["guide"]["title"]
    assert any("《失业保险条例》" in line for line in sections["设定依据"])


def test_the_guides_texts_are_in_the_cached_traditional_table(catalog):
    """kiosk/catalog/traditional.py converts every derived 繁體 text once, off the app: the guides' too."""
    texts = set(derived_texts([catalog.items, catalog.departments]))
    guide = catalog.get("yb-cbpz").guide
    office = catalog.departments["yb"].office
    assert {guide.description.zh_CN, guide.conditions.zh_CN, guide.differs_from[0].note.zh_CN,
            office.hours.zh_CN, office.legal_basis.zh_CN} <= texts


def test_a_signed_catalog_bundle_carries_the_guides(tmp_path):
    """A catalog published as a signed bundle (kiosk/catalog/bundle.py) keeps its 办事指南 on the terminal, and
    a bundle whose guide is broken is refused like any invalid catalog."""
    key = SigningKey.generate("intl")
    files = catalog_files(None)
    assert "guides/yb.toml" in files and "yb.toml" in files
    store = BundleStore(tmp_path)
    installed = store.install(read_bundle(sign_bundle(build_bundle(files, "2026.12.9"), key), [key.public]))
    assert all(i.guide is not None for i in installed.items) and len(installed) == 301
    broken = dict(files, **{"guides/yb.toml": files["guides/yb.toml"].replace(b"[items.yb-cbpz]", b"[items.yb-x]")})
    with pytest.raises(BundleError):
        store.install(read_bundle(sign_bundle(build_bundle(broken, "2026.12.10"), key), [key.public]))
    assert store.version() == "2026.12.9"
