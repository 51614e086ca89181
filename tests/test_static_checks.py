"""ruff and mypy as CI runs them, inside the suite: the README's one test command covers them too.

- ruff checks everything (its rules: ``[tool.ruff]`` in pyproject.toml; ruff is pinned there, since a
  new release may turn on new rules);
- mypy is strict on the seams (``[tool.mypy]``): the pure core (``kiosk/flow``, ``kiosk/catalog``),
  the device layer and the outbox.

A finding fails the test with the tool's own report, file and line first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)


def test_ruff_finds_nothing_anywhere() -> None:
    result = run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_strict_and_clean_on_the_seams() -> None:
    result = run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout and "source files" in result.stdout  # it checked something
