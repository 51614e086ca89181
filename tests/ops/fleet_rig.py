"""A fleet on one machine: N real gateways (each `kiosk gateway` in its own process, data folder and port)
against one platform simulator (`kiosk platform-sim`), a real Prometheus and Alertmanager (Debian packages
``prometheus``, ``prometheus-alertmanager``) set up from the fleet inventory by the real ``kiosk fleet``
command, and a webhook receiver standing in for the notification gateway. The kiosk apps are played by
heartbeats over the kiosk door, as the app sends them.

Used by tests/ops/test_fleet.py (the proof of issue 22) and bench/bench_fleet.py (scrape cost and
Prometheus memory per terminal). Nothing here is mocked: processes, HTTP, SQLite, TSDB.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "kiosk-alerts.yml"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
SECRET = "fleet-test-secret-0123456789"
DISTRICTS = ("海沧区", "思明区")
CITIZEN = {"name": "测试", "id_number": "11010519491231002X"}

# The test copy of the rules: short `for:` so faults show in seconds. The fleet- and station-wide rules
# keep a shorter `for:` than the per-terminal ones they inhibit, as in the shipped file.
FOR_OVERRIDES = {"KioskFleetUnreachable": "2s", "KioskStationUnreachable": "4s", "KioskTerminalUnreachable": "7s",
                 "KioskPlatformUnreachableFleetWide": "2s", "KioskPlatformUnreachable": "9s"}
DEFAULT_FOR = "3s"


_GIVEN: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free port below the kernel's ephemeral range, not handed out before in this process. Ports are
    picked before the processes start; one from the ephemeral range could meanwhile be taken by a
    process binding port 0 (each gateway's submission door does) or by an outgoing connection."""
    high = min(_ephemeral_low(), 32768) - 1
    while True:
        port = random.randint(20000, high)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port


def tool(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS), 0 when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def device(state: str = "online", **detail: Any) -> dict[str, Any]:
    return {"name": "x", "state": state, "operations": 1, "errors": 0, "detail": detail, "last_error": None}


def healthy_devices() -> dict[str, dict[str, Any]]:
    """Every device a terminal can have: the card readers and all three cameras too."""
    return {"id_reader": device(), "printer": device(paper="ok"), "ssc_reader": device(), "camera": device(),
            "document_camera": device(), "qr_camera": device()}


