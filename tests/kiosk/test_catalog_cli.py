"""``kiosk catalog …`` as a technician uses it: the real CLI, in a subprocess where it matters."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from kiosk.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", "catalog", *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=120, check=False)


def test_stats_json_reports_292_valid_items():
    done = run("stats", "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["items"] == 301
    assert sum(stats["departments"].values()) == 301
    assert sum(stats["kinds"].values()) == 301
    assert sum(stats["identity"].values()) == 301
    assert stats["departments"]["人社"] > 0 and stats["kinds"]["print"] > 0


def test_validate_refuses_a_broken_catalog_and_says_where(tmp_path):
    (tmp_path / "rs.toml").write_text(
        '[department]\ncode = "rs"\nname = { zh_CN = "人社", en = "HR" }\n'
        'full_name = { zh_CN = "人社局", en = "HR bureau" }\n\n'
        '[[items]]\ncode = "rs-x"\nname = { zh_CN = "某事", en = "A thing" }\nkind = "print"\n'
        'identity = "id_card_face"\noutput = "certificate_slip"\ndevices = ["printer", "camera"]\n',
        encoding="utf-8")
    done = run("validate", "--catalog", str(tmp_path))
    assert done.returncode == 2
    assert "catalog INVALID" in done.stderr
    assert f"{tmp_path / 'rs.toml'}: rs-x: identity_alternatives: uses face verification" in done.stderr


def test_validate_accepts_the_packaged_catalog(capsys):
    assert main(["catalog", "validate"]) == 0
    assert "catalog OK" in capsys.readouterr().out


def test_search_json_lists_best_first(capsys):
    assert main(["catalog", "search", "sbcbzm", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["code"] == "rs-sbjfzm" and hits[0]["name"] == "社保参保缴费证明打印"
    assert main(["catalog", "search", "zzzzzzzz"]) == 0
    assert "no items found" in capsys.readouterr().out


def test_show_one_item_in_full(capsys):
    assert main(["catalog", "show", "yb-syjt", "--json"]) == 0
    item = json.loads(capsys.readouterr().out)
    assert item["name"]["zh_TW"] == "生育津貼申領"
    assert item["follow_ups_triggered_by"] == ["yb-syfy"]
    assert main(["catalog", "show", "rs-sbjfzm"]) == 0
    assert "社保参保缴费证明打印 / 社保參保繳費證明列印" in capsys.readouterr().out


def test_show_unknown_code_fails_with_a_hint(capsys):
    assert main(["catalog", "show", "rs-sbjfz"]) == 1
    err = capsys.readouterr().err
    assert "no item with code 'rs-sbjfz'" in err


def test_export_csv_and_json(tmp_path, capsys):
    assert main(["catalog", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 301 and rows[0]["code"] == "rs-sbjfzm"
    assert rows[0]["name_zh_TW"] == "社保參保繳費證明列印"
    out = tmp_path / "catalog.json"
    assert main(["catalog", "export", "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["items"]) == 301 and set(data["bundles"]) >= {"birth", "retirement"}


def test_validate_refuses_a_fee_with_no_payment_route(tmp_path):
    (tmp_path / "rs.toml").write_text(
        '[department]\ncode = "rs"\nname = { zh_CN = "人社", en = "HR" }\n'
        'full_name = { zh_CN = "人社局", en = "HR bureau" }\n\n'
        '[[items]]\ncode = "rs-x"\nname = { zh_CN = "某事", en = "A thing" }\nkind = "apply"\n'
        'identity = "id_card"\noutput = "receipt"\ndevices = ["printer"]\n'
        'fields = [{ key = "mobile", type = "mobile", label = { zh_CN = "手机号码", en = "Mobile" } }]\n'
        'fee_yuan = 20\nfee_note = { zh_CN = "工本费20元", en = "Fee: 20 yuan" }\n', encoding="utf-8")
    done = run("validate", "--catalog", str(tmp_path))
    assert done.returncode == 2, done.stdout
    assert "rs-x: payment:" in done.stderr and "no payment route" in done.stderr
