"""The API behind the console pages over real HTTP (issue 10): the kiosk's screen picture, the
out-of-service switch and the heartbeat answer, technicians' device settings and the port list."""

from __future__ import annotations

import io
import os
import tomllib
from pathlib import Path

import pytest
import requests
from gateway_rig import Rig, door_headers

from local_api.ops.device_settings import LOCAL_SETTINGS_FILE_NAME
from local_api.web.console import BY_ID_DIR_KEY


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path / "data")
    yield r
    r.close()


def tech_token(rig: Rig) -> str:
    return (rig.data_dir / "first-token.txt").read_text().strip()


def png(width: int = 64, height: int = 48) -> bytes:
    import pygame

    surface = pygame.Surface((width, height))
    surface.fill((20, 90, 160))
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "frame.png")
    return buffer.getvalue()


def put_settings(rig: Rig, token: str, body: dict) -> requests.Response:
    return requests.put(rig.url + "/api/v1/devices/settings", json=body, timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def test_screen_picture_is_kept_in_memory_and_shown_to_operators_only(rig: Rig) -> None:
    tech = tech_token(rig)
    assert rig.get("/api/v1/screen.png", tech).status_code == 404  # nothing posted yet
    frame = png()
    posted = rig.post("/api/v1/screen", data=frame, headers={"Content-Type": "image/png"})
    assert posted.status_code == 201 and posted.json()["width"] == 64 and posted.json()["height"] == 48
    shown = rig.get("/api/v1/screen.png", tech)
    assert shown.status_code == 200 and shown.content == frame and shown.headers["Content-Type"] == "image/png"
    assert shown.headers["Cache-Control"] == "no-store"
    assert rig.get("/api/v1/screen.png").status_code == 401
    newer = png(32, 32)
    rig.post("/api/v1/screen", data=newer, headers={"Content-Type": "image/png"})
    assert rig.get("/api/v1/screen.png", tech).content == newer  # only the latest frame
    for name in os.listdir(rig.data_dir):  # never written to disk
        path = rig.data_dir / name
        assert not path.is_file() or b"\x89PNG" not in path.read_bytes(), name


def test_screen_post_refuses_what_is_not_a_small_png_from_this_machine(rig: Rig) -> None:
    url, door = rig.url + "/api/v1/screen", door_headers(rig.data_dir)
    assert requests.post(url, data=b"GIF89a....", headers={"Content-Type": "image/png", **door},
                         timeout=5).json()["error"] == "invalid_request"
    assert requests.post(url, data=png(), headers={"Content-Type": "image/jpeg", **door},
                         timeout=5).status_code == 415
    big = png() + b"\0" * (2 * 1024 * 1024)
    assert requests.post(url, data=big, headers={"Content-Type": "image/png", **door}, timeout=10).status_code == 413
    assert requests.post(url, data=png(), headers={"Content-Type": "image/png"}, timeout=5).status_code == 401
    remote = rig.gateway.app.test_client().post("/api/v1/screen", data=png(), content_type="image/png",
                                                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403
    assert rig.get("/api/v1/screen.png", tech_token(rig)).status_code == 404


def test_out_of_service_reaches_the_kiosk_app_and_survives_a_restart(rig: Rig, tmp_path: Path) -> None:
    tech = tech_token(rig)
    answer = rig.client.heartbeat("attract", {})
    assert answer["service"]["in_service"] is True and answer["service"]["message"] == ""
    assert answer["device_settings"]["revision"] is None and answer["commands"] == []
    off = rig.post("/api/v1/service", tech, json={"in_service": False, "message": "打印机维修中，请到3号窗口"})
    assert off.status_code == 200
    service = rig.client.heartbeat("attract", {})["service"]
    assert service["in_service"] is False and service["message"] == "打印机维修中，请到3号窗口"
    assert service["by"]["role"] == "technician" and service["since"]
    assert rig.post("/api/v1/service", tech, json={"in_service": "no"}).status_code == 400
    assert rig.get("/api/v1/service", tech).json()["in_service"] is False  # a bad request changed nothing
    rig.close()
    again = Rig(rig.data_dir)
    try:
        assert again.client.heartbeat("attract", {})["service"]["in_service"] is False
        empty = again.post("/api/v1/service", tech, json={"in_service": False})
        assert "out of service" in empty.json()["message"]  # a default message for residents
        assert again.post("/api/v1/service", tech, json={"in_service": True}).json()["in_service"] is True
    finally:
        again.close()
        rig.close = lambda: None  # type: ignore[method-assign]  # already closed


def test_device_settings_change_is_validated_saved_and_handed_to_the_kiosk(rig: Rig, tmp_path: Path) -> None:
    tech = tech_token(rig)
    local = rig.data_dir / LOCAL_SETTINGS_FILE_NAME
    master, slave = os.openpty()  # a real tty standing in for the reader's serial port
    try:
        port = os.ttyname(slave)
        changed = put_settings(rig, tech, {"id_reader": port, "paper_width_mm": 58})
        assert changed.status_code == 200, changed.text
        assert changed.json()["devices"]["id_reader"] == port and changed.json()["local"] == ["id_reader",
                                                                                              "paper_width_mm"]
        assert tomllib.loads(local.read_text())["devices"] == {"id_reader": port, "paper_width_mm": 58}
        handed = rig.client.heartbeat("attract", {})["device_settings"]
        assert handed["revision"] == changed.json()["revision"] and handed["devices"]["paper_width_mm"] == 58
        assert rig.get("/api/v1/devices/settings", tech).json()["settings"]["id_reader"] == port
        before = local.read_bytes()
        for body, field in (({"id_reader": "none"}, "id_reader"), ({"id_reader": ""}, "id_reader"),
                            ({"id_reader": "/dev/serial/by-id/usb-gone-if00"}, "id_reader"),
                            ({"paper_width_mm": 57}, "paper_width_mm"), ({"printer": "carrier-pigeon"}, "printer")):
            refused = put_settings(rig, tech, body)
            assert refused.status_code == 422 and refused.json()["field"] == field, body
            assert local.read_bytes() == before  # the last good settings stay
        assert "without an ID card reader" in put_settings(rig, tech, {"id_reader": "none"}).json()["message"]
        assert put_settings(rig, tech, {"colour": "red"}).status_code == 400
        assert put_settings(rig, tech, {}).status_code == 422
        reset = requests.delete(rig.url + "/api/v1/devices/settings", headers={"Authorization": f"Bearer {tech}"},
                                timeout=5)
        assert reset.status_code == 200 and reset.json()["revision"] is None and not local.exists()
        assert rig.client.heartbeat("attract", {})["device_settings"]["devices"]["id_reader"] == "sim://id-reader"
    finally:
        os.close(master)
        os.close(slave)


def test_ports_are_listed_by_stable_id_with_what_uses_them(rig: Rig, tmp_path: Path) -> None:
    tech = tech_token(rig)
    operator = rig.post("/api/v1/tokens", tech, json={"role": "operator"}).json()["token"]
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    master, slave = os.openpty()
    try:
        link = by_id / "usb-SYNJONES_SAM_Reader_0001-if00-port0"
        link.symlink_to(os.ttyname(slave))
        rig.gateway.app.config[BY_ID_DIR_KEY] = str(by_id)
        assert put_settings(rig, tech, {"id_reader": str(link)}).status_code == 200
        listing = rig.get("/api/v1/devices/ports", tech).json()
        mine = [p for p in listing["ports"] if p["stable_id"] == str(link)]
        assert len(mine) == 1 and mine[0]["assigned_to"] == ["id_reader"]
        assert listing["assigned"]["id_reader"] == str(link)
        assert rig.get("/api/v1/devices/ports", operator).status_code == 403
        assert put_settings(rig, operator, {"paper_width_mm": 58}).status_code == 403
    finally:
        os.close(master)
        os.close(slave)
