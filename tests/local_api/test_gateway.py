"""The gateway end to end over real HTTP: kiosk client → gateway (waitress) → platform simulator."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
import requests
from gateway_rig import door_headers

from kiosk.settings import Settings, load_settings
from local_api.client import GatewayClient, GatewayRefused, GatewayUnavailable
from local_api.outbox.crypto import KEYS
from local_api.outbox.store import OutboxCorrupt
from local_api.server import Gateway, ServerHandle, build_gateway
from local_api.sim.app import create_platform_app

SECRET = "test-secret-0123456789"
NAME = "张三"
ID_NUMBER = "11010519491231002X"
APPLICANT = {"name": NAME, "id_number": ID_NUMBER, "address": "北京市朝阳区某某路1号"}
FORM = {"reason": "合同到期", "phone": "13912345678"}


def make_settings(data_dir: Path, **env: str) -> Settings:
    return load_settings(environ={
        "KIOSK_KIOSK__ID": "HC-TEST-001", "KIOSK_GATEWAY__DATA_DIR": str(data_dir),
        "KIOSK_GATEWAY__RETRY_MAX_S": "0.2", "KIOSK_PLATFORM__SECRET": SECRET,
        "KIOSK_PLATFORM__TIMEOUT_S": "1", **env})


class Rig:
    """A running simulator and gateway, with the handles to stop and restart either."""

    def __init__(self, data_dir: Path, sim_port: int = 0, suite: str = "intl") -> None:
        self.data_dir = data_dir
        self.suite = suite  # security.suite of both ends (the platform verifies the same one)
        self.sim_app = create_platform_app(SECRET, seed=1, suite=suite)
        self.sim: ServerHandle | None = ServerHandle(self.sim_app, port=sim_port, name="sim").start()
        self.sim_url = self.sim.url
        self.gateway: Gateway | None = None
        self.http: ServerHandle | None = None
        self.start_gateway()

    def start_gateway(self) -> None:
        self.gateway = build_gateway(make_settings(self.data_dir, KIOSK_SECURITY__SUITE=self.suite),
                                     platform_base_url=self.sim_url,
                                     base_delay_s=0.02, idle_probe_s=0.1, item_codes=None)
        self.http = ServerHandle(self.gateway.app, name="gateway").start()
        self.client = GatewayClient.for_settings(self.gateway.services.settings, self.http.url, timeout_s=5)

    def stop_gateway(self, *, abandon_in_flight: bool = False) -> None:
        assert self.gateway is not None and self.http is not None
        self.client.close()
        self.http.close()
        # abandon_in_flight: like kill -9, a request in flight is left to finish without us
        self.gateway.close(wait_s=0.05 if abandon_in_flight else None)
        self.gateway = self.http = None

    def stop_sim(self) -> None:
        assert self.sim is not None
        self.sim.close()
        self.sim = None

    def start_sim(self) -> None:
        port = int(self.sim_url.rsplit(":", 1)[1])
        self.sim = ServerHandle(self.sim_app, port=port, name="sim").start()  # same memory, same port

    def faults(self, **kw: object) -> None:
        assert requests.post(self.sim_url + "/admin/faults", json=kw, timeout=5).status_code == 200

    def applications(self) -> dict[str, dict]:
        listing = requests.get(self.sim_url + "/admin/applications", timeout=5).json()
        return {a["receipt_no"]: a for a in listing["applications"]}

    def post(self, path: str, **kw: object) -> requests.Response:
        assert self.http is not None
        headers = {**door_headers(self.data_dir), **kw.pop("headers", {})}  # type: ignore[dict-item]
        return requests.post(self.http.url + path, timeout=5, headers=headers, **kw)  # type: ignore[arg-type]

    def close(self) -> None:
        if self.gateway is not None:
            self.stop_gateway()
        if self.sim is not None:
            self.stop_sim()


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest):
    """Simulator and gateway in the suite ``request.param`` (``BOTH_SUITES``), else intl."""
    r = Rig(tmp_path / "data", suite=getattr(request, "param", "intl"))
    yield r
    r.close()


BOTH_SUITES = pytest.mark.parametrize("rig", ["intl", "sm"], indirect=True)


def wait_for(predicate, timeout_s: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@BOTH_SUITES
def test_submission_is_accepted_then_delivered_exactly_once(rig: Rig) -> None:
    answer = rig.client.submit("application", "rs-sydj", APPLICANT, FORM)
    assert answer["state"] == "queued"
    assert answer["receipt_no"].startswith("HC-TEST-001-")
    done = rig.client.wait_delivered(answer["receipt_no"], 5)
    assert done["state"] == "delivered" and done["platform_ref"].startswith("HCZW")
    assert done["attempts"] == 1 and done["delivered_at"] is not None
    assert NAME not in json.dumps(done, ensure_ascii=False)

    apps = rig.applications()
    assert apps[answer["receipt_no"]]["deliveries"] == 1 and len(apps) == 1
    held = rig.sim_app.extensions["platform_sim"].by_receipt(answer["receipt_no"]).body
    assert held["applicant"]["name"] == NAME and held["form"] == FORM  # decrypted for the platform only
    health = rig.client.health()
    assert health["status"] == "ok" and health["outbox"]["delivered"] == 1
    assert health["platform"]["reachable"] is True and health["kiosk_id"] == "HC-TEST-001"


@BOTH_SUITES
def test_personal_data_never_reaches_disk_in_clear(rig: Rig) -> None:
    rig.faults(status=503)  # keep the rows queued, personal data still inside
    for _ in range(3):
        rig.client.submit("application", "rs-sydj", APPLICANT, FORM)
    files = [p for p in rig.data_dir.iterdir() if p.name.startswith("outbox.db")]
    raw = b"".join(p.read_bytes() for p in files)
    assert len(raw) > 4096
    for secret in (NAME, ID_NUMBER, "朝阳区", "13912345678", "合同到期"):
        assert secret.encode() not in raw
    key_file = rig.data_dir / KEYS[rig.suite].file_name  # type: ignore[index]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_bytes()) == {"intl": 32, "sm": 16}[rig.suite]


@BOTH_SUITES
def test_platform_down_then_back_delivers_the_backlog_in_order(rig: Rig) -> None:
    rig.stop_sim()
    receipts = [rig.client.submit("application", f"item-{i}", APPLICANT, FORM)["receipt_no"]
                for i in range(3)]
    wait_for(lambda: rig.client.submission(receipts[0])["attempts"] >= 2, what="retries while down")
    assert all(rig.client.submission(r)["state"] in ("queued", "sending") for r in receipts)
    health = wait_for(lambda: (h := rig.client.health())["status"] == "degraded" and h, what="degraded")
    assert health["platform"]["reachable"] is False and "cannot connect" in health["platform"]["last_error"]

    doc = rig.post("/api/v1/documents", json={"item_code": "rs-sbjfzm", "applicant": APPLICANT})
    assert doc.status_code == 503
    assert doc.json()["error"] == "platform_unavailable" and doc.json()["reason"]

    rig.start_sim()
    for r in receipts:
        assert rig.client.wait_delivered(r, 5)["state"] == "delivered"
    apps = rig.applications()
    assert list(apps) == receipts  # drained in acceptance order
    assert all(a["deliveries"] == 1 for a in apps.values())
    wait_for(lambda: rig.client.health()["status"] == "ok", what="ok again")


def test_platform_503_still_accepts_then_delivers(rig: Rig) -> None:
    rig.faults(status=503)
    receipt = rig.client.submit("application", "rs-sydj", APPLICANT, FORM)["receipt_no"]
    state = wait_for(lambda: (s := rig.client.submission(receipt))["attempts"] >= 2 and s, what="retries")
    assert state["state"] in ("queued", "sending") and "503" in (state["last_error"] or "")
    rig.faults()
    assert rig.client.wait_delivered(receipt, 5)["state"] == "delivered"
    assert rig.applications()[receipt]["deliveries"] == 1


def test_retry_after_is_honoured(rig: Rig) -> None:
    sim_state = rig.sim_app.extensions["platform_sim"]
    rig.faults(status=429, retry_after_s=1)
    receipt = rig.client.submit("application", "rs-sydj", APPLICANT, FORM)["receipt_no"]
    posts = lambda: [t for t, m, p in list(sim_state.arrivals) if p == "/v1/applications"]
    wait_for(lambda: len(posts()) >= 1, what="first attempt")
    rig.faults()
    assert rig.client.wait_delivered(receipt, 5)["state"] == "delivered"
    times = posts()
    assert len(times) == 2  # without Retry-After the 20 ms backoff would have retried many times
    assert times[1] - times[0] >= 1.0


@BOTH_SUITES
def test_restart_mid_send_does_not_duplicate_at_the_platform(rig: Rig) -> None:
    sim_state = rig.sim_app.extensions["platform_sim"]
    rig.faults(latency_s=0.6)  # the platform is slow: the gateway dies while its request is in flight
    receipt = rig.client.submit("application", "rs-sydj", APPLICANT, FORM)["receipt_no"]
    wait_for(lambda: any(p == "/v1/applications" for _, _, p in list(sim_state.arrivals)), what="in flight")
    rig.stop_gateway(abandon_in_flight=True)
    rig.faults()
    time.sleep(0.8)  # the platform finishes serving the abandoned request
    assert rig.applications()[receipt]["deliveries"] == 1

    rig.start_gateway()  # finds the row in 'sending', queues it again, resends under the same key
    done = rig.client.wait_delivered(receipt, 5)
    assert done["state"] == "delivered" and done["attempts"] == 2
    apps = rig.applications()
    assert len(apps) == 1 and apps[receipt]["deliveries"] == 2  # delivered twice, held once
    assert done["platform_ref"] == apps[receipt]["platform_ref"]


@pytest.mark.parametrize("body, field", [
    ({"kind": "application", "item_code": "rs-sydj", "applicant": {"name": NAME}}, "applicant.id_number"),
    ({"kind": "application", "item_code": "rs-sydj",
      "applicant": {"name": NAME, "id_number": "110105194912310021"}},
     "applicant.id_number"),
    ({"kind": "teleport", "item_code": "rs-sydj", "applicant": APPLICANT}, "kind"),
    ({"item_code": "rs-sydj", "applicant": APPLICANT}, "kind"),
    ({"kind": "application", "item_code": "Bad Code!", "applicant": APPLICANT}, "item_code"),
    ({"kind": "application", "item_code": "rs-sydj", "applicant": APPLICANT, "extra": 1}, "extra"),
])
def test_invalid_submissions_name_the_field(rig: Rig, body: dict, field: str) -> None:
    answer = rig.post("/api/v1/submissions", json=body)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert "110105194912310021" not in answer.text  # an invalid ID is not echoed either
    assert rig.client.health()["outbox"]["queued"] == 0


def test_http_errors_are_json(rig: Rig) -> None:
    bad_json = rig.post("/api/v1/submissions", data=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["field"] == "body"
    assert rig.http is not None
    unknown = requests.get(rig.http.url + "/api/v1/submissions/HC-TEST-001-20200101-999999", timeout=5,
                           headers=door_headers(rig.data_dir))
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    nowhere = requests.get(rig.http.url + "/nowhere", timeout=5)
    assert nowhere.status_code == 404 and nowhere.headers["Content-Type"].startswith("application/json")
    wrong_method = requests.delete(rig.http.url + "/api/v1/submissions", timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
    huge = rig.post("/api/v1/submissions", data=b"x" * (12 * 1024 * 1024),
                    headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and "error" in huge.json()


def test_full_disk_answers_507_and_stores_nothing(rig: Rig) -> None:
    rig.faults(status=503)
    assert rig.gateway is not None
    outbox = rig.gateway.services.outbox
    rig.client.submit("application", "rs-sydj", APPLICANT, FORM)
    with outbox._lock:
        pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
        outbox._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(GatewayRefused) as info:
        rig.client.submit("application", "rs-sydj", APPLICANT, dict(FORM, photo="x" * 300_000))
    # The same answer as the free-space check gives: the disk is full, nothing was saved.
    assert info.value.status == 507 and info.value.error == "disk_full"
    assert "nothing was saved" in str(info.value)
    assert sum(rig.client.health()["outbox"].values()) == 1
    outbox.integrity_check()


def test_ratings_are_queued_and_delivered_once_per_transaction(rig: Rig) -> None:
    receipt = rig.client.submit("print_request", "rs-sbjfzm", APPLICANT, {})["receipt_no"]
    rated = rig.client.rate(receipt, 5, "等待时间太长")
    assert rated["state"] == "queued" and rated["rates"] == receipt
    assert rig.client.wait_delivered(rated["receipt_no"], 5)["state"] == "delivered"
    ratings = requests.get(rig.sim_url + "/admin/applications", timeout=5).json()["ratings"]
    assert len(ratings) == 1 and ratings[0]["level_gbt39046"] == 5 and ratings[0]["follow_up"] is True
    assert ratings[0]["transaction_key"] == receipt

    with pytest.raises(GatewayRefused) as again:
        rig.client.rate(receipt, 1)
    assert again.value.status == 409
    with pytest.raises(GatewayRefused) as unknown:
        rig.client.rate("HC-TEST-001-20200101-999999", 1)
    assert unknown.value.status == 404
    for body, field in [({"receipt_no": receipt, "level": "5", "direction": "gbt39046"}, "level"),
                        ({"receipt_no": receipt, "level": 6, "direction": "gbt39046"}, "level"),
                        ({"receipt_no": receipt, "level": 1}, "direction"),
                        ({"receipt_no": receipt, "level": 1, "direction": "reversed"}, "direction")]:
        answer = rig.post("/api/v1/ratings", json=body)
        assert answer.status_code == 400 and answer.json()["field"] == field


def test_documents_are_proxied(rig: Rig) -> None:
    doc = rig.client.fetch_document("rs-sbjfzm", APPLICANT)
    assert doc["title"] == "社会保险参保缴费证明" and len(doc["verification_code"]) == 8
    with pytest.raises(GatewayRefused) as info:
        rig.client.fetch_document("no-such-item", APPLICANT)
    assert info.value.status == 404


def test_corrupt_database_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "outbox.db").write_bytes(b"\x00garbage, not SQLite\x00" * 500)
    with pytest.raises(OutboxCorrupt) as info:
        build_gateway(make_settings(data), platform_base_url="http://127.0.0.1:9")
    assert str(data / "outbox.db") in str(info.value)


def test_client_reports_a_gateway_that_is_not_up() -> None:
    handle = ServerHandle(create_platform_app(SECRET))
    url = handle.url
    handle.close()
    with pytest.raises(GatewayUnavailable) as info:
        GatewayClient(url, timeout_s=1).health()
    assert "本机服务网关未响应" in str(info.value) and url in info.value.technician


def test_serve_gateway_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    sim = ServerHandle(create_platform_app(SECRET)).start()
    env = dict(os.environ, KIOSK_KIOSK__ID="HC-TEST-001", KIOSK_GATEWAY__DATA_DIR=str(tmp_path / "data"),
               KIOSK_GATEWAY__PORT="0", KIOSK_PLATFORM__SECRET=SECRET, KIOSK_PLATFORM__URL=sim.url)
    code = ("from kiosk.settings import load_settings; from local_api.server import serve_gateway;"
            "serve_gateway(load_settings(), ready=lambda url: print(url, flush=True))")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parents[2])
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = GatewayClient(url, door_secret_file=tmp_path / "data" / "kiosk-door.secret")
        receipt = client.submit("application", "rs-sydj", APPLICANT, FORM)["receipt_no"]
        assert client.wait_delivered(receipt, 5)["state"] == "delivered"
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=8) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        sim.close()
    with pytest.raises(GatewayUnavailable):
        GatewayClient(url, timeout_s=1).health()


def test_a_request_id_reused_with_another_body_is_refused_and_the_first_stands(rig: Rig) -> None:
    request_id = "2f9b8c1e-5d4a-4c3b-9e8f-7a6b5c4d3e2f"
    first = rig.client.submit("application", "rs-sydj", APPLICANT, FORM, request_id=request_id)
    again = rig.client.submit("application", "rs-sydj", APPLICANT, dict(FORM), request_id=request_id)
    assert again["receipt_no"] == first["receipt_no"] and again.get("duplicate") is True
    with pytest.raises(GatewayRefused) as info:  # another resident's data under the same id: never "done"
        rig.client.submit("application", "rs-sydj", {**APPLICANT, "name": "李四"}, FORM, request_id=request_id)
    assert info.value.status == 409 and info.value.error == "request_conflict" and info.value.field == "request_id"
    assert rig.client.wait_delivered(first["receipt_no"], 5)["state"] == "delivered"
    held = rig.applications()
    assert list(held) == [first["receipt_no"]] and held[first["receipt_no"]]["deliveries"] == 1
    body = rig.sim_app.extensions["platform_sim"].by_receipt(first["receipt_no"]).body
    assert body["applicant"]["name"] == NAME
