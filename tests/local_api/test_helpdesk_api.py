"""The remote help desk at the gateway (issue 21): the kiosk door's side and the helper's side, over
real HTTP; what the kiosk app and the staff member would each notice, and the audit."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
import requests
from gateway_rig import Rig, wait_for


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(tmp_path)
    yield r
    r.close()


def png(width: int = 108, height: int = 192) -> bytes:
    import pygame

    surface = pygame.Surface((width, height))
    surface.fill((20, 90, 160))
    buffer = io.BytesIO()
    pygame.image.save(surface, buffer, "frame.png")
    return buffer.getvalue()


def token(rig: Rig, role: str, label: str) -> str:
    answer = rig.post("/api/v1/tokens", rig.first_token, json={"role": role, "label": label})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def remote_request(rig: Rig) -> str:
    """As the kiosk app asks: the help request queued (its number), then opened at the desk."""
    queued = rig.post("/api/v1/help-requests", json={"need": "remote_desk", "group": "other", "item_code": None})
    assert queued.status_code == 202, queued.text
    number = str(queued.json()["receipt_no"])
    opened = rig.post("/api/v1/helpdesk/kiosk/requests", json={"request_no": number, "screen": "form",
                                                              "language": "en"})
    assert opened.status_code == 201, opened.text
    return number


def kiosk_events(rig: Rig, number: str, after: int = 0, wait: float = 0) -> list[dict]:
    answer = rig.get(f"/api/v1/helpdesk/kiosk/events?request_no={number}&after={after}&wait={wait}")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["events"])


def frame(rig: Rig, number: str, point: int = 0) -> requests.Response:
    return rig.post(f"/api/v1/helpdesk/kiosk/frame?request_no={number}&screen=form&point={point}", data=png(),
                    headers={"Content-Type": "image/png"})


def audit(rig: Rig) -> list[dict]:
    lines = (rig.data_dir / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_helper_accepts_sees_only_after_consent_points_messages_and_ends_all_audited(rig):
    helper = token(rig, "helper", "0427")
    number = remote_request(rig)
    queue = rig.get("/api/v1/helpdesk/requests", helper).json()["requests"]
    assert [(q["request_no"], q["state"], q["screen"]) for q in queue] == [(number, "open", "form")]

    # The kiosk waits for the desk (a long poll that returns as soon as the desk accepts).
    got: list[list[dict]] = []
    poll = threading.Thread(target=lambda: got.append(kiosk_events(rig, number, wait=10)))
    poll.start()
    assert rig.post(f"/api/v1/helpdesk/requests/{number}/accept", helper).status_code == 200
    poll.join(15)
    assert got and got[0][0]["kind"] == "accepted" and got[0][0]["staff"] == "0427"

    # No consent yet: nothing of the screen reaches the desk.
    assert frame(rig, number).status_code == 409
    assert rig.get(f"/api/v1/helpdesk/requests/{number}/frame.png", helper).status_code == 409
    assert rig.post("/api/v1/helpdesk/kiosk/replies", json={"request_no": number, "answer": "consent"}).status_code == 200
    assert frame(rig, number).status_code == 201
    seen = rig.get(f"/api/v1/helpdesk/requests/{number}/frame.png", helper)
    assert seen.status_code == 200 and seen.content.startswith(b"\x89PNG") and seen.headers["Cache-Control"] == "no-store"

    # Only the staff member who accepted may point; the point reaches the kiosk in design px.
    other = token(rig, "helper", "0999")
    assert rig.post(f"/api/v1/helpdesk/requests/{number}/point", other, json={"x": 0.5, "y": 0.5}).status_code == 403
    pointed = rig.post(f"/api/v1/helpdesk/requests/{number}/point", helper, json={"x": 0.5, "y": 0.5})
    assert pointed.status_code == 200 and pointed.json() == {"point": 1, "x": 540, "y": 960}
    events = kiosk_events(rig, number, after=1)
    assert [(e["kind"], e.get("x"), e.get("y"), e.get("point")) for e in events] == [("point", 540, 960, 1)]
    assert frame(rig, number, point=1).status_code == 201
    state = rig.get(f"/api/v1/helpdesk/requests/{number}", helper).json()
    assert state["drawn_point"] == 1 and len(state["point_ms"]) == 1

    assert rig.post(f"/api/v1/helpdesk/requests/{number}/message", helper,
                    json={"key": "desk_msg_next"}).status_code == 200
    assert rig.post(f"/api/v1/helpdesk/requests/{number}/message", helper, json={"text": ""}).status_code == 400
    assert rig.post(f"/api/v1/helpdesk/requests/{number}/end", helper).status_code == 200
    kinds = [e["kind"] for e in kiosk_events(rig, number, after=2)]
    assert kinds == ["message", "ended"]
    assert frame(rig, number).status_code == 409, "after the end nothing more is taken"

    actions = [(a["action"], a["outcome"], a.get("target")) for a in audit(rig) if a["action"].startswith("helpdesk")]
    assert actions == [("helpdesk_accept", "ok", number), ("helpdesk_resident_consent", "ok", number),
                       ("helpdesk_point", "not_yours", number), ("helpdesk_point", "ok", number),
                       ("helpdesk_message", "ok", number), ("helpdesk_message", "invalid_request", number),
                       ("helpdesk_end", "ok", number)]


def test_the_resident_may_decline_or_end_and_the_desk_is_told(rig):
    helper = token(rig, "helper", "0427")
    number = remote_request(rig)
    rig.post(f"/api/v1/helpdesk/requests/{number}/accept", helper)
    assert rig.post("/api/v1/helpdesk/kiosk/replies", json={"request_no": number, "answer": "decline"}).status_code == 200
    queue = rig.get("/api/v1/helpdesk/requests", helper).json()["requests"]
    assert queue[0]["state"] == "ended" and queue[0]["ended_by"] == "resident_declined"
    assert rig.post(f"/api/v1/helpdesk/requests/{number}/point", helper, json={"x": 0.1, "y": 0.1}).status_code == 409


def test_roles_a_helper_token_reaches_the_desk_only(rig):
    helper = token(rig, "helper", "0427")
    operator = token(rig, "operator", "值守")
    assert rig.get("/api/v1/helpdesk/requests", helper).status_code == 200
    assert rig.get("/api/v1/helpdesk/requests", operator).status_code == 200
    assert rig.get("/api/v1/outbox", helper).status_code == 403
    assert requests.get(rig.url + "/api/v1/helpdesk/requests", timeout=5).status_code == 401
    # The kiosk's side of the desk is the kiosk door's: no secret, no answer.
    assert requests.post(rig.url + "/api/v1/helpdesk/kiosk/requests", json={"request_no": "x"},
                         timeout=5).status_code == 401
    page = requests.get(rig.url + "/helpdesk", timeout=5)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_desk_stream_pushes_the_queue_as_server_sent_events(rig):
    helper = token(rig, "helper", "0427")
    with requests.get(rig.url + "/api/v1/helpdesk/stream", headers={"Authorization": f"Bearer {helper}",
                                                                    "Accept": "text/event-stream"},
                      stream=True, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines(decode_unicode=True)
        number = remote_request(rig)

        def announced() -> bool:
            for line in lines:
                if line.startswith("data:") and number in line:
                    return True
            return False

        assert wait_for(announced, 10, "the request on the desk's stream")


def test_a_call_back_reaches_the_platform_with_its_number_and_window(rig):
    queued = rig.post("/api/v1/help-requests", json={"need": "callback", "group": "other", "phone": "13912345678",
                                                     "window": "evening"})
    assert queued.status_code == 202, queued.text
    number = queued.json()["receipt_no"]

    def arrived() -> dict | None:
        held = requests.get(rig.sim_url + "/admin/received", timeout=5).json()["help_requests"]
        return next((h for h in held if h.get("receipt_no") == number), None)

    got = wait_for(arrived, 15, "the call-back at the platform")["body"]
    assert got["need"] == "callback" and got["phone"] == "13912345678" and got["window"] == "evening"
    bad = rig.post("/api/v1/help-requests", json={"need": "callback", "group": "other", "phone": "12345"})
    assert bad.status_code == 400


def help_metrics(rig: Rig) -> dict[str, float]:
    text = rig.get("/metrics", rig.first_token).text
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
            if line.startswith("kiosk_gateway_help_")}


def test_the_queue_is_in_the_metrics_so_a_fleets_helpers_see_every_terminals(rig):
    """A fleet's desk (deploy/prometheus: KioskHelpWaiting) sees each terminal's waiting residents."""
    assert help_metrics(rig)['kiosk_gateway_help_requests{state="open"}'] == 0
    assert help_metrics(rig)["kiosk_gateway_help_oldest_waiting_seconds"] == 0
    number = remote_request(rig)
    seen = help_metrics(rig)
    assert seen['kiosk_gateway_help_requests{state="open"}'] == 1
    assert seen["kiosk_gateway_help_oldest_waiting_seconds"] >= 0
    helper = token(rig, "helper", "0427")
    assert rig.post(f"/api/v1/helpdesk/requests/{number}/accept", helper).status_code == 200
    seen = help_metrics(rig)
    assert seen['kiosk_gateway_help_requests{state="open"}'] == 0
    assert seen['kiosk_gateway_help_requests{state="accepted"}'] == 1
    assert seen["kiosk_gateway_help_oldest_waiting_seconds"] == 0


def test_the_queue_names_the_item_the_resident_is_on(rig):
    helper = token(rig, "helper", "0427")
    opened = rig.post("/api/v1/helpdesk/kiosk/requests", json={"request_no": "HC-T-1", "item_code": "rs-sbjfzm",
                                                              "screen": "form", "language": "zh_CN"})
    assert opened.status_code == 201, opened.text
    [row] = rig.get("/api/v1/helpdesk/requests", helper).json()["requests"]
    assert (row["item_code"], row["item_name"]) == ("rs-sbjfzm", "社保参保缴费证明打印")
