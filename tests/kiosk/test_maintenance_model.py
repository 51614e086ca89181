"""kiosk/terminal/maintenance.py: the corner gesture, PIN hashing and lock-out, pages and pending work.

The controller's device work runs on its own worker thread, so tests wait on conditions. The
device boundary (another engineer's DeviceControl) and the gateway are small test doubles with the
same methods; the app with the real ones is driven in tests/screens/test_maintenance_mode.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kiosk.settings import SAMPLE_PIN_HASH, load_settings, settings_warnings
from kiosk.terminal.device_control import ChangeOutcome, DeviceRow, TestOutcome
from kiosk.terminal.maintenance import (
    CornerGesture,
    Maintenance,
    MaintenanceConfig,
    hash_pin,
    pin_problem,
    verify_pin,
)
from local_api.client import GatewayRefused, GatewayUnavailable

PIN = "258036"
HASH = hash_pin(PIN)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Outcome, Change, Row = TestOutcome, ChangeOutcome, DeviceRow  # DeviceControl's own result types


class Control:
    """DeviceControl's methods, answering like simulated devices; ``gate`` holds a test back."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[tuple[Any, ...]] = []

    def rows(self) -> list[Row]:
        return [Row("id_reader", "sim://id-reader", "online", "", {"reads": 2}, ""),
                Row("printer", "sim://printer", "user_error", "", {"jobs_printed": 1}, "paper out")]

    def test(self, device: str, action: str) -> Outcome:
        self.calls.append(("test", device, action))
        assert self.gate.wait(20)
        return Outcome(device, action, True, "printed a test slip")

    def change(self, changes: dict[str, object], *, actor: str = "maintenance") -> Change:
        self.calls.append(("change", changes))
        return Change(False, "没有身份证读卡器无法服务：保留原设置。No reader: kept the last good settings.")

    def paper_replaced(self) -> str:
        return "纸已装好，打印机就绪"

    def ports(self) -> list[dict]:
        link = "/dev/serial/by-id/usb-SAM-if00"
        return [{"device": "/dev/ttyUSB0", "stable_path": link, "manufacturer": "Acme", "product": "SAM reader",
                 "usb_id": "1a86:7523", "stable_id": link}]

    def probe(self, port: str) -> dict:
        self.calls.append(("probe", port))
        return {"port": port, "found": None, "baud": None, "detail": "the port vanished during the probe"}


class Gateway:
    """The gateway client's audit and set_service; ``down`` makes it unreachable."""

    def __init__(self) -> None:
        self.down = False
        self.records: list[dict[str, Any]] = []
        self.service: list[tuple[bool, str]] = []

    def audit(self, action: str, outcome: str = "ok", target: str | None = None, detail: str = "") -> dict:
        if self.down:
            raise GatewayUnavailable("test: gateway down")
        self.records.append({"action": action, "outcome": outcome, "target": target, "detail": detail})
        return {"seq": len(self.records)}

    def set_service(self, in_service: bool, message: str = "") -> dict:
        if self.down:
            raise GatewayRefused(503, {"error": "not_saved", "message": "disk full"})
        self.service.append((in_service, message))
        return {"in_service": in_service, "message": message}


@pytest.fixture
def rig():
    clock, control, gateway = FakeClock(), Control(), Gateway()
    switched: list[tuple[bool, str]] = []
    m = Maintenance(MaintenanceConfig(HASH, max_attempts=5, lockout_s=300, idle_exit_s=120),
                    control=lambda: control, gateway=gateway, clock=clock, on_service=lambda on, msg: switched.append((on, msg)))
    yield m, clock, control, gateway, switched
    control.gate.set()
    m.close()


def until(m: Maintenance, predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    m.poll()
    while not predicate():
        assert time.monotonic() < deadline, f"not reached; view: {m.view()}"
        time.sleep(0.005)
        m.poll()


def enter(m: Maintenance, pin: str) -> None:
    for digit in pin:
        m.tap(f"pin:{digit}")
    m.tap("pin:ok")
    until(m, lambda: not m.busy())


# -- PIN hashing ---------------------------------------------------------------------------------

def test_pin_hash_is_salted_and_verifies_only_the_right_pin():
    assert HASH.startswith("scrypt$") and PIN not in HASH
    assert hash_pin(PIN) != HASH  # a fresh salt each time
    assert verify_pin(PIN, HASH) and not verify_pin("258037", HASH)
    assert not verify_pin(PIN, "scrypt$1$1$1$!!$!!") and not verify_pin(PIN, "plain")
    assert verify_pin("246810", SAMPLE_PIN_HASH)  # the README's sample PIN for simulated devices


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "1111", "1234", "98765"])
def test_weak_or_malformed_pins_are_refused(pin):
    assert pin_problem(pin)
    with pytest.raises(ValueError):
        hash_pin(pin)


