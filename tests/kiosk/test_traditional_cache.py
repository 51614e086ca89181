"""The catalog's 繁體 texts come from a cache file, so the app never loads OpenCC's s2tw tables (P9)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kiosk.catalog.loading import Catalog
from kiosk.catalog.model import convert_traditional
from kiosk.catalog.traditional import TRADITIONAL_FILE, derived_texts

ROOT = Path(__file__).resolve().parents[2]

SHOW_TW = """
import json, sys
from kiosk.catalog.loading import Catalog
catalog = Catalog.load(None)
catalog.prepare_traditional()
shown = {i.code: [i.name.zh_TW, i.summary.zh_TW if i.summary else ""] for i in catalog.items}
shown["departments"] = [d.name.zh_TW for d in catalog.departments.values()]
print(json.dumps({"shown": shown, "opencc": "opencc" in sys.modules}, ensure_ascii=False))
"""


def _show(cache: Path) -> dict:
    env = {"KIOSK_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SHOW_TW], env=env, capture_output=True, check=True, timeout=120)
    return json.loads(done.stdout)


def test_traditional_texts_match_opencc_and_opencc_stays_out(tmp_path):
    catalog = Catalog.load(None)
    first = _show(tmp_path)  # builds the file in a helper process
    again = _show(tmp_path)  # reads it
    for answer in (first, again):
        assert answer["opencc"] is False
        for item in catalog.items:
            name, summary = answer["shown"][item.code]
            assert name == (item.name.tw or convert_traditional(item.name.zh_CN))
            s = item.summary
            assert summary == ((s.tw or convert_traditional(s.zh_CN)) if s else "")
        assert answer["shown"]["departments"] == [d.name.tw or convert_traditional(d.name.zh_CN)
                                                  for d in catalog.departments.values()]
    table = json.loads((tmp_path / TRADITIONAL_FILE).read_text("utf-8"))["texts"]
    assert set(derived_texts(catalog.items)) <= set(table)


def test_a_damaged_cache_is_rebuilt_not_a_crash(tmp_path):
    (tmp_path / TRADITIONAL_FILE).write_bytes(b"\x00not json")
    answer = _show(tmp_path)
    assert answer["opencc"] is False
    assert json.loads((tmp_path / TRADITIONAL_FILE).read_text("utf-8"))["texts"]