@dataclass
class Terminal:
    id: str
    station: str
    district: str
    port: int
    data: Path
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    """Its first (technician) token: the test's operator."""
    devices: dict[str, dict[str, Any]] = field(default_factory=healthy_devices)
    beating: bool = True
    door: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Webhook:
    """Alertmanager's webhook receiver: every notification, with the receiver's path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with outer.lock:
                    outer.received.append({"path": self.path, "at": time.time(), **body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook").start()

    def notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FleetRig:
    """``n`` terminals at ``stations`` stations (ids ``S01-T1`` …), numbered station by station."""

    def __init__(self, root: Path, n: int = 50, per_station: int = 5, scrape_interval: str = "1s",
                 evaluation_interval: str = "1s") -> None:
        self.root = root
        self.scrape_interval, self.evaluation_interval = scrape_interval, evaluation_interval
        self.terminals: list[Terminal] = []
        for i in range(n):
            s = i // per_station
            self.terminals.append(Terminal(id=f"S{s + 1:02d}-T{i % per_station + 1}", station=f"第{s + 1}社区服务站",
                                           district=DISTRICTS[s % len(DISTRICTS)], port=free_port(),
                                           data=root / "terminals" / f"t{i:03d}"))
        self.platform: subprocess.Popen[bytes] | None = None
        self.platform_port = free_port()
        self.prometheus: subprocess.Popen[bytes] | None = None
        self.alertmanager: subprocess.Popen[bytes] | None = None
        self.prom_url = ""
        self.am_url = ""
        self.webhook: Webhook | None = None
        self._stop = threading.Event()
        self._beats: threading.Thread | None = None
        self.catalog_env: dict[str, str] = {}
        """Settings every gateway gets for signed catalog bundles (``catalog_rollout.gateway_env``)."""
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- processes -----------------------------------------------------------------------------

    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        env.update({"KIOSK_PLATFORM__SECRET": SECRET, "PYTHONPATH": str(ROOT), "KIOSK_LOGGING__LEVEL": "WARNING",
                    "PYGAME_HIDE_SUPPORT_PROMPT": "1"})
        env.update(extra)
        return env

    def _spawn(self, args: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                                start_new_session=True)

    def start_platform(self) -> None:
        self.platform = self._spawn([sys.executable, "-m", "kiosk", "platform-sim", "--port", str(self.platform_port)],
                                    "platform", self._env())
        self._wait_http(f"http://127.0.0.1:{self.platform_port}/", "the platform simulator", any_status=True)

    def stop_platform(self) -> None:
        if self.platform is not None:
            self.platform.kill()
            self.platform.wait(timeout=30)

    def terminal_env(self, t: Terminal) -> dict[str, str]:
        return self._env(**self.catalog_env, KIOSK_KIOSK__ID=t.id, KIOSK_KIOSK__PLACE=f"{t.district}{t.station}",
                         KIOSK_GATEWAY__DATA_DIR=str(t.data), KIOSK_GATEWAY__PORT=str(t.port),
                         KIOSK_GATEWAY__HOST="127.0.0.1", KIOSK_GATEWAY__MIN_FREE_MB="1",
                         KIOSK_PLATFORM__URL=f"http://127.0.0.1:{self.platform_port}", KIOSK_PLATFORM__TIMEOUT_S="5")

    def start_gateways(self, timeout_s: float = 300) -> None:
        """Start every gateway at once, wait until each answers /health, take its first token."""
        for t in self.terminals:
            t.data.mkdir(parents=True, exist_ok=True)
            t.process = self._spawn([sys.executable, "-m", "kiosk", "gateway"], t.id, self.terminal_env(t))
        deadline = time.monotonic() + timeout_s
        for t in self.terminals:
            self._wait_http(t.url + "/health", t.id, deadline=deadline, process=t.process)
            t.token = (t.data / "first-token.txt").read_text().strip()
            # lazy: the settings only once the gateway wrote its door secret
            from kiosk.settings import load_settings
            from local_api.client import GatewayClient

            settings = load_settings(environ=self.terminal_env(t))
            t.door = GatewayClient.for_settings(settings, t.url, timeout_s=5)

    def _wait_http(self, url: str, what: str, *, deadline: float | None = None, any_status: bool = False,
                   process: subprocess.Popen[bytes] | None = None) -> None:
        deadline = deadline or time.monotonic() + 60
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}: see {self.logs}")
            try:
                answer = requests.get(url, timeout=2)
                if any_status or answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{what} did not answer {url}")

    # -- the kiosk apps ------------------------------------------------------------------------

    def beat_once(self, t: Terminal) -> None:
        try:
            t.door.send("POST", "/api/v1/heartbeat", json={"screen": "home", "devices": t.devices}, timeout_s=3)
        except requests.RequestException:
            pass

    def start_heartbeats(self, every_s: float = 2.0) -> None:
        """The kiosk apps: every live terminal's heartbeat every ``every_s`` seconds."""
        def run() -> None:
            while not self._stop.is_set():
                for t in self.terminals:
                    if t.beating and t.process is not None and t.process.poll() is None:
                        self.beat_once(t)
                self._stop.wait(every_s)

        for t in self.terminals:
            self.beat_once(t)
        self._beats = threading.Thread(target=run, daemon=True, name="heartbeats")
        self._beats.start()

    def submit(self, t: Terminal) -> None:
        """A resident's application (the delivery tells the gateway whether the platform answers)."""
        answer = t.door.send("POST", "/api/v1/submissions", json={
            "kind": "application", "item_code": "rs-sydj", "applicant": CITIZEN, "form": {}})
        assert answer.status_code == 202, answer.text

    # -- monitoring ----------------------------------------------------------------------------

    def write_inventory(self) -> Path:
        path = self.root / "fleet.yml"
        data = {"fleet": "test-fleet", "terminals": [
            {"id": t.id, "station": t.station, "district": t.district, "address": "127.0.0.1", "port": t.port,
             "hardware": {"model": "ZZ-T800", "devices": list(healthy_devices())}} for t in self.terminals]}
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    def provision_tokens(self) -> Path:
        """An operator token per terminal for Prometheus, made through the gateway's API, in tokens/<id>.token."""
        return self.provision_tokens_for(self.terminals)

    def provision_tokens_for(self, terminals: list[Terminal]) -> Path:
        tokens = self.root / "prometheus" / "tokens"
        tokens.mkdir(parents=True, exist_ok=True)
        for t in terminals:
            made = requests.post(t.url + "/api/v1/tokens", headers=t.auth, timeout=10,
                                 json={"role": "operator", "label": "prometheus"})
            assert made.status_code == 201, made.text
            (tokens / f"{t.id}.token").write_text(made.json()["token"] + "\n")
        return tokens

    def kiosk(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, timeout=120,
                              cwd=self.root, env=self._env(), check=False)

    def test_rules(self) -> Path:
        """The shipped rules with short ``for:`` (FOR_OVERRIDES), everything else as shipped."""
        rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["for"] = FOR_OVERRIDES.get(rule["alert"], DEFAULT_FOR)
        path = self.root / "prometheus" / "kiosk-alerts.yml"
        path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def test_alertmanager_config(self, webhook: Webhook) -> Path:
        """The shipped routing with short waits, its receivers pointed at the webhook (``/<receiver>``)."""
        config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
        config["route"].update(group_wait="1s", group_interval="2s")
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = f"{webhook.url}/{receiver['name']}"
        path = self.root / "alertmanager" / "alertmanager.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def start_monitoring(self, *, with_alertmanager: bool = True) -> None:
        """Generate the Prometheus config with ``kiosk fleet targets``, then start Alertmanager and Prometheus."""
        prom, am = tool("prometheus"), tool("prometheus-alertmanager", "alertmanager")
        assert prom and (am or not with_alertmanager)
        inventory = self.write_inventory()
        tokens = self.provision_tokens()
        checked = self.kiosk("fleet", "check", "--inventory", str(inventory), "--tokens", str(tokens))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        am_port, prom_port = free_port(), free_port()
        out = self.root / "prometheus"
        generated = self.kiosk("fleet", "targets", "--inventory", str(inventory), "--out", str(out),
                               "--tokens", str(tokens), "--rules", str(self.test_rules()),
                               "--dashboard", str(ROOT / "deploy" / "grafana" / "kiosk-fleet.json"),
                               "--alertmanager", f"127.0.0.1:{am_port}", "--scrape-interval", self.scrape_interval,
                               "--evaluation-interval", self.evaluation_interval, "--scrape-timeout",
                               self.scrape_interval)
        assert generated.returncode == 0, generated.stdout + generated.stderr
        if with_alertmanager:
            assert am is not None
            self.webhook = Webhook()
            config = self.test_alertmanager_config(self.webhook)
            self.alertmanager = self._spawn([am, f"--config.file={config}", f"--storage.path={self.root / 'am-data'}",
                                             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                                            "alertmanager")
            self.am_url = f"http://127.0.0.1:{am_port}"
            self._wait_http(self.am_url + "/-/ready", "alertmanager", process=self.alertmanager)
        self.prometheus = self._spawn([prom, f"--config.file={out / 'prometheus.yml'}",
                                       f"--storage.tsdb.path={self.root / 'prom-data'}",
                                       f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=1s",
                                       "--storage.tsdb.retention.time=1h"], "prometheus")
        self.prom_url = f"http://127.0.0.1:{prom_port}"
        self._wait_http(self.prom_url + "/-/ready", "prometheus", process=self.prometheus)

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = requests.get(self.prom_url + "/api/v1/query", params={"query": expr}, timeout=10)
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def firing(self) -> list[dict[str, Any]]:
        """Alerts Prometheus holds as firing."""
        answer = requests.get(self.prom_url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        return [a for a in answer if a["state"] == "firing"]

    # -- faults --------------------------------------------------------------------------------

    def kill(self, t: Terminal) -> None:
        assert t.process is not None
        t.process.kill()
        t.process.wait(timeout=30)

    def freeze_all(self) -> None:
        """The VPN goes down: every gateway stops answering (SIGSTOP; connections hang, scrapes time out)."""
        for t in self.terminals:
            t.beating = False
        for t in self.terminals:
            if t.process is not None and t.process.poll() is None:
                os.kill(t.process.pid, signal.SIGSTOP)

    def memory(self) -> dict[str, int]:
        live = [t for t in self.terminals if t.process is not None and t.process.poll() is None]
        return {"gateways": sum(rss_bytes(t.process.pid) for t in live if t.process is not None),
                "gateway_count": len(live),
                "prometheus": rss_bytes(self.prometheus.pid) if self.prometheus else 0,
                "alertmanager": rss_bytes(self.alertmanager.pid) if self.alertmanager else 0}

    def close(self) -> None:
        self._stop.set()
        if self._beats is not None:
            self._beats.join(timeout=10)
        procs = [t.process for t in self.terminals if t.process is not None]
        procs += [p for p in (self.prometheus, self.alertmanager, self.platform) if p is not None]
        for p in procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.terminate()
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if self.webhook is not None:
            self.webhook.close()


def wait_for(what: str, check: Callable[[], Any], timeout_s: float, every_s: float = 0.5) -> Any:
    """``check()``'s first truthy answer; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what} (last: {last!r})")


def firing_alerts(notifications: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(notification, alert)`` for each firing alert of each firing notification."""
    for note in notifications:
        for alert in note.get("alerts", []):
            if alert.get("status") == "firing":
                yield note, alert