def test_sample_pin_with_real_devices_is_a_warning_naming_where_the_device_was_set(tmp_path):
    # The deployment check (kiosk run / app / config check) starts such a terminal and says so;
    # simulated devices may keep the sample.
    assert not settings_warnings(load_settings(environ={}, check_devices=True))
    real = {"KIOSK_DEVICES__PRINTER": "tcp://192.0.2.10:9100"}
    warned = settings_warnings(load_settings(environ=real, check_devices=True))
    assert [p.key for p in warned] == ["maintenance.pin_hash"]
    assert warned[0].source == "environment KIOSK_DEVICES__PRINTER" and "pin-hash" in warned[0].message
    # A technician's earlier assignment in kiosk.local.toml is blamed, not the packaged defaults.
    data = tmp_path / "data"
    data.mkdir()
    (data / "kiosk.local.toml").write_text('[devices]\nprinter = "tcp://192.0.2.10:9100"\n', encoding="utf-8")
    warned = settings_warnings(load_settings(environ={"KIOSK_GATEWAY__DATA_DIR": str(data)}, check_devices=True))
    assert warned[0].source == str(data / "kiosk.local.toml") and "packaged" not in warned[0].source
    assert "/etc/kiosk/kiosk.toml" in warned[0].message  # where the PIN goes
    own = load_settings(environ={**real, "KIOSK_MAINTENANCE__PIN_HASH": HASH}, check_devices=True)
    assert own.maintenance.pin_hash == HASH and not settings_warnings(own)


# -- the gesture ---------------------------------------------------------------------------------

def test_gesture_needs_the_hold_then_the_other_corner_in_time():
    g = CornerGesture(1080, 160)
    g.press((10, 10), 0.0)
    assert g.release((12, 12), 1.0) == "pass"  # too short: an ordinary touch
    g.press((1070, 10), 2.0)
    assert g.release((1070, 10), 2.1) == "pass"  # the other corner alone does nothing
    g.press((10, 10), 3.0)
    assert g.release((10, 10), 6.1) == "consumed"
    g.press((1070, 10), 7.0)
    assert g.release((1070, 10), 7.1) == "open"
    g.press((10, 10), 10.0)
    assert g.release((10, 10), 13.5) == "consumed"
    g.press((1070, 10), 19.0)
    assert g.release((1070, 10), 19.1) == "pass"  # too late
    g.press((10, 10), 20.0)
    assert g.release((10, 10), 23.5) == "consumed"
    g.press((540, 900), 24.0)
    assert g.release((540, 900), 24.1) == "pass"  # a touch elsewhere disarms
    g.press((1070, 10), 24.5)
    assert g.release((1070, 10), 24.6) == "pass"
    g.press((10, 10), 30.0)
    assert g.release((10, 400), 34.0) == "pass"  # slid out of the corner


# -- PIN and lock-out ----------------------------------------------------------------------------

def test_five_wrong_pins_lock_with_a_countdown_and_every_attempt_is_audited(rig):
    m, clock, _control, gateway, _ = rig
    m.open()
    for attempt in range(1, 5):
        enter(m, "135790")
        assert m.view()["message"].startswith("密码不正确") and f"{5 - attempt} 次" in m.view()["message"]
    enter(m, "135790")
    assert m.page == "locked" and m.view()["locked_left_s"] == 300
    until(m, lambda: len(gateway.records) == 6)
    assert [r["action"] for r in gateway.records] == ["maintenance_login_failed"] * 5 + ["maintenance_locked"]
    assert all(PIN not in r["detail"] and "135790" not in r["detail"] for r in gateway.records)
    m.tap("pin:1")  # the keypad is not there while locked
    assert m.view()["pin_length"] == 0
    m.exit()
    m.open()
    assert m.page == "locked", "closing and opening again does not lift the lock"
    clock.now += 299
    m.poll()
    assert not m.is_open  # nobody touched the countdown for idle_exit_s: back to the residents
    m.open()
    assert m.page == "locked" and m.view()["locked_left_s"] == 1
    clock.now += 1
    m.poll()
    assert m.page == "pin"
    enter(m, PIN)
    assert m.page == "devices"


def test_the_view_never_holds_pin_digits(rig):
    m, *_ = rig
    m.open()
    for digit in "2580":
        m.tap(f"pin:{digit}")
    m.tap("pin:del")
    view = m.view()
    assert view["pin_length"] == 3 and "258" not in repr(view)
    m.tap("pin:ok")
    assert "4" in m.view()["message"] and m.page == "pin"  # too short: said, not counted
    assert m.failures == 0


