"""R4 (bad input), soak only: coverage-guided fuzzing with atheris of the SAM frame assembler and
parser, the TLV decoder and the ESC/POS status decoder and tokenizer (tests/chaos/atheris_harness.py,
one child process per target: libFuzzer owns its process). ``CHAOS_FUZZ_RUNS`` inputs per target
(default 200,000); a failure prints the input libFuzzer found."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from chaos_rig import ROOT, chaos_seed, env_int

HARNESS = Path(__file__).with_name("atheris_harness.py")


@pytest.mark.soak
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("target", ["sam", "tlv", "escpos"])
def test_atheris_finds_no_crash(target: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        pytest.skip("the atheris fuzzing did NOT run: pip install atheris (test extras)")
    seed = chaos_seed(None)
    runs = env_int("CHAOS_FUZZ_RUNS", 200_000)
    done = subprocess.run([sys.executable, str(HARNESS), target, f"-runs={runs}", f"-seed={seed}",
                           f"-artifact_prefix={tmp_path}/"], cwd=ROOT, capture_output=True, text=True,
                          timeout=3500, check=False)
    tail = "\n".join(done.stderr.splitlines()[-30:])
    print(tail)
    assert done.returncode == 0, f"atheris found a failing input for {target} (seed {seed}):\n{tail}"
