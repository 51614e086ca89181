"""Releases (issue 22): the wheel is built from the source tree with its version from git tags (or the
fallback), and deploy/update.sh installs release N+1 beside N, switches the ``current`` link, restarts and
health-checks a real gateway, and switches back when the new release does not come up.

The new environments reuse this test environment's packages (``--site-packages``) instead of downloading
the lock, so the test stays fast; everything else is the script as a terminal runs it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPDATE = ROOT / "deploy" / "update.sh"
SOURCES = ("kiosk", "devices", "screens", "local_api", "config", "pyproject.toml", "README.md")


def build_wheel(out: Path, version: str, source: Path) -> Path:
    """``pip wheel`` of ``source`` as ``version`` (what CI builds; setuptools-scm takes the pretend version)."""
    env = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": version}
    env.pop("PYTHONPATH", None)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(out), str(source)], check=True, env=env,
                   capture_output=True, timeout=180)
    (wheel,) = out.glob(f"gov_kiosk-{version}-*.whl")
    return wheel


def source_copy(tmp: Path, name: str) -> Path:
    """The sources copied (a build writes its egg-info beside them: not into the checkout)."""
    copy = tmp / name
    for part in SOURCES:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, copy / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (copy / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, copy / part)
    return copy


def broken_source(tmp: Path) -> Path:
    """A copy of the sources whose gateway dies at start (a bad release)."""
    copy = source_copy(tmp, "broken-src")
    server = copy / "local_api" / "server.py"
    server.write_text('raise SystemExit("this release is broken")\n' + server.read_text("utf-8"), "utf-8")
    return copy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def terminal(tmp_path: Path):
    """A stand-in for /opt/kiosk with a restart command that runs ``current/bin/kiosk gateway``."""
    root, data = tmp_path / "opt-kiosk", tmp_path / "var-lib-kiosk"
    root.mkdir()
    port = free_port()
    pidfile = tmp_path / "gateway.pid"
    restart = tmp_path / "restart.sh"
    restart.write_text(f"""#!/usr/bin/env bash
[[ -f {pidfile} ]] && kill "$(cat {pidfile})" 2>/dev/null && sleep 0.3
unset PYTHONPATH
export KIOSK_GATEWAY__DATA_DIR={data} KIOSK_GATEWAY__PORT={port} KIOSK_KIOSK__ID=HC-UPDATE-001
setsid {root}/current/bin/kiosk gateway >>{tmp_path}/gateway.log 2>&1 < /dev/null &
echo $! > {pidfile}
""")
    restart.chmod(0o755)
    yield root, f"http://127.0.0.1:{port}/health", str(restart)
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass


def update(terminal, wheel: Path) -> subprocess.CompletedProcess[str]:
    root, health, restart = terminal
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(["bash", str(UPDATE), "--wheel", str(wheel), "--root", str(root), "--health-url", health,
                           "--restart", restart, "--timeout", "12", "--python", sys.executable,
                           "--site-packages", sysconfig.get_path("purelib")],
                          capture_output=True, text=True, timeout=240, check=False, env=env)


def test_the_wheel_carries_the_catalog_the_console_and_a_real_version(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "0.9.0", source_copy(tmp_path, "src"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "config/catalog/mz.toml" in names and "config/defaults.toml" in names
    assert any(n.startswith("local_api/web/templates/") for n in names)
    assert "kiosk/catalog/bundle.py" in names
    meta = zipfile.ZipFile(wheel).read("gov_kiosk-0.9.0.dist-info/METADATA").decode()
    assert "Version: 0.9.0" in meta


def test_update_switches_to_the_new_release_and_rolls_back_a_broken_one(tmp_path: Path, terminal) -> None:
    root = terminal[0]
    wheels = tmp_path / "wheels"
    source = source_copy(tmp_path, "src")
    first, second = build_wheel(wheels, "0.9.0", source), build_wheel(wheels, "0.9.1", source)
    broken = build_wheel(wheels, "0.9.2", broken_source(tmp_path))

    done = update(terminal, first)  # a fresh terminal: release N
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.readlink(root / "current") == "releases/0.9.0"

    done = update(terminal, second)  # N+1 beside N, switched, restarted, healthy
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release 0.9.1 is running" in done.stdout
    assert os.readlink(root / "current") == "releases/0.9.1"
    kept = subprocess.run([str(root / "releases" / "0.9.0" / "bin" / "kiosk"), "--version"], capture_output=True,
                          text=True, check=True, timeout=60, env={"PATH": os.environ.get("PATH", "")})
    assert kept.stdout.strip() == "kiosk 0.9.0"  # N kept, whole, for a rollback

    done = update(terminal, broken)  # N+2 never answers: back to N+1, which serves again
    assert done.returncode == 1, done.stdout + done.stderr
    assert "release 0.9.2 failed its health check; rolled back to 0.9.1, which is running" in done.stderr
    assert os.readlink(root / "current") == "releases/0.9.1"
    import json
    import urllib.request

    with urllib.request.urlopen(terminal[1], timeout=5) as answer:
        assert json.load(answer)["version"] == "0.9.1"


def test_the_lock_files_pin_every_dependency_with_hashes() -> None:
    """deploy/setup.sh installs only from the lock files (pip --require-hashes): each must pin, with a
    hash, every package pyproject.toml asks for (regenerate them as deploy/README.md "Releases" says)."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    def names(specs: list[str]) -> set[str]:
        return {re.split(r"[<>=!~ ;\[]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}

    runtime = names(project["project"]["dependencies"]) | names(project["build-system"]["requires"])
    test = runtime | names(project["project"]["optional-dependencies"]["test"])
    for lock, wanted in (("requirements.lock", runtime), ("requirements-test.lock", test)):
        text = (ROOT / lock).read_text("utf-8")
        pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9._-]+)==", text, re.MULTILINE)}
        assert wanted <= pinned, f"{lock} lacks {sorted(wanted - pinned)}"
        for block in re.split(r"\n(?=[A-Za-z0-9])", text):
            if "==" in block.splitlines()[0]:
                assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"
