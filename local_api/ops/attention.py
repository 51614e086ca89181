"""Why a terminal needs attention, in the fleet alerts' own words: each finding names the alert rule of
``deploy/prometheus/kiosk-alerts.yml`` that watches the same thing, who acts and what to do, so the
operator console (``needs attention``) and the fleet's Alertmanager say the same.

The findings are read from ``/api/v1/status`` as it is built (:func:`findings`); the rules wait (their
``for:``) before they page, the console says it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOWN_STATES = ("offline", "no_device", "hardware_error")
CLOCK_SKEW_S = 60.0
"""The clock offset above which ``KioskClockSkew`` fires (the rules use the same number)."""
BACKLOG_OLD_S = 3600.0


def _finding(rule: str, severity: str, audience: str, what: str, todo: str, device: str | None = None) -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "audience": audience, "what": what, "todo": todo, "device": device}


def _device_findings(devices: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for name, status in sorted(devices.items()):
        state = status.get("state")
        detail = status.get("detail") or {}
        paper = detail.get("paper") if isinstance(detail, Mapping) else None
        last = status.get("last_error")
        reason = last.get("message") if isinstance(last, Mapping) else None
        if paper == "out":
            found.append(_finding("KioskPaperOut", "page", "station", f"{name}: paper out",
                                  "Replace the receipt roll, then confirm paper replaced in maintenance mode; "
                                  "print items are unavailable until then.", name))
        elif paper == "low":
            found.append(_finding("KioskPaperLow", "ticket", "station", f"{name}: paper low",
                                  "Replace the roll at the next visit.", name))
        if state in DOWN_STATES:
            found.append(_finding("KioskDeviceDown", "page", "engineer", f"{name}: {state}"
                                  + (f" ({reason})" if reason else ""),
                                  "Check its cable and power; items that need it are unavailable.", name))
        elif state == "user_error" and paper != "out":
            found.append(_finding("KioskDeviceNeedsStaff", "ticket", "station", f"{name}: needs staff"
                                  + (f" ({reason})" if reason else ""),
                                  "Clear the condition on the spot (cover open, card jammed).", name))
    return found


def findings(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every reason for attention in a ``/api/v1/status`` answer: ``{rule, severity, audience, what, todo,
    device}``, pages first."""
    found: list[dict[str, Any]] = []
    service = status.get("service") or {}
    if service.get("in_service") is False:
        found.append(_finding("KioskOutOfServiceTooLong", "ticket", "operations",
                              f"out of service since {service.get('since') or '?'}",
                              "Put it back in service when the cause is fixed (the service button)."))
    heartbeat = status.get("heartbeat") or {}
    if heartbeat.get("stale"):
        found.append(_finding("KioskAppHeartbeatLost", "page", "engineer", "the kiosk app is not reporting",
                              "systemd restarts it; if it persists, `journalctl -u kiosk-app` on the terminal."))
    found += _device_findings(status.get("devices") or {})
    platform = status.get("platform") or {}
    if platform.get("reachable") is False:
        found.append(_finding("KioskPlatformUnreachable", "ticket", "operations",
                              "the government platform cannot be reached"
                              + (f" ({platform['last_error']})" if platform.get("last_error") else ""),
                              "Online items are greyed out; applications are queued. Check the network route."))
    outbox = status.get("outbox") or {}
    if outbox.get("parked"):
        found.append(_finding("KioskSubmissionsParked", "ticket", "operations",
                              f"{outbox['parked']} parked submission(s)", "Retry or purge them in the outbox."))
    oldest = outbox.get("oldest_pending_age_s")
    if oldest is not None and oldest > BACKLOG_OLD_S:
        found.append(_finding("KioskBacklogOld", "page", "operations", "a submission has waited over an hour",
                              "Check the platform link."))
    disk = status.get("disk") or {}
    if disk.get("ok") is False:
        found.append(_finding("KioskDiskFull", "page", "operations", "disk full: new submissions are refused",
                              "Free space in the data folder's disk."))
    offset = (status.get("clock") or {}).get("offset_s")
    if offset is not None and abs(offset) > CLOCK_SKEW_S:
        found.append(_finding("KioskClockSkew", "ticket", "engineer", f"clock off by {offset:+.0f} s",
                              "Check chrony on the terminal (`chronyc tracking`)."))
    order = {"page": 0, "ticket": 1, "info": 2}
    return sorted(found, key=lambda f: order.get(f["severity"], 3))
