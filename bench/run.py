"""Run the benchmarks and write ``bench/results/latest.json`` and ``latest.md``.

    .venv/bin/python -m bench.run            # every figure
    .venv/bin/python -m bench.run --quick    # fewer repetitions, for a smoke run
    .venv/bin/python -m bench.run --only P5,P7

Each module in ``MODULES`` has ``run(quick: bool) -> list[Figure]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from bench.common import Figure

MODULES: tuple[tuple[str, str], ...] = (  # (figure ids, module)
    ("P4", "bench.bench_search"),
    ("P5,R3", "bench.bench_id_reader"),
    ("P6", "bench.bench_gateway"),
    ("P7", "bench.bench_receipt"),
    ("P8", "bench.bench_camera"),
    ("SSC,R3-pcscd", "bench.bench_ssc_reader"),
)

RESULTS = Path(__file__).resolve().parent / "results"


def table(figures: list[Figure]) -> str:
    lines = ["| id | figure | value | target | anchor | ratio | result |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        anchor = f"{f.anchor} = {f.anchor_value:.4g}" if f.anchor_value is not None else (f.anchor or "—")
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "—"
        result = "—" if f.passed is None else ("pass" if f.passed else "**miss**")
        lines.append(f"| {f.id} | {f.name} | {f.value:.4g} {f.unit} | {f.target} | {anchor} | {ratio} | {result} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--only", default="", help="comma-separated figure ids, e.g. P5,P7")
    args = parser.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    wanted = {x.strip() for x in args.only.split(",") if x.strip()}
    figures: list[Figure] = []
    for ids, module in MODULES:
        if wanted and not wanted & set(ids.split(",")):
            continue
        print(f"bench: {module} …", file=sys.stderr, flush=True)
        figures += importlib.import_module(module).run(args.quick)
    RESULTS.mkdir(exist_ok=True)
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": sys.version.split()[0],
            "machine": platform.machine(), "cpus": os.cpu_count(), "quick": args.quick}
    (RESULTS / "latest.json").write_text(json.dumps({"meta": meta, "figures": [f.to_dict() for f in figures]},
                                                    ensure_ascii=False, indent=2), encoding="utf-8")
    md = table(figures)
    (RESULTS / "latest.md").write_text(f"Run {meta['when']} on {meta['cpus']} CPUs"
                                       f"{' (quick)' if args.quick else ''}.\n\n{md}\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
