"""The pinyin and search indexes kept as files (issue 25): built once, mapped again, rebuilt with a
log line when the file is stale or damaged, never a crash; a keystroke before the background build
finished waits for it and gets the same answers."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from kiosk.catalog import ime, search
from kiosk.catalog.loading import Catalog
from kiosk.catalog.packed import PackedFile, PackedFileError, open_tables, pack, write_tables


def candidates(index: ime.PinyinIndex, letters: str) -> list[str]:
    typed = ime.Ime(index)
    for c in letters:
        typed.type_letter(c)
    return typed.candidates(0)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real index file over jieba's dictionary, built once for this module (≈ 3 s)."""
    path = tmp_path_factory.mktemp("index") / ime.INDEX_FILE
    ime.build_file(path)
    return path


def test_packed_tables_find_every_value_of_a_key_in_order_and_nothing_else(tmp_path):
    pairs = [("sb", "社保"), ("a", "啊"), ("sb", "设备"), ("sbz", "x"), ("s", "是"), ("sb", "三倍")]
    write_tables(tmp_path / "t.bin", {"t": pairs, "empty": []}, stamp="s1", meta={"n": 1})
    packed = open_tables(tmp_path / "t.bin", stamp="s1")
    table = packed.tables["t"]
    assert table.get("sb") == ["社保", "设备", "三倍"]
    assert table.get("s") == ["是"] and table.get("sbz") == ["x"] and table.get("a") == ["啊"]
    assert table.get("") == [] and table.get("z") == [] and table.get("0") == [] and table.get("sbzz") == []
    assert packed.tables["empty"].get("sb") == [] and packed.meta == {"n": 1}
    assert PackedFile.from_bytes(pack({"t": pairs}, stamp="m")).tables["t"].get("sb") == ["社保", "设备", "三倍"]


@pytest.mark.parametrize("damage", ["missing", "empty", "truncated", "garbage", "stale", "bad header"])
def test_an_unusable_file_is_refused_with_the_reason(tmp_path, damage):
    path = tmp_path / "t.bin"
    data = pack({"t": [("k", "v")] * 100}, stamp="s1")
    written = {"missing": None, "empty": b"", "truncated": data[:-10], "garbage": b"\x00\xff" * 5000,
               "stale": data, "bad header": b'{"magic": "kiosk-packed-tables/1", "tables": 3}\n'}[damage]
    if written is not None:
        path.write_bytes(written)
    with pytest.raises(PackedFileError) as refused:
        open_tables(path, stamp="s2" if damage == "stale" else "s1")
    assert str(path) in str(refused.value)


def test_the_file_index_answers_as_the_one_built_in_memory(built):
    loaded = ime.PinyinIndex.load(built)
    assert loaded.word_count > 50_000 and loaded.readings("行")[:2] == ("xing", "hang")
    for letters in ("shebao", "sb", "gjj", "sheb", "xian", "ji", "shebaozhengming", "zhongguo", "lvxing"):
        assert candidates(loaded, letters) == candidates(ime.shared_index(), letters), letters


def test_shared_index_builds_the_file_once_then_maps_it(tmp_path, monkeypatch, built, caplog):
    monkeypatch.setenv("KIOSK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ime, "_shared", None)
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.ime"):
        first = ime.shared_index()  # no file yet: built in a helper process and kept
    assert (tmp_path / ime.INDEX_FILE).stat().st_size > 1_000_000
    assert "pinyin index: building it again" in caplog.text  # said, not silent
    assert candidates(first, "shebao")[0] == "社保"
    monkeypatch.setattr(ime, "_shared", None)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.ime"):
        again = ime.shared_index()  # the file is there now: mapped, nothing rebuilt
    assert caplog.text == "" and again is not first and candidates(again, "sb")[0] == "社保"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "stale"])
def test_a_damaged_or_stale_index_file_is_rebuilt_with_a_log_line(tmp_path, monkeypatch, built, caplog, damage):
    path = tmp_path / ime.INDEX_FILE
    data = built.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not an index\n" * 1000)
    else:  # built by another version of the builder (another pypinyin, dictionary or format)
        header, rest = data.split(b"\n", 1)
        fields = json.loads(header)
        stale = json.dumps({**fields, "stamp": "format 0"}).encode()
        path.write_bytes(stale.ljust(len(header)) + b"\n" + rest)
    monkeypatch.setenv("KIOSK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ime, "_shared", None)
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.ime"):
        index = ime.shared_index()
    assert "pinyin index: building it again" in caplog.text and str(path) in caplog.text
    assert candidates(index, "shebao")[0] == "社保"
    ime.PinyinIndex.load(path)  # and the file is good again


def test_the_app_process_never_loads_pypinyin_when_the_files_are_there(tmp_path, built):
    """The point of the files: pypinyin's tables (≈ 55 MB) stay out of the kiosk app's memory."""
    import os
    import subprocess
    import sys

    (tmp_path / ime.INDEX_FILE).write_bytes(built.read_bytes())
    code = ("import sys; from kiosk.catalog.loading import Catalog; c = Catalog.load(); "
            "print(c.search('shebao')[0].item.code, c.search('社保证明')[0].item.code, c.search('症明')[0].item.code); "
            "from kiosk.catalog.ime import Ime; i = Ime(); [i.type_letter(x) for x in 'sb']; print(i.candidates()[0]); "
            "print('pypinyin' in sys.modules)")
    env = {**os.environ, "KIOSK_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                           check=True)
    assert (tmp_path / search.SYLLABLES_FILE).exists()  # the catalog's syllables, worked out once
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                           check=True)
    for done in (first, again):
        lines = done.stdout.split("\n")
        assert lines[0].split()[:2] == ["rs-sbjfzm", "rs-sbjfzm"] and lines[1] == "社保" and lines[2] == "False", \
            done.stdout + done.stderr


def test_a_damaged_syllable_cache_is_rebuilt_with_a_log_line(tmp_path, caplog):
    path = tmp_path / search.SYLLABLES_FILE
    path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.search"):
        got = search.syllable_map(["社保", "重庆", "e通卡"], path)
    assert "unusable, rebuilding" in caplog.text
    assert got == {"社保": ("she", "bao"), "重庆": ("chong", "qing"), "e通卡": ("e", "tong", "ka")}
    assert json.loads(path.read_text(encoding="utf-8"))["stamp"] == search.syllables_stamp()
    path.write_text(json.dumps({"stamp": "format 0", "syllables": {"社保": ["x"]}}), encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.search"):
        assert search.syllable_map(["社保"], path) == {"社保": ("she", "bao")}  # stale: not trusted
    assert "unusable, rebuilding" in caplog.text


def test_a_search_before_the_background_build_finished_waits_for_it_and_finds_the_same():
    catalog = Catalog.load()
    expected = [h.item.code for h in Catalog.load().search("shebcb")]
    started = threading.Event()
    done: list[object] = []

    def warm() -> None:
        started.set()
        done.append(catalog.prepare_search())

    warming = threading.Thread(target=warm)
    warming.start()
    started.wait(5)
    first = [h.item.code for h in catalog.search("shebcb")]  # the resident typed at once
    warming.join(30)
    assert first == expected and expected[0] == "rs-sbjfzm"
    assert done == [catalog.prepare_search()]  # one index, built once, whoever asked first
