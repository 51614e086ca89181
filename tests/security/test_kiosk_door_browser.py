"""Issue 17, in a real browser: a web page open on the terminal, served from another 127.0.0.1 port,
tries to drive the kiosk door — ``fetch`` in ``no-cors`` mode with a text/plain body (a "simple"
request, sent without a CORS preflight), a cross-origin JSON ``fetch`` (preflighted), and plain
HTML form posts (form-encoded and ``enctype=text/plain`` shaped into JSON). The old gateway took the
kiosk out of service and stored the forged submission; now the kiosk stays in service and nothing
is stored. Headless system Chromium (``/usr/bin/chromium``) driven by Playwright."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))

from browser_rig import Rig, chromium, identities

from local_api.server import ServerHandle

PERSON = identities(1)[0]
SUBMISSION = {"kind": "application", "item_code": "rs-sydj", "applicant": PERSON, "form": {"reason": "伪造"}}


def attacker_site(gateway: str) -> Flask:
    """Pages of an "evil" site on another port of this machine, each aiming at the gateway."""
    site = Flask("evil")
    service, submissions = gateway + "/api/v1/kiosk/service", gateway + "/api/v1/submissions"
    # enctype=text/plain sends "name=value": a name and value chosen so the body reads as JSON.
    json_name, json_value = '{"in_service":false,"message":"', '"}'
    pages = {
        "fetch": f"""<script>
            window.done = (async () => {{
              const send = (url, body) => fetch(url, {{method: "POST", mode: "no-cors", body,
                headers: {{"Content-Type": "text/plain"}}}}).then(() => "sent", e => "error " + e);
              const cors = fetch({json.dumps(service)}, {{method: "POST", body: '{{"in_service":false}}',
                headers: {{"Content-Type": "application/json"}}}}).then(r => "status " + r.status, e => "blocked");
              return [await send({json.dumps(service)}, '{{"in_service":false}}'),
                      await send({json.dumps(submissions)}, {json.dumps(json.dumps(SUBMISSION))}),
                      await send({json.dumps(gateway + "/api/v1/audit")}, '{{"action":"paper_replaced"}}'),
                      await cors];
            }})();
            </script>""",
        "form-plain": f"""<form id=f method=post enctype="text/plain" action="{service}">
            <input type=hidden name='{json_name}' value='{json_value}'></form>
            <script>document.getElementById("f").submit()</script>""",
        "form-urlencoded": f"""<form id=f method=post action="{submissions}">
            <input type=hidden name=kind value=application><input type=hidden name=item_code value=rs-sydj>
            </form><script>document.getElementById("f").submit()</script>""",
        "form-service": f"""<form id=f method=post action="{service}"><input type=hidden name=in_service value=false>
            </form><script>document.getElementById("f").submit()</script>""",
    }

    @site.get("/<name>")
    def page(name: str) -> Any:
        return pages[name], 200, {"Content-Type": "text/html; charset=utf-8"}

    return site


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Rig, str, Any]]:
    rig = Rig(tmp_path / "data")
    evil = ServerHandle(attacker_site(rig.url), name="evil").start()
    try:
        with chromium() as browser:
            yield rig, evil.url, browser
    finally:
        evil.close()
        rig.close()


def test_a_page_from_another_origin_cannot_drive_the_kiosk_door(setup: tuple[Rig, str, Any]) -> None:
    rig, evil, chromium = setup
    assert rig.url.split(":")[-1] != evil.split(":")[-1]  # two ports of 127.0.0.1: two origins
    context = chromium.new_context()
    tab = context.new_page()
    try:
        tab.goto(evil + "/fetch")
        outcomes = tab.evaluate("window.done")
        assert outcomes[:3] == ["sent", "sent", "sent"]  # the browser did send them (opaque answers)
        assert outcomes[3] == "blocked"  # no CORS grant: the preflighted request never went out
        shown = []
        for form in ("form-plain", "form-urlencoded", "form-service"):
            with tab.expect_navigation(url=lambda url: url.startswith(rig.url)):
                tab.goto(evil + "/" + form)
            shown.append(json.loads(tab.locator("body").inner_text()))
    finally:
        context.close()
    assert rig.services.service_switch.view()["in_service"] is True
    assert sum(rig.services.outbox.counts().values()) == 0
    assert not [e for e in rig.services.audit.recent() if e["actor"] == {"kind": "kiosk"}]
    assert [answer.get("error") for answer in shown] == ["origin_refused"] * 3, shown
    # The kiosk app itself still gets in.
    assert rig.client.set_service(False, "维修")["in_service"] is False
