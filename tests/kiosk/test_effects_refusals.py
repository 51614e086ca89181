"""What the resident is told when the gateway refuses a submission because the terminal's disk is
full: this kiosk cannot take it (not "the platform is down"), and online items stay available."""

from __future__ import annotations

import queue
import time

from devices.id_card.identity import sample_cards
from kiosk import flow


def test_a_full_disk_is_the_terminals_problem_not_the_platforms(kiosk_stack):
    stack = kiosk_stack(adjust=lambda s: s.model_copy(update={
        "gateway": s.gateway.model_copy(update={"min_free_mb": 10 ** 9})}))  # far more than any disk has
    app = stack.app
    card = sample_cards()[0]
    app.terminal.runner.run(flow.Submit("application", "gjj-jczm", {"name": card.name, "id_number": card.id_number},
                               {"note": "测试"}))
    seen: list[object] = []
    deadline = time.monotonic() + 20
    while not any(isinstance(e, flow.ServiceFailed) for e in seen):
        assert time.monotonic() < deadline, f"no answer to the submission; saw {seen}"
        try:
            seen.append(app.terminal.events.get(timeout=0.5))
        except queue.Empty:
            pass
    failed = next(e for e in seen if isinstance(e, flow.ServiceFailed))
    assert failed.reason_key == "error_gateway_unavailable", failed
    assert not any(isinstance(e, flow.DeviceStates) and e.available.get("platform") is False for e in seen), seen
