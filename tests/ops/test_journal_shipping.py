"""Logs (issue 22): every line carries its syslog priority and the terminal's id into journald, and the
shipped journal-upload example really moves a terminal's journal to a central store.

The journal side is real: a datagram socket speaking journald's native protocol stands in for journald's
own socket (no journald runs in a test), and the entries it received are written into a real journal
file by systemd-journal-remote, uploaded by systemd-journal-upload over loopback to a second
systemd-journal-remote (the central store), and read back with ``journalctl -p err``."""

from __future__ import annotations

import configparser
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.logs import JournalHandler, JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "deploy" / "logs"
SYSTEMD = Path("/lib/systemd")
ID_NUMBER = "350205198001011234"


def parse_native(datagram: bytes) -> dict[str, str]:
    """journald's native protocol (``KEY=value\\n``, or ``KEY\\n`` + 64-bit length + value + ``\\n``)."""
    fields, at = {}, 0
    while at < len(datagram):
        end = datagram.index(b"\n", at)
        line = datagram[at:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            at = end + 1
        else:
            key, (size,) = line, struct.unpack("<Q", datagram[end + 1:end + 9])
            value = datagram[end + 9:end + 9 + size]
            at = end + 9 + size + 1
        fields[key.decode()] = value.decode("utf-8")
    return fields


@pytest.fixture
def journald(tmp_path: Path):
    """A socket where journald's would be; yields (path, received datagrams)."""
    path = str(tmp_path / "journal.socket")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    received: list[bytes] = []

    def take(n: int) -> list[bytes]:
        while len(received) < n:
            received.append(sock.recv(1 << 20))
        return received

    yield path, take
    sock.close()


def log_through(path: str, records: list[tuple[int, str]]) -> None:
    logger = logging.getLogger("kiosk.test.journal")
    logger.propagate = False
    handler = JournalHandler("gateway", "HC-XY-001", path=path)
    handler.setFormatter(JsonFormatter("gateway", "HC-XY-001"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        for level, message in records:
            logger.log(level, message)
    finally:
        logger.removeHandler(handler)
        handler.close()


RECORDS = [(logging.INFO, "gateway listening"), (logging.WARNING, "platform slow"),
           (logging.ERROR, f"outbox unreadable for {ID_NUMBER}"), (logging.CRITICAL, "disk full\nsecond line")]


def test_every_line_reaches_the_journal_with_its_priority_and_the_terminal_id(journald) -> None:
    path, take = journald
    log_through(path, RECORDS)
    entries = [parse_native(d) for d in take(4)]
    assert [e["PRIORITY"] for e in entries] == ["6", "4", "3", "2"]
    assert {e["KIOSK_ID"] for e in entries} == {"HC-XY-001"}
    assert {e["SYSLOG_IDENTIFIER"] for e in entries} == {"kiosk-gateway"}
    error = json.loads(entries[2]["MESSAGE"])
    assert error["kiosk_id"] == "HC-XY-001" and error["level"] == "ERROR"
    assert ID_NUMBER not in entries[2]["MESSAGE"]  # masked, as on stderr
    assert json.loads(entries[3]["MESSAGE"])["msg"] == "disk full\nsecond line"


def run_logging(tmp_path: Path, env: dict[str, str]) -> list[str]:
    """A separate process that logs through setup_logging with stderr in a file; its lines."""
    err = tmp_path / "stderr.txt"
    code = (f"from kiosk import logs; logs.JOURNAL_SOCKET = {str(tmp_path / 'no-journald')!r}\n"
            "import logging; logs.setup_logging('INFO', 'app', 'HC-XY-002')\n"
            "log = logging.getLogger('x'); log.info('up'); log.warning('paper low'); log.error('printer gone')\n")
    with open(err, "wb") as f:
        if env.get("JOURNAL_STREAM") == "match":
            st = os.fstat(f.fileno())
            env = {**env, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        subprocess.run([sys.executable, "-c", code], stderr=f, check=True, timeout=60,
                       env={"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", ""), **env})
    return err.read_text("utf-8").splitlines()


def test_prefixes_when_stderr_is_the_journal_stream_and_plain_json_elsewhere(tmp_path: Path) -> None:
    lines = run_logging(tmp_path, {"JOURNAL_STREAM": "match"})  # under systemd, journald's socket missing
    assert [line[:3] for line in lines] == ["<6>", "<4>", "<3>"]
    assert json.loads(lines[2][3:])["kiosk_id"] == "HC-XY-002"
    plain = run_logging(tmp_path, {})  # a developer's terminal
    assert [json.loads(line)["level"] for line in plain] == ["INFO", "WARNING", "ERROR"]
    assert run_logging(tmp_path, {"KIOSK_LOG_TARGET": "prefix"})[1].startswith("<4>{")


def test_the_upload_example_ships_the_journal_to_a_central_store(tmp_path: Path, journald) -> None:
    tools = [SYSTEMD / "systemd-journal-remote", SYSTEMD / "systemd-journal-upload", shutil.which("journalctl")]
    if not all(t and Path(t).exists() for t in tools):
        pytest.skip("needs systemd-journal-remote and journalctl (bash deploy/setup.sh --test installs them)")
    upload = configparser.ConfigParser()
    upload.read(LOGS / "journal-upload.conf")
    assert upload["Upload"]["URL"].startswith("https://")  # TLS in the example; loopback HTTP below
    for key in ("ServerKeyFile", "ServerCertificateFile", "TrustedCertificateFile"):
        assert upload["Upload"][key].startswith("/")
    remote = configparser.ConfigParser()
    remote.read(LOGS / "journal-remote.conf")
    assert remote["Remote"]["SplitMode"] == "host"

    # The terminal's journal: what the kiosk sent journald, as journald would store it.
    path, take = journald
    log_through(path, RECORDS)
    export = b""
    for n, datagram in enumerate(take(4)):
        stamp = int(time.time() * 1e6) + n
        export += (f"__REALTIME_TIMESTAMP={stamp}\n__MONOTONIC_TIMESTAMP={n + 1}\n"
                   "_BOOT_ID=4f2d9a1c0b7e4e5f8a6b3c2d1e0f9a8b\n_HOSTNAME=hc-xy-001\n").encode() + datagram + b"\n"
    local = tmp_path / "terminal" / "system.journal"
    local.parent.mkdir()
    subprocess.run([str(SYSTEMD / "systemd-journal-remote"), "-o", str(local), "-"], input=export, check=True,
                   capture_output=True, timeout=30)

    # The central store, listening on loopback; the terminal's uploader sends it everything.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    central = tmp_path / "central"
    central.mkdir()
    receiver = subprocess.Popen([str(SYSTEMD / "systemd-journal-remote"), f"--listen-http=127.0.0.1:{port}",
                                 "-o", f"{central}/"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "journal-remote did not listen"
                time.sleep(0.1)
        sent = subprocess.run([str(SYSTEMD / "systemd-journal-upload"), f"--url=http://127.0.0.1:{port}",
                               f"--file={local}", "--follow=no", f"--save-state={tmp_path / 'upload.state'}"],
                              capture_output=True, timeout=60, check=False)
        assert sent.returncode == 0, sent.stderr.decode()
        deadline = time.monotonic() + 10
        errors: list[dict[str, str]] = []
        while len(errors) < 2 and time.monotonic() < deadline:
            shown = subprocess.run(["journalctl", "-D", str(central), "-p", "err", "-o", "json", "--no-pager"],
                                   capture_output=True, text=True, timeout=30, check=False)
            errors = [json.loads(line) for line in shown.stdout.splitlines() if line.startswith("{")]
            time.sleep(0.2)
    finally:
        receiver.terminate()
        receiver.wait(10)
    assert [e["PRIORITY"] for e in errors] == ["3", "2"]  # journalctl -p err: errors and worse only
    assert {e["KIOSK_ID"] for e in errors} == {"HC-XY-001"}
    assert json.loads(errors[0]["MESSAGE"])["msg"].startswith("outbox unreadable")
