"""Issue 17, file modes: the data folder was 0755 and ``outbox.db``, ``-wal`` and ``-shm`` 0644. After the
gateway starts, the folder is 0700 and every file in it 0600; a file loosened while the gateway was stopped
is fixed at the next start and the fix is said in plain words (log and operators' events)."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import Rig, identities


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of the folder ('.') and everything in it."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def use(rig: Rig) -> None:
    """Make the gateway write what it keeps: an outbox row (WAL), a token, the audit, local settings."""
    person = identities(1)[0]
    rig.client.submit("application", "rs-sydj", {"name": person["name"], "id_number": person["id_number"]},
                      {"reason": "x"})
    token = rig.first_token
    assert rig.post("/api/v1/tokens", token, json={"role": "operator"}).status_code == 201
    assert requests.put(rig.url + "/api/v1/devices/settings", json={"paper_width_mm": 58},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200


def test_after_start_the_folder_is_0700_and_every_file_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask outside systemd (its unit sets 0077): modes must not rely on it
    try:
        rig = Rig(tmp_path / "data")
        try:
            use(rig)
            found = modes(rig.data_dir)
        finally:
            rig.close()
    finally:
        os.umask(old)
    assert found["."] == 0o700, oct(found["."])
    assert {"outbox.db", "outbox.db-wal", "tokens.json", "kiosk.local.toml"} <= set(found)
    loose = {name: oct(mode) for name, mode in found.items() if name != "." and mode & 0o077}
    assert not loose


def test_a_loosened_file_is_fixed_and_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    rig = Rig(data)
    token = rig.first_token  # read before use: the gateway deletes first-token.txt after its first use
    use(rig)
    rig.close()
    data.chmod(0o755)
    (data / "outbox.db").chmod(0o644)
    (data / "tokens.json").chmod(0o666)
    with caplog.at_level(logging.WARNING):
        rig = Rig(data)
    try:
        found = modes(data)
        assert found["."] == 0o700 and found["outbox.db"] == 0o600 and found["tokens.json"] == 0o600
        said = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
        assert "outbox.db" in said and "0644" in said and "0600" in said and "tokens.json" in said
        assert str(data) in said and "0755" in said
        events = rig.get("/api/v1/events", token).json()["events"]
        assert any("outbox.db" in e.get("message", "") for e in events), events
    finally:
        rig.close()
