"""A platform simulator and a gateway on real HTTP (waitress on 127.0.0.1), for the gateway tests."""

from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path
from typing import Any

import requests

from kiosk.settings import Settings, load_settings
from kiosk.validators import citizen_id_check_char
from local_api.client import GatewayClient
from local_api.server import Gateway, ServerHandle, build_gateway
from local_api.sim.app import create_platform_app
from local_api.sim.data import ItemInfo

SECRET = "test-secret-0123456789"
DOOR_SECRET_FILE = "kiosk-door.secret"  # what the gateway writes at start (local_api.web.door)
KIOSK_ID = "HC-TEST-001"
# This terminal's own maintenance PIN (975310): with the packaged sample one, real hardware cannot be assigned.
TERMINAL_PIN_HASH = "scrypt$16384$8$1$a2lvc2stdGVzdHMtcGluIQ==$JwWWks+o/shG0xcwBopb3AwMlACH1Stp9Iw95b5F2+w="
ITEMS = {i.code: i for i in (
    ItemInfo("rs-sbjfzm", "print", "人社", "社保参保缴费证明打印"),
    ItemInfo("rs-sydj", "apply", "人社", "失业登记"),
    ItemInfo("yb-zhye", "query", "医保", "医保个人账户余额查询"),
    ItemInfo("gjj-jcmx", "query", "公积金", "公积金缴存明细查询"),
    ItemInfo("mz-hydjyy", "appointment", "民政", "婚姻登记预约"),
    ItemInfo("rs-ylzgrz", "certification", "人社", "退休人员养老金资格认证"),
)}


def citizen_id(first17: str) -> str:
    """A valid resident ID number (GB 11643 check character) from its first 17 digits."""
    return first17 + citizen_id_check_char(first17)


def identities(n: int) -> list[dict[str, str]]:
    """``n`` distinct test identities with valid ID numbers and names."""
    surnames, given = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明"
    out = []
    for i in range(n):
        first17 = f"350205{1950 + i % 50:04d}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i % 900:03d}"
        out.append({"name": surnames[i % 16] + given[(i * 7) % 16] + given[(i * 3 + 1) % 16],
                    "id_number": citizen_id(first17), "address": f"厦门市海沧区测试路{i + 1}号"})
    return out


def make_settings(data_dir: Path, **env: str) -> Settings:
    return load_settings(environ={
        "KIOSK_KIOSK__ID": KIOSK_ID, "KIOSK_GATEWAY__DATA_DIR": str(data_dir),
        "KIOSK_GATEWAY__RETRY_MAX_S": "0.2", "KIOSK_PLATFORM__SECRET": SECRET,
        "KIOSK_PLATFORM__TIMEOUT_S": "2", "KIOSK_PLATFORM__PROXY_TIMEOUT_S": "2",
        "KIOSK_GATEWAY__BREAKER_RESET_S": "0.5", "KIOSK_MAINTENANCE__PIN_HASH": TERMINAL_PIN_HASH, **env})


def door_headers(data_dir: Path) -> dict[str, str]:
    """The kiosk door's secret as a request header, read from the file the gateway wrote at start
    (what ``GatewayClient`` sends); for tests that call the door with ``requests`` directly."""
    path = data_dir / DOOR_SECRET_FILE
    return {"X-Kiosk-Door": path.read_text().strip()} if path.exists() else {}


def door_request(data_dir: Path, method: str, url: str, path: str, timeout_s: float = 10,
                 **kw: Any) -> requests.Response:
    """One request to the kiosk door as the kiosk app makes it (``GatewayClient.send``: the secret, read
    again once after a gateway restart), on a fresh connection; ``requests`` errors as they come."""
    client = GatewayClient(url, timeout_s, door_secret_file=data_dir / DOOR_SECRET_FILE)
    try:
        return client.send(method, path, **kw)
    finally:
        client.close()


def wait_for(predicate: Any, timeout_s: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Rig:
    """A running simulator and gateway; ``env`` overrides settings (``KIOSK_…`` variables)."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.settings = make_settings(data_dir, **env)
        self.sim_app = create_platform_app(SECRET, seed=1, items=ITEMS)
        self.sim_state = self.sim_app.extensions["platform_sim"]
        self.sim = ServerHandle(self.sim_app, name="sim").start()
        self.sim_url = self.sim.url
        self.gateway: Gateway = build_gateway(self.settings, platform_base_url=self.sim_url, base_delay_s=0.02,
                                              idle_probe_s=0.1, item_codes=ITEMS)
        self.http = ServerHandle(self.gateway.app, name="gateway").start()
        self.url = self.http.url
        self.client = GatewayClient.for_settings(self.settings, self.url, timeout_s=10)

    @cached_property
    def first_token(self) -> str:
        """The first technician token, read once from ``first-token.txt``: the gateway deletes that file
        after the token's first use (issue 17), so every later use takes it from here."""
        return (self.data_dir / "first-token.txt").read_text().strip()

    @property
    def services(self) -> Any:
        return self.gateway.services

    def faults(self, **kw: object) -> None:
        assert requests.post(self.sim_url + "/admin/faults", json=kw, timeout=5).status_code == 200

    def held(self) -> dict[str, Any]:
        return requests.get(self.sim_url + "/admin/applications", timeout=5).json()

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        """GET as an operator (``token``) or, without one, as the kiosk app (the door secret)."""
        headers = {"Authorization": f"Bearer {token}"} if token else door_headers(self.data_dir)
        return requests.get(self.url + path, headers={**headers, **kw.pop("headers", {})}, timeout=10, **kw)

    def post(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        """POST as an operator (``token``) or, without one, as the kiosk app (the door secret)."""
        headers = {"Authorization": f"Bearer {token}"} if token else door_headers(self.data_dir)
        return requests.post(self.url + path, headers={**headers, **kw.pop("headers", {})}, timeout=10, **kw)

    def door(self, method: str, path: str, **kw: Any) -> requests.Response:
        """A request to the kiosk door as the kiosk app makes it (its secret), with ``requests``."""
        headers = {**door_headers(self.data_dir), **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def close(self) -> None:
        self.client.close()
        self.http.close()
        self.gateway.close()
        self.sim.close()
