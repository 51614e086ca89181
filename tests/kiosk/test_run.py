"""`kiosk run` end to end: real child processes, real ports, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kiosk_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update({
        "KIOSK_GATEWAY__PORT": str(free_port()),
        "KIOSK_PLATFORM__SIM_PORT": str(free_port()),
        "KIOSK_GATEWAY__DATA_DIR": str(tmp_path / "data"),
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
    })
    env.update(extra)
    return env


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout_s: float = 60) -> list[str]:
    lines = []
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not seen; output: {''.join(lines)}")


def test_run_brings_up_gateway_headless_and_stops_everything_on_sigterm(tmp_path: Path):
    env = kiosk_env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        lines = wait_for_line(proc, "kiosk: running")
        output = "".join(lines)
        assert "headless" in output
        port = env["KIOSK_GATEWAY__PORT"]
        assert f"http://127.0.0.1:{port}" in output
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health["kiosk_id"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_run_starts_with_a_missing_reader_port_and_says_so(tmp_path: Path):
    """A reader unplugged at boot used to make `kiosk run` exit 2 (a restart loop under systemd)."""
    env = kiosk_env(tmp_path, KIOSK_DEVICES__ID_READER="/dev/serial/by-id/usb-no-such-reader")
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run"], env=env, stdout=subprocess.PIPE,
                                stderr=stderr, text=True, start_new_session=True)
    try:
        wait_for_line(proc, "kiosk: running")
        port = env["KIOSK_GATEWAY__PORT"]
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        said = errors.read_text()
        assert "devices.id_reader" in said and "does not exist" in said and "starting anyway" in said
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_run_refuses_when_the_gateway_port_is_taken(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = kiosk_env(tmp_path, KIOSK_GATEWAY__PORT=str(port))
        result = subprocess.run([sys.executable, "-m", "kiosk", "run"], env=env, check=False, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "another kiosk" in result.stderr


def test_app_without_gateway_says_so(tmp_path: Path):
    env = kiosk_env(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "kiosk", "app", "--gateway-url", url], env=env,
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert url in result.stderr and "not answering" in result.stderr


def children_of(pid: int) -> dict[str, int]:
    """Child processes of ``pid`` by their kiosk subcommand (from /proc)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"kiosk" in cmdline:
                found[cmdline[cmdline.index(b"kiosk") + 1].decode()] = int(child)
    return found


def test_run_restarts_a_crashed_gateway_and_keeps_the_app(tmp_path: Path):
    env = kiosk_env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        wait_for_line(proc, "kiosk: running")
        before = children_of(proc.pid)
        assert set(before) == {"platform-sim", "gateway", "app"}
        os.kill(before["gateway"], signal.SIGKILL)
        url = f"http://127.0.0.1:{env['KIOSK_GATEWAY__PORT']}/health"
        deadline = time.monotonic() + 30
        while True:
            after = children_of(proc.pid)
            if after.get("gateway") not in (None, before["gateway"]):
                try:
                    if requests.get(url, timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
            assert time.monotonic() < deadline, "gateway was not restarted"
            time.sleep(0.3)
        assert after["app"] == before["app"]  # the screen kept running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_run_refuses_a_broken_catalog_and_names_the_file(tmp_path: Path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text('[[items]]\ncode = "x"\nkind = "teleport"\n', encoding="utf-8")
    env = kiosk_env(tmp_path, KIOSK_KIOSK__CATALOG=str(catalog))
    result = subprocess.run([sys.executable, "-m", "kiosk", "run"], env=env, check=False, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert str(catalog) in result.stderr and "catalog" in result.stderr


def test_unsafe_settings_stop_the_start_but_say_what_to_fix_and_start_once_fixed(tmp_path: Path):
    """A malformed settings file under systemd used to be a silent restart loop: now the kiosk waits, a
    stand-in /health on the gateway's port answers 503 naming the problem, and it starts once it is fixed."""
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nplace = "霞阳社区\n', encoding="utf-8")  # an unclosed string
    env = kiosk_env(tmp_path)
    port = env["KIOSK_GATEWAY__PORT"]
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config", str(config), "--wait-for-fix"],
                                env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True)
    try:
        def stand_in() -> requests.Response | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except requests.ConnectionError:
                assert proc.poll() is None, errors.read_text()
                return None
        deadline = time.monotonic() + 30
        while (answer := stand_in()) is None:
            assert time.monotonic() < deadline, errors.read_text()
            time.sleep(0.2)
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "settings_problem" and str(config) in body["problems"][0]
        said = errors.read_text()
        assert "not starting" in said and str(config) in said and "not valid TOML" in said
        assert proc.poll() is None  # waiting, not exiting into a restart loop

        config.write_text('[kiosk]\nplace = "霞阳社区"\n', encoding="utf-8")
        wait_for_line(proc, "kiosk: running")
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert health.status_code == 200 and health.json()["place"] == "霞阳社区"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_an_unusable_outbox_key_stops_the_gateway_naming_the_file(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "outbox.key").write_bytes(b"short")
    env = kiosk_env(tmp_path)
    result = subprocess.run([sys.executable, "-m", "kiosk", "gateway"], env=env, check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert str(data / "outbox.key") in result.stderr and "restore the right key" in result.stderr
    assert (data / "outbox.key").read_bytes() == b"short"  # never replaced: queued submissions need the real one
