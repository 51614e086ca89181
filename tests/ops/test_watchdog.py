"""systemd watchdog pings over a real unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.watchdog import ServingProbe, Watchdog, gateway_alive

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, sock
    sock.close()


class FakeClock:
    """Time the test moves by hand (the watchdog's own logic, not timing, is under test)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pings_when_due_from_the_loop_and_not_more_often(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    clock = FakeClock()
    dog = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())},
                   clock=clock)
    assert dog.enabled and dog.interval_s == 2.0
    assert dog.ping_if_due() is True  # at once: start-up may have used part of the timeout
    assert sock.recv(64) == b"WATCHDOG=1"
    clock.now += 1.9
    assert dog.ping_if_due() is False
    clock.now += 0.2
    assert dog.ping_if_due() is True
    assert sock.recv(64) == b"WATCHDOG=1"
    assert dog.pings == 2
    assert dog.notify("STATUS=serving") is True
    assert sock.recv(64) == b"STATUS=serving"
    dog.close()


def test_off_without_watchdog_or_for_another_pid(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    sock.settimeout(0.5)
    # A child of `kiosk run` inherits its parent's WATCHDOG_PID: it must not ping on its behalf.
    for env in ({"NOTIFY_SOCKET": path}, {"WATCHDOG_USEC": "4000000"},
                {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)},
                {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "lots"}):
        dog = Watchdog(env)
        assert not dog.enabled
        assert dog.ping_if_due() is False
    with pytest.raises(TimeoutError):
        sock.recv(64)


def test_abstract_socket_name(tmp_path: Path) -> None:
    name = f"kiosk-test-{os.getpid()}-{id(tmp_path)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        dog = Watchdog({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
        assert dog.ping_if_due()
        assert sock.recv(64) == b"WATCHDOG=1"
        dog.close()


CHILD = """
import sys, threading, time
from kiosk.watchdog import Watchdog
dog = Watchdog()
busy = threading.Thread(target=lambda: time.sleep(3600), daemon=True)  # other threads live on
busy.start()
sys.stdin = open(sys.stdin.fileno(), 'rb', buffering=0)
import select
while True:  # the main loop: pings while it turns
    dog.ping_if_due()
    ready, _, _ = select.select([sys.stdin], [], [], 0.01)
    if ready and sys.stdin.read(1) == b'h':
        print('hung', flush=True)
        time.sleep(3600)  # the loop is stuck: nothing pings any more
"""


def test_a_hung_main_loop_stops_the_pings(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000", "PYTHONPATH": str(ROOT)}
    env.pop("WATCHDOG_PID", None)
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for _ in range(3):  # the turning loop pings again and again
            assert sock.recv(64) == b"WATCHDOG=1"
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(b"h")
        child.stdin.flush()
        assert child.stdout.readline() == b"hung\n"
        sock.settimeout(0.05)
        try:  # drain pings sent before the loop stuck
            while True:
                sock.recv(64)
        except TimeoutError:
            pass
        sock.settimeout(1.0)  # ten ping intervals: systemd would have killed it long before
        with pytest.raises(TimeoutError):
            sock.recv(64)
        assert child.poll() is None  # alive but silent: exactly what systemd's watchdog catches
    finally:
        child.kill()
        child.wait(10)


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


def test_serving_probe_pings_only_while_the_server_answers(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    assert gateway_alive(url, 5.0)
    dog = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    probe = ServingProbe(dog, lambda: gateway_alive(url, 1.0))
    probe.start()
    try:
        assert sock.recv(64) == b"WATCHDOG=1"
        assert sock.recv(64) == b"WATCHDOG=1"
        server.shutdown()
        server.server_close()
        serving.join(10)
        assert not gateway_alive(url, 1.0)
        deadline_checks = 0
        while probe.failures < 2 and deadline_checks < 500:  # wait for the probe to notice
            threading.Event().wait(0.02)
            deadline_checks += 1
        assert probe.failures >= 2
        sock.settimeout(0.05)
        try:
            while True:
                sock.recv(64)
        except TimeoutError:
            pass
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(64)
    finally:
        probe.stop()


def test_probe_does_nothing_when_the_watchdog_is_off() -> None:
    calls: list[int] = []
    probe = ServingProbe(Watchdog({}), lambda: bool(calls.append(1)))
    probe.start()
    probe.stop()
    assert calls == []
