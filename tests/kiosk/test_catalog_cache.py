"""The catalog's parsed TOML is kept in the cache folder (P1): a start that uses it shows the same catalog,
an edited file is read afresh, and a damaged cache is rebuilt rather than a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kiosk.catalog.loading import PARSED_FILE, Catalog, CatalogError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / PARSED_FILE


def _shown(catalog: Catalog) -> list[dict]:
    return [catalog.record(item) for item in catalog.items]


def test_the_cached_catalog_is_the_same_catalog(cache):
    fresh = Catalog.load(None)
    assert cache.exists()
    again = Catalog.load(None)
    assert _shown(again) == _shown(fresh)
    assert [d.model_dump() for d in again.departments.values()] == [d.model_dump() for d in fresh.departments.values()]


def test_an_edited_file_is_read_afresh(cache, tmp_path):
    folder = tmp_path / "catalog"
    shutil.copytree(ROOT / "config" / "catalog", folder)
    first = Catalog.load(folder)
    victim = next(p for p in sorted(folder.glob("*.toml")) if first.items[0].name.zh_CN in p.read_text("utf-8"))
    victim.write_text(victim.read_text("utf-8").replace(first.items[0].name.zh_CN, "改过的名称", 1), "utf-8")
    assert any(i.name.zh_CN == "改过的名称" for i in Catalog.load(folder).items)
    victim.write_text(victim.read_text("utf-8") + "\n[[broken\n", "utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        Catalog.load(folder)


def test_a_damaged_cache_is_rebuilt(cache):
    fresh = Catalog.load(None)
    cache.write_bytes(b'{"stamp": 1, "files": ')
    assert _shown(Catalog.load(None)) == _shown(fresh)
    assert json.loads(cache.read_bytes())["files"]
    data = json.loads(cache.read_bytes())
    data["files"] = {digest: "[not a table" for digest in data["files"]}
    cache.write_text(json.dumps(data), "utf-8")
    assert _shown(Catalog.load(None)) == _shown(fresh)
