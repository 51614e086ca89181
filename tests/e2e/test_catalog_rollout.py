"""A staged catalog rollout over ten real gateways against one platform simulator (issue 22): a list of
terminals first, then all, then a percentage; a bundle with a bad signature is refused by the first
terminal that fetches it, which rolls the plan back for every terminal. What the operators see
(``/api/v1/status`` catalog_version, ``kiosk_catalog_info``) is asserted on every terminal; then a kiosk
app on a gateway shows the new catalog to residents from the next attract screen, without a restart."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from catalog_rollout import (
    RENAMED_ITEM,
    gateway_env,
    make_bundle,
    plan,
    plan_state,
    publish,
    renamed_name,
    wait_versions,
)
from gateway_rig import SECRET, make_settings

from kiosk.crypto import SigningKey
from kiosk.flow import Tapped
from local_api.server import ServerHandle, build_gateway
from local_api.sim.app import create_platform_app
from local_api.sim.catalog_bundles import RolloutPlan

TERMINALS = 10
KEY = SigningKey.generate("intl")


@pytest.fixture
def fleet(tmp_path: Path):
    sim = ServerHandle(create_platform_app(SECRET, seed=1), name="sim").start()
    gateways, servers, tokens = [], [], []
    try:
        for n in range(TERMINALS):
            data = tmp_path / f"t{n}"
            settings = make_settings(data, KIOSK_KIOSK__ID=f"HC-ROLL-{n:03d}", **gateway_env(KEY))
            gateway = build_gateway(settings, platform_base_url=sim.url, item_codes=None, idle_probe_s=None)
            gateways.append(gateway)
            servers.append(ServerHandle(gateway.app, name=f"gateway-{n}").start())
            tokens.append((data / "first-token.txt").read_text().strip())
        yield sim.url, [s.url for s in servers], tokens, [g.services.settings.kiosk.id for g in gateways]
    finally:
        for server in servers:
            server.close()
        for gateway in gateways:
            gateway.close()
        sim.close()


def test_staged_rollout_and_automatic_rollback_over_ten_gateways(fleet) -> None:
    sim_url, urls, tokens, ids = fleet
    wait_versions(urls, tokens, ["packaged"] * TERMINALS)

    # 1. a list of terminals
    publish(sim_url, "2026.12.1", make_bundle("2026.12.1", KEY))
    plan(sim_url, "2026.12.1", kiosks=ids[:3])
    wait_versions(urls, tokens, ["2026.12.1"] * 3 + ["packaged"] * (TERMINALS - 3))
    # 2. everyone
    plan(sim_url, "2026.12.1")
    wait_versions(urls, tokens, ["2026.12.1"] * TERMINALS)
    # 3. a percentage: the simulator's own choice, stable per terminal
    publish(sim_url, "2026.12.2", make_bundle("2026.12.2", KEY))
    answer = plan(sim_url, "2026.12.2", percent=50, previous="2026.12.1")
    chosen = RolloutPlan("2026.12.2", percent=50, plan_id=answer["plan_id"])
    want = ["2026.12.2" if chosen.targets(i) else "2026.12.1" for i in ids]
    assert 0 < want.count("2026.12.2") < TERMINALS, "pick another plan: this one chose all or none"
    wait_versions(urls, tokens, want)
    metrics = requests.get(urls[0] + "/metrics", headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=10)
    assert f'kiosk_catalog_info{{version="{want[0]}"}} 1.0' in metrics.text

    # 4. a bundle with a bad signature to everyone: refused, reported, the plan rolls back to 2026.12.2
    publish(sim_url, "2026.12.3", make_bundle("2026.12.3", KEY, damage="signature"))
    plan(sim_url, "2026.12.3", previous="2026.12.2")
    wait_versions(urls, tokens, ["2026.12.2"] * TERMINALS)
    state = plan_state(sim_url)
    assert state["plan"]["state"] == "rolled_back" and "bad signature" in state["plan"]["reason"]
    refusers = [r["kiosk_id"] for r in state["history"] if r["status"] == "invalid"]
    assert state["plan"]["rolled_back_by"] in refusers
    assert all(r["version"] == "2026.12.3" for r in state["history"] if r["status"] == "invalid")
    status = requests.get(urls[ids.index(refusers[0])] + "/api/v1/status",
                          headers={"Authorization": f"Bearer {tokens[ids.index(refusers[0])]}"}, timeout=10).json()
    assert "catalog 2026.12.3 refused: bad signature" in status["catalog_rollout"]["last_error"]
    events = requests.get(urls[ids.index(refusers[0])] + "/api/v1/events",
                          headers={"Authorization": f"Bearer {tokens[ids.index(refusers[0])]}"}, timeout=10).json()
    refused = [e for e in events["events"] if e["kind"] == "catalog_refused"]
    assert refused and "keeps serving" in refused[-1]["message"]

    # 5. a truncated bundle and one that fails validation are refused the same way
    for version, damage in (("2026.12.4", "truncated"), ("2026.12.5", "invalid")):
        publish(sim_url, version, make_bundle(version, KEY, damage=damage))
        plan(sim_url, version, kiosks=ids[:2], previous="2026.12.2")
        deadline = time.monotonic() + 30
        while plan_state(sim_url)["plan"]["state"] != "rolled_back":
            assert time.monotonic() < deadline, f"{damage} bundle not refused"
            time.sleep(0.2)
        wait_versions(urls, tokens, ["2026.12.2"] * TERMINALS)


def test_the_app_shows_a_new_catalog_from_the_next_attract_screen(kiosk_stack) -> None:
    """A real kiosk app on its gateway: the bundle arrives while a resident is served; the resident's
    screens keep the old catalog; the attract screen brings the new one, with no restart."""
    def with_keys(settings):
        return settings.model_copy(update={"catalog": settings.catalog.model_copy(
            update={"bundle_keys": [KEY.public.text()], "poll_s": 1.0})})

    stack = kiosk_stack(adjust=with_keys)
    app = stack.app
    sim_url = stack.settings.platform.url
    flow = app.terminal.flow
    before = flow.catalog.get(RENAMED_ITEM).name.zh_CN
    app.step()
    app.terminal.handle(Tapped("start"))  # a resident at the home screen
    assert flow.screen.value != "attract"
    publish(sim_url, "2026.12.7", make_bundle("2026.12.7", KEY))
    plan(sim_url, "2026.12.7")
    watch = app.terminal.catalog_watch
    deadline = time.monotonic() + 30
    while watch.current == "packaged" and watch._ready is None:
        assert time.monotonic() < deadline, "the app never loaded the new catalog"
        app.step()
        time.sleep(0.05)
    for _ in range(5):
        app.step()
    assert flow.catalog.get(RENAMED_ITEM).name.zh_CN == before  # a resident is being served
    app.terminal.handle(Tapped("exit"))
    deadline = time.monotonic() + 30
    while flow.catalog.get(RENAMED_ITEM).name.zh_CN == before:
        assert time.monotonic() < deadline, f"not swapped; screen {flow.screen}"
        app.step()
        time.sleep(0.05)
    assert flow.screen.value == "attract"
    assert flow.catalog.get(RENAMED_ITEM).name.zh_CN == renamed_name("2026.12.7")
    assert app.terminal.catalog_version == "2026.12.7"