def test_login_works_while_the_gateway_is_down_and_the_records_follow_in_order(rig):
    m, clock, _control, gateway, _ = rig
    gateway.down = True
    m.open()
    enter(m, "135790")
    enter(m, PIN)
    assert m.page == "devices"
    until(m, lambda: m.view()["audit_pending"] == 2 and m._retry_at > clock.now)
    assert gateway.records == []
    gateway.down = False
    m.poll()
    assert gateway.records == []  # not before the retry time
    clock.now += 10
    until(m, lambda: len(gateway.records) == 2)
    m.exit()
    until(m, lambda: len(gateway.records) == 3)
    assert [r["action"] for r in gateway.records] == ["maintenance_login_failed", "maintenance_login",
                                                      "maintenance_exit"]


def test_records_still_undelivered_at_close_are_logged_not_dropped(rig, caplog):
    m, _clock, _control, gateway, _ = rig
    gateway.down = True
    m.open()
    enter(m, "135790")
    m.close()
    assert "maintenance_login_failed" in caplog.text and "not delivered" in caplog.text
    assert not [t for t in threading.enumerate() if t.name.startswith("maintenance")]


# -- pages and work off the UI thread ------------------------------------------------------------

def logged_in(m: Maintenance) -> None:
    m.open()
    enter(m, PIN)
    assert m.page == "devices"


def test_device_test_runs_off_the_ui_thread_and_one_thing_at_a_time(rig):
    m, _clock, control, gateway, _ = rig
    logged_in(m)
    until(m, lambda: len(m.view()["rows"]) == 2)
    assert m.view()["rows"][1]["last_error"] == "paper out"
    control.gate.clear()
    m.tap("test:printer:test_print")  # returns at once: the work waits behind the gate
    assert m.view()["busy"] == "test"
    m.tap("test:id_reader:test_read")  # ignored while busy
    m.tap("page:paper")  # moving between pages still works
    assert m.page == "paper" and m.view()["busy"] == "test"
    control.gate.set()
    until(m, lambda: not m.busy())
    assert control.calls == [("test", "printer", "test_print")]
    assert m.view()["message_ok"] and "printed a test slip" in m.view()["message"]
    until(m, lambda: any(r["action"] == "device_test" for r in gateway.records))


def test_a_refused_assignment_and_a_vanished_port_say_so_in_plain_words(rig):
    m, _clock, control, gateway, _ = rig
    logged_in(m)
    m.tap("page:ports")
    m.tap("ports:scan")
    until(m, lambda: not m.busy())
    port = m.view()["ports"][0]
    assert (port["id"], port["vendor"], port["model"]) == \
        ("/dev/serial/by-id/usb-SAM-if00", "Acme", "SAM reader")
    m.tap("probe:0")
    until(m, lambda: not m.busy())
    assert m.view()["probe"]["found"] is None and "vanished" in m.view()["message"]
    assert not m.view()["message_ok"]
    m.tap("assign:id_reader:0")  # nothing found there: nothing to assign
    assert not m.busy() and not [c for c in control.calls if c[0] == "change"]
    m.probe_result = {"index": 0, "port": "/dev/ttyUSB0", "found": "printer", "baud": 9600, "detail": "",
                      "endpoint": "/dev/ttyUSB0"}
    m.tap("assign:printer:0")
    until(m, lambda: not m.busy())
    assert ("change", {"printer": "/dev/ttyUSB0"}) in control.calls
    assert "保留原设置" in m.view()["message"] and not m.view()["message_ok"]
    until(m, lambda: any(r["action"] == "settings_changed" and r["outcome"] == "refused"
                         for r in gateway.records))


def test_service_switch_with_a_preset_message_and_a_gateway_that_cannot_save(rig):
    m, _clock, _control, gateway, switched = rig
    logged_in(m)
    m.tap("page:service")
    m.tap("svc:msg:2")
    m.tap("svc:off")
    until(m, lambda: not m.busy())
    chosen = m.view()["service_messages"][2]
    assert gateway.service == [(False, chosen)] and switched == [(False, chosen)]
    gateway.down = True
    m.tap("svc:on")
    until(m, lambda: not m.busy())
    assert not m.view()["message_ok"] and "disk full" in m.view()["message"]
    assert switched == [(False, chosen)]  # nothing changed on screen


def test_idle_exit_forgets_the_pages_and_is_audited(rig):
    m, clock, _control, gateway, _ = rig
    logged_in(m)
    m.tap("paper:replaced")  # not on this page: ignored harmlessly
    m.tap("page:paper")
    m.tap("paper:replaced")
    until(m, lambda: not m.busy())
    assert m.view()["message"] == "纸已装好，打印机就绪"
    m.preview = (2, 2, b"\0" * 12)
    clock.now += 121
    m.poll()
    assert not m.is_open and m.preview is None
    until(m, lambda: any(r["action"] == "maintenance_exit" and r["outcome"] == "idle"
                         for r in gateway.records))
