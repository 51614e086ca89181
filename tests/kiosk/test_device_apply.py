"""A technician at the gateway, the kiosk app on the other side of the heartbeat: device settings
changed in the browser API reach the running app without a restart, and queued device tests come
back with outcomes a technician can read. Real HTTP, simulated devices, virtual printers."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devices.id_card.identity import sample_cards
from devices.printer.simulator import VirtualPrinter
from kiosk import flow
from kiosk.privacy import mask_id_number, mask_name
from kiosk.settings import load_settings
from kiosk.terminal.maintenance import hash_pin
from screens.app import KioskApp

GUIDE = {"item_name": "失业登记", "summary": "带身份证到窗口", "materials": ["身份证"], "days": 0, "fee": "0"}


def with_own_pin(settings):
    """This terminal's own maintenance PIN: with the packaged sample one, real printers are refused."""
    own = settings.maintenance.model_copy(update={"pin_hash": hash_pin("975310")})
    return settings.model_copy(update={"maintenance": own})


@pytest.fixture
def kiosk(kiosk_stack):
    stack = kiosk_stack(adjust=with_own_pin)
    return stack.app, stack.url, stack.auth


def step_until(app: KioskApp, predicate, timeout_s: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        app.step()
        time.sleep(0.02)


def put_settings(url: str, auth: dict, **changes) -> dict:
    answer = requests.put(f"{url}/api/v1/devices/settings", json=changes, headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def run_test(app: KioskApp, url: str, auth: dict, device: str, action: str) -> dict:
    """Queue a device test at the gateway and wait, heartbeat by heartbeat, for its outcome."""
    step_until(app, lambda: requests.get(f"{url}/api/v1/devices/settings", headers=auth,
                                         timeout=10).json()["status"].get(device), what=f"{device} reported")
    queued = requests.post(f"{url}/api/v1/devices/{device}/tests", json={"action": action}, headers=auth, timeout=10)
    assert queued.status_code == 202, queued.text
    command_id = queued.json()["command_id"]

    def done() -> dict | None:
        found = requests.get(f"{url}/api/v1/devices/tests/{command_id}", headers=auth, timeout=10).json()
        return found if found["state"] == "done" else None

    return step_until(app, done, what=f"{device} {action} finished")


def print_receipt(app: KioskApp, job_id: str) -> None:
    """What the flow asks for when a resident reaches the printing step."""
    app.terminal.runner.run(flow.PrintReceipt(job_id, GUIDE, "guide"))


def test_printer_changed_in_the_browser_api_prints_without_a_restart(kiosk):
    app, url, auth = kiosk
    hardware, old_sim = app.terminal.hardware, app.terminal.hardware.printer.simulator
    with VirtualPrinter() as new:
        view = put_settings(url, auth, printer=new.uri)
        assert view["devices"]["printer"] == new.uri
        step_until(app, lambda: app.terminal.hardware.printer.endpoint.uri == new.uri, what="printer reopened")
        assert app.terminal.hardware is hardware  # holders of the terminal's hardware stay valid
        print_receipt(app, "job-after-change")
        slip = new.wait_for_job(timeout=15)
        assert "办事指南".encode("gb18030") in slip
        assert old_sim is None or not old_sim.jobs()  # nothing went to the old printer
        result = run_test(app, url, auth, "printer", "test_print")
        assert result["ok"] is True and "test slip printed" in result["detail"]
        assert len(new.wait_for_job(timeout=15, count=2)) > 0


def test_a_printer_address_that_cannot_be_opened_keeps_the_last_good_settings(kiosk):
    app, url, auth = kiosk
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    old = app.terminal.hardware.printer
    put_settings(url, auth, printer=dead)

    def back_to_last_good() -> bool:
        shown = requests.get(f"{url}/api/v1/devices/settings", headers=auth, timeout=10).json()
        return app.terminal.device_control.last_problem != "" and shown["settings"]["printer"] == "sim://printer"

    step_until(app, back_to_last_good, what="the gateway shows the last good settings again")
    assert "kept the last good settings" in app.terminal.device_control.last_problem
    assert app.terminal.hardware.printer is old
    # the technician can read what happened in the audit (recorded just after the settings file is put back)
    def kept() -> list[dict]:
        audit = requests.get(f"{url}/api/v1/events?source=audit", headers=auth, timeout=10).json()["events"]
        return [e for e in audit if e.get("outcome") == "kept_last_good"]

    step_until(app, lambda: bool(kept()), what="the audit record of the kept settings")
    assert "kept the last good settings" in kept()[-1].get("detail", "")
    print_receipt(app, "job-still-printing")
    assert "办事指南".encode("gb18030") in old.simulator.wait_for_job(timeout=15)
    assert app.flow.view().screen  # the app is still running its loop


def test_queued_test_read_and_self_test_come_back_readable_and_masked(kiosk):
    app, url, auth = kiosk
    card = sample_cards()[1]
    app.terminal.hardware.id_simulator.insert(card)
    read = run_test(app, url, auth, "id_reader", "test_read")
    assert read["ok"] is True, read
    assert mask_name(card.name) in read["detail"] and mask_id_number(card.id_number) in read["detail"]
    assert card.name not in read["detail"] and card.id_number not in read["detail"]
    status = run_test(app, url, auth, "printer", "self_test")
    assert status["ok"] is True and "printer ready" in status["detail"]


# -- the sample PIN: refused at the moment of change, not at the next boot -----------------------

def metric(url: str, auth: dict, name: str) -> float | None:
    text = requests.get(f"{url}/metrics", headers=auth, timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


def test_technician_page_refuses_real_hardware_while_the_pin_is_the_sample_one(kiosk_stack):
    stack = kiosk_stack()  # the packaged sample PIN, simulated devices (a demo terminal)
    app, url, auth = stack.app, stack.url, stack.auth
    local = stack.data_dir / "kiosk.local.toml"
    with VirtualPrinter() as real:
        answer = requests.put(f"{url}/api/v1/devices/settings", json={"printer": real.uri}, headers=auth, timeout=10)
        assert answer.status_code == 422, answer.text
        said = answer.json()
        assert said["field"] == "printer"
        message = str(said)
        assert "sample" in message and "kiosk maintenance pin-hash" in message and "[maintenance]" in message
        assert "/etc/kiosk/kiosk.toml" in message and "nothing was changed" in message
        assert not local.exists()  # nothing saved: the next boot is the same as this one
    shown = requests.get(f"{url}/api/v1/devices/settings", headers=auth, timeout=10).json()
    assert shown["settings"]["printer"] == "sim://printer" and shown["warnings"] == []
    assert metric(url, auth, "kiosk_gateway_sample_pin_with_real_devices") == 0
    # Simulated devices may still be chosen with the sample PIN.
    assert requests.put(f"{url}/api/v1/devices/settings", json={"paper_width_mm": 58}, headers=auth,
                        timeout=10).status_code == 200
    assert app.terminal.hardware.printer.endpoint.uri == "sim://printer"


def test_a_terminal_already_in_that_state_runs_and_warns_technicians_and_the_fleet(kiosk_stack, tmp_path):
    """kiosk.local.toml edited by hand to a real printer, with the sample PIN: the terminal runs (it used to
    exit 2 at boot, blaming the packaged defaults), and says so where technicians and the fleet look."""
    with VirtualPrinter() as real:
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        (data / "kiosk.local.toml").write_text(f'[devices]\nprinter = "{real.uri}"\n', encoding="utf-8")

        def edited_by_hand(settings):
            return settings.model_copy(update={"devices": load_settings(
                environ={"KIOSK_GATEWAY__DATA_DIR": str(data)}).devices.model_copy(
                update={"id_reader": "sim://id-reader", "ssc_reader": "none"})})

        stack = kiosk_stack(adjust=edited_by_hand)
        app, url, auth = stack.app, stack.url, stack.auth
        assert app.terminal.hardware.printer.endpoint.uri == real.uri
        shown = requests.get(f"{url}/api/v1/devices/settings", headers=auth, timeout=10).json()
        assert shown["warnings"] and "kiosk maintenance pin-hash" in shown["warnings"][0]
        assert metric(url, auth, "kiosk_gateway_sample_pin_with_real_devices") == 1
        warnings = app.terminal.device_control.warnings()
        assert warnings and "sample" in warnings[0]
        assert app.view().screen == "attract"  # residents see nothing of it
        # Going back to the simulated printer is allowed, and clears the alert.
        assert requests.put(f"{url}/api/v1/devices/settings", json={"printer": "sim://printer"}, headers=auth,
                            timeout=10).status_code == 200
        assert metric(url, auth, "kiosk_gateway_sample_pin_with_real_devices") == 0
