"""``kiosk devices print-test`` run as a technician runs it (a real process) against the virtual
printer over TCP and a file printer: the slip's bytes decode to what was meant, and the status
is reported in plain words."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from devices.printer import VirtualPrinter, qr_payloads, stream_to_text, tokenize
from kiosk.terminal.receipts import TEST_SENTENCE

ROOT = Path(__file__).resolve().parents[2]


def kiosk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "kiosk", "devices", "print-test", *args], cwd=ROOT,
                          env=clean, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def sim() -> Iterator[VirtualPrinter]:
    with VirtualPrinter(paper_mm=58) as printer:
        yield printer


def flat(data: bytes, paper: int) -> str:
    return "".join(line.strip() for line in stream_to_text(data, paper).splitlines())


def test_the_test_slip_arrives_as_chinese_with_punctuation_a_qr_and_a_cut(sim: VirtualPrinter,
                                                                           tmp_path: Path) -> None:
    png = tmp_path / "slip.png"
    run = kiosk("--printer", sim.uri, "--paper", "58", "--png", str(png))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "before: ready (online, paper ok)" in run.stdout and "test slip printed" in run.stdout
    data = sim.wait_for_job()
    tokens = tokenize(data)
    assert tokens[0].kind == "init" and tokens[-1].kind == "cut"
    chinese = "".join(t.value for t in tokens if t.kind == "text" and t.cjk)
    assert "打印测试" in chinese and "¥1,234.50（元）" in chinese
    assert TEST_SENTENCE in flat(data, 58)  # “，：（）、 and ¥ all intact across line breaks
    assert "?" not in chinese
    [url] = qr_payloads(data)
    assert url.startswith("https://zwfw.example.gov.cn/progress?no=HC-DEMO-001-") and url.endswith("-000000")
    image = Image.open(io.BytesIO(png.read_bytes()))
    assert image.width == 384 and image.height > 600


def test_paper_out_is_reported_in_plain_words_and_exits_1(sim: VirtualPrinter) -> None:
    sim.set_state(paper="out")
    run = kiosk("--printer", sim.uri, "--timeout", "1")
    assert run.returncode == 1
    assert "paper out: replace the paper roll" in run.stdout and "test slip refused" in run.stdout
    assert sim.jobs() == []


def test_out_of_paper_with_png_says_nothing_was_sent_not_a_preview_of_bytes_sent(
        sim: VirtualPrinter, tmp_path: Path) -> None:
    sim.set_state(paper="out")
    png = tmp_path / "slip.png"
    run = kiosk("--printer", sim.uri, "--paper", "58", "--png", str(png))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "nothing was sent to the printer" in run.stdout
    assert "preview of the bytes sent" not in run.stdout
    assert png.is_file() and sim.received() == b""


def test_the_printer_from_the_settings_is_the_default(tmp_path: Path) -> None:
    target = tmp_path / "printer.bin"
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[devices]\nprinter = "file://{target}"\npaper_width_mm = 58\n', encoding="utf-8")
    run = kiosk("--config", str(config))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"printer file://{target} (58 mm paper)" in run.stdout
    assert TEST_SENTENCE in flat(target.read_bytes(), 58)


def test_settings_problems_exit_2() -> None:
    run = kiosk(env={"KIOSK_DEVICES__PAPER_WIDTH_MM": "99"})
    assert run.returncode == 2 and "paper_width_mm" in run.stderr
