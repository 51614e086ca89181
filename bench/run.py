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
    ("P4,P13", "bench.bench_search"),
    ("P5,R3,R3-silent", "bench.bench_id_reader"),
    ("P6", "bench.bench_gateway"),
    ("P7", "bench.bench_receipt"),
    ("P8,R3-camera", "bench.bench_camera"),
    ("SSC,R3-pcscd", "bench.bench_ssc_reader"),
    ("IME", "bench.bench_ime"),
    ("P2,P3,P10", "bench.bench_screens"),
    ("P1", "bench.bench_startup"),
    ("P9", "bench.bench_memory"),
    ("OPS", "bench.bench_device_ops"),
    ("MAINT", "bench.bench_maintenance"),
    ("QRSCAN", "bench.bench_scanning"),
    ("QRSIGNIN", "bench.bench_signin"),
    ("CRYPTO", "bench.bench_crypto"),
    ("R3-boot-printer,R3-boot-reader", "bench.bench_always_up"),
    ("AUDIO", "bench.bench_audio"),
    ("FLEET,FLEET-scrape,FLEET-series,FLEET-prom-mem,FLEET-1k,FLEET-10k,FLEET-gw-mem", "bench.bench_fleet"),
    ("HELPDESK", "bench.bench_helpdesk"),
)

RESULTS = Path(__file__).resolve().parent / "results"
QUALITY = Path(__file__).resolve().parents[1] / "docs" / "quality.md"

# What each figure of TARGETS.md means, for docs/quality.md (one line each).
MEANING: dict[str, str] = {
    "P1": "First touch served: `kiosk app --headless` from process start until 开始, tapped through the touch "
          "feed as soon as it listens, has drawn the home screen, median; against the **fair anchor**: Chromium "
          "with the font installed as a system font and a warm profile, from start until a click on 开始 (over "
          "the DevTools pipe, as soon as the button is there) is handled and painted. The **old anchor** (cold "
          "profile, `@font-face` files, a screenshot, timed to process exit) is beside it, and so is the first "
          "attract frame, the figure P1 gave before issue 25.",
    "P2": "Frame time at 1080 × 1920 while scrolling the whole item list (301 items) and typing in search, p99.",
    "P3": "Touch → first changed frame, in frames.",
    "P4": "Catalog search per keystroke (hanzi, full pinyin, initials, one typo) over the 301 items, p99.",
    "P13": "Search by intent: the share of real-sounding queries whose first result is the expected one, and "
           "their keystrokes' latency p99 within P4's budget.",
    "P5": "ID card find + select + read over the wire-paced 115200-baud simulator, against the wire time of "
          "the bytes exchanged (10 bits a byte).",
    "P6": "Gateway: submission accepted durably (fsync) → HTTP answer, p50/p99 with one client and p99 with 8, "
          "the sustained accept rate with 8 clients and the gateway's CPU per accept, the load from a separate "
          "asyncio client process while the forwarder delivers, sent where the kiosk app sends them (the "
          "event-loop submission door; the Flask door's route beside it for comparison); anchors: raw fsync'd SQLite inserts on the same "
          "disk (the target's) and a no-op Flask + waitress endpoint (the stack's ceiling).",
    "P7": "Receipt: layout → ESC/POS bytes and → PNG preview, median.",
    "P8": "Camera pipeline at 640 × 480 (face presence + framing hints, QR decode), frames per second on one core.",
    "P9": "Memory after a day: the `kiosk app` process alone after 1,000 mixed sessions (every item kind, all "
          "languages, elder mode, the pinyin keyboard), idle and settled: PSS against the **fair anchor**, "
          "Chromium's PSS summed over its processes holding an equivalent page, and RSS against the **old "
          "anchor**, Chromium's RSS summed over its processes (shared pages counted once per process); the "
          "app before any resident as before issue 25; and RSS growth over 10,000 scripted sessions, threads "
          "and file descriptors flat.",
    "P10": "Touches and scripted seconds to finish 社保参保缴费证明打印 from the attract screen with an ID card.",
    "R3": "Recovery: the ID reader unplugged and replugged (pty closed/reopened), pcscd restarted and a "
          "camera unplugged and replugged (its video source moved away and back), seconds until reads work "
          "again (the camera: until its status is online) without restarting the app.",
    "OPS": "Applying a technician's printer change (validate, save, reopen) and probing a port, median; "
           "informational, against opening a printer and one SAM exchange in the same run.",
    "MAINT": "Maintenance-mode pages: frame time p99 against the home screen's (same P2 budget), and the "
             "salted-scrypt PIN check (deliberately slow, off the UI thread).",
    "QRSCAN": "QR scan: a code held up to the simulated QR camera until the flow has it, median, against one "
              "bare OpenCV decode of the same scene; and how fast a cancelled scan lets go (informational).",
    "QRSIGNIN": "App sign-in: a token redeemed kiosk → gateway → platform simulator, median, against the "
                "same redemption sent straight to the simulator; and a sign-in code held up until the flow "
                "has the resident, against a progress scan from the same camera (both informational).",
    "CRYPTO": "The sm crypto suite against intl in the same run (informational): an outbox payload sealed and "
              "opened (SM4-GCM vs AES-256-GCM), a sign-in code's signature checked (SM2 vs Ed25519), a platform "
              "request signed (HMAC-SM3 vs HMAC-SHA256).",
    "AUDIO": "Audio mode: a keypad key (↓, Enter, back) posted as a pygame KEYDOWN → espeak-ng started for its "
             "announcement (reading order rebuilt, announcement composed, the last one interrupted), p95; "
             "against espeak-ng started alone.",
    "IME": "Pinyin keyboard: candidate look-up per keystroke, and the index file (built in a helper process, "
           "mapped at every start) with what mapping it and typing cost in RSS.",
    "SSC": "Social security card read over PC/SC (private pcscd, virtual card): the APDUs plus decoding, "
           "median, against the same APDUs sent bare on the same connection (informational).",
    "HELPDESK": "Remote help desk (issue 21): a staff member's point → the kiosk's masked frame drawing the pulsing "
                "highlight back at the gateway (long poll, app loop, flow, mirror drawn and PNG-encoded, posted), "
                "p95 on loopback with a real `kiosk run --headless`; against one mirror frame drawn and encoded.",
}

# Before and after a change, as measured when it was made (closing notes of docs/quality.md).
CLOSING: dict[str, str] = {
    "P6": "Issue 25 (gateway). The bench is honest now: load from a separate asyncio client process, the "
          "forwarder delivering, CPU per accept with its delivery, a no-op Flask + waitress endpoint beside the raw "
          "inserts. Before → after the cheap wins (data path resolved once, free space read once a second, cached "
          "UTC offset in iso(), bounded request-counter labels, no waitress queue-depth warnings) and the forwarder's "
          "batched writes (one transaction per delivery), both gateways loaded alternately in one run, two runs: CPU "
          "per accept with its delivery 2.97 → 2.58 ms and 2.64 → 2.42 ms; forwarder delivery 308 → 430 /s (a 5 s "
          "load drained in 28 → 13 s and 12.5 → 9.3 s); accept rate with 8 clients 700 → 576 and 816 → 865 /s, "
          "within the noise (a faster forwarder takes more of the two cores while the load runs). Still a miss: "
          "the 8-client rate is bound by Python HTTP handling (≈ 1.2–1.4 ms of CPU per accept in waitress + Flask + "
          "our checks) and by the delivery path (≈ 1.1 ms per delivery, in the platform client). A prototype of the "
          "kiosk door's submission route on one asyncio loop with the same checks and outbox "
          "(`bench/proto_async_door.py`, not wired in), loaded alternately with the gateway in one run (3 rounds): "
          "1,737 /s = 0.52× raw fsync'd inserts (3,310 /s), p99 14.2 ms with 8 clients while its forwarder "
          "delivers, against the gateway's 663 /s = 0.20×, p99 35.0 ms: the target is in reach on that stack; "
          "see docs/architecture.md (Gateway, Serving). This machine's disk is shared: "
          "the raw fsync'd insert anchor ranged 260–2,300 /s between runs, so ratios against it move with it."
          " Continued (issue 25, helper perf2gw), the event-loop kiosk door not landed: "
          "`bench/proto_async_door.py --parser h11` puts the prototype behind h11's strict parser (bad request "
          "lines 400, heads over 16 KiB 431, chunked and pipelined requests, the body limit counted as it "
          "arrives, 10 s per request): CPU per accept with its delivery 2.7 → 3.0–3.3 ms, 8-client rate 1,360 "
          "→ 955 /s (two runs each, alternated, on two cores shared with other sessions; raw anchor "
          "4,200–7,300 /s, so 0.13–0.27×, below the 0.52× of the earlier quieter run). The door's guard, "
          "errors, metrics and limits are written against Flask's request: an event-loop door is a second copy "
          "of each on a second port the app's client must learn, every check proven again by tests/security — "
          "not safely done in that session, so serving is unchanged. This run (same code as before): 644 /s = "
          "0.11× raw (5,773 /s), p99 34.5 ms with 8 clients, CPU per accept 3.38 ms; a run just before read "
          "755 /s against a raw anchor that fell to 340 /s on the shared disk (\"2.22×, pass\": the anchor's "
          "noise, not a gain). Then (issue 25, helper door) the event-loop submission door landed "
          "(`local_api/web/fast_door.py`, h11 on asyncio in the gateway process, its own loopback port that "
          "GatewayClient reads from kiosk-fast-door.port; the Flask door's checks made Flask-free and called by "
          "both doors, proven on both by tests/security/test_submission_doors.py; one transaction per loop "
          "tick); the bench now loads it and, in the same run, the Flask door's route. Two runs on two cores "
          "shared with another session: Flask route → event-loop door 742 → 1,403 /s (0.12× → 0.23× raw, "
          "6,160 /s), p99 with 8 clients 14.5 ms (was 34.5 ms), p50 with one client 1.7 ms; the run before "
          "the per-tick transaction (8 workers, the outbox's group commit only): 711 → 1,078 /s, p99 22.2 ms. "
          "The rate target (≥ 0.5× raw, ≈ 3,000 /s on this disk) stays a miss: CPU per accept with its "
          "delivery is still ≈ 2.6 ms (the forwarder's delivery ≈ 1.1 ms of it) on two cores; the prototype's "
          "0.52× was against a raw anchor of 3,310 /s.  The table above is a third run."
          " Then (issue 25, helper perf-p6) delivery made cheap: a profile of the forwarder (cProfile on CPU "
          "time, platform simulator in its own process) put ≈ 1.0–1.6 ms of CPU per delivery, ≈ 80 % of it "
          "in requests/urllib3/http.client (≈ 0.3 ms alone walking os.environ for proxies on every request), "
          "≈ 10 % SQLite, ≈ 2 % decrypting. The environment is now read once per session, and a backlog goes "
          "in batches (POST /v1/submissions/batch, up to 50, one request and one write, each submission its "
          "own key and result): 0.06–0.09 ms per delivery (HTTP ≈ 37 %, decrypting ≈ 22 %, the claim "
          "write ≈ 17 %). Two runs alternated with the old code on the shared disk: CPU per accept with its "
          "delivery 2.47 → 0.52 ms and 2.66 → 0.45 ms; 8-client rate 926 → 919 /s (raw 400 / 339 /s) and "
          "1,042 → 1,306 /s (raw 298 / 2,945 /s: 0.44×); the 8-client run now leaves no backlog, so the "
          "delivery figure is measured on a backlog left by a platform outage: 1,209 and 1,959 /s (the old "
          "forwarder drained its run's backlog at 196 and 207 /s). The rate target stays a miss whenever the "
          "disk is quick (a run with raw 8,280 /s: 1,913 /s = 0.23×, CPU per accept 0.42 ms, delivery 3,534 /s): "
          "the accept path bounds it now, and not by CPU: at ≈ 1,800 /s the gateway uses ≈ 0.8 of its two "
          "cores (the event-loop thread ≈ 0.4 of one, the commit workers ≈ 0.3 together, per /proc task "
          "stats); what holds the rate is each request's round trip through the loop, a worker's commit and "
          "the interpreter lock between them (a 1 ms switch interval instead of 5 ms changed nothing "
          "measurable). Live delivery still cost accepts: the same gateway loaded for 4 s with the platform up, "
          "then down (the forwarder idle in its backoff), alternated 3×: 920–1,618 against 2,233–2,490 /s. So "
          "accepting goes first now: while a burst is being accepted the forwarder pauses 50 ms before each "
          "batch (still up to 1,000 deliveries a second; full speed once accepts stop): up/down 1,451–1,901 "
          "against 1,383–1,903 /s, and 1,737–1,836 against 1,949–2,131 /s. Old code against this, alternated "
          "in one run: 1,223 → 1,708 /s (0.18× → 0.29× raw, 6,646 / 5,825 /s), CPU per accept 2.66 → 0.54 ms, "
          "p99 with 8 clients 15.0 → 14.4 ms, delivery 350 /s (its run's backlog) → 2,609 /s (an outage's). "
          "The table above is a later run."
          " Then (issue 25, helper perf-p6b) the accept path profiled (per-thread CPU from /proc, time.thread_time "
          "around the stages in the gateway under this load): the loop thread ≈ 300 µs per accept (h11 ≈ 45 "
          "parsing + ≈ 35 answering, strict JSON + cleaning + pydantic ≈ 45, door checks ≈ 10, metrics ≈ 8, and "
          "≈ 150 in asyncio's streams, tasks, futures and timeouts around them), the commit workers ≈ 165 (≈ 55 "
          "a row with its savepoints, ≈ 60 of sys time in thread wake-ups), the forwarder ≈ 50; the commits "
          "waited mostly for the interpreter lock, handed away at each SQLite statement. Now each connection is "
          "an asyncio.Protocol feeding h11 from callbacks (no task, stream or future per request), one commit "
          "thread takes what the loop handed over and writes it with one lookup and one multi-row INSERT "
          "(one by one only when the database refuses a row), the 202 head and the metrics' label children are "
          "made once, and small bodies skip the depth scan: loop ≈ 165, commit thread ≈ 95, forwarder ≈ 30 µs "
          "per accept. Old code, then new, one run each: 2,150 → 3,055 /s (0.28× → 0.41× raw, 7,745 / "
          "7,374 /s), CPU per accept with its delivery 0.45 → 0.36 ms, p99 8 clients 11.9 → 10.4 ms, p99 1 client "
          "5.2 → 4.7 ms; the Flask door's route 1,006 → 1,323 /s. A second pair while other sessions loaded the "
          "machine (load average ≈ 3.8): 1,738 → 1,807 /s (0.31× → 0.29× raw, 5,697 / 6,314 /s), CPU per accept "
          "0.45 → 0.46 ms; the gateway alone, old and new alternated twice under the same load (this helper's "
          "harness, 5 s of 8 clients, two rounds each): 1,264–1,663 against 1,741–2,979 /s (0.24–0.31× against "
          "0.33–0.38×), CPU per accept with its delivery 0.51–0.67 against 0.38–0.46 ms. Still a miss: the load client and the platform "
          "simulator share the two cores (≈ 95 % busy during the 8-client run), and the gateway's ≈ 0.3 ms of "
          "Python per accept is mostly h11, pydantic and the interpreter lock's hand-offs. The table above is a "
          "later run.",
}


# Before and after issue 25, measured side by side on this 2-core machine under the same load (medians);
# the old code cannot be timed by the new P1 hook, so both sides of P1 here are timed by the touch feed
# (tap 开始 as soon as it listens, then look until the screen changed: up to one frame later than the hook).
BEFORE_AFTER: tuple[str, ...] = (
    ("P1 first touch served (process start → 开始 tapped → home shown, touch feed both sides, 7 and 9 "
     "alternating runs): main 2.02 s / 3.06 s → this 1.68 s / 2.14 s. main lost a touch made before its first "
     "turn of the loop (no buttons laid out yet) and built the search index on the UI thread after ready."),
    ("P9 after 1,000 mixed sessions (the same driver, `kiosk app` process alone): main RSS 510 MB, PSS 471 MB "
     "→ this RSS 339 MB, PSS 301 MB (Chromium PSS ≈ 404 MB: 1.17× → 0.75×). Gone: pypinyin's tables (≈ 55 MB) "
     "and the pinyin index's dicts (≈ 80 MB), now a 6 MB mapped file; list rows kept ≤ 64 (800 before). Still "
     "in the app: OpenCC's s2tw tables once 繁體 is shown (≈ 45 MB), 28 font sizes (≈ 38 MB), the camera "
     "pipeline after the first face check."),
    ("P4 search per keystroke p99, old and new index side by side: 0.163 / 0.173 ms → 0.148 / 0.172 ms (same "
     "results on 14,141 queries). IME look-up p99: 0.50 ms → 0.90–0.97 ms (mapped tables decoded per look-up; "
     "target ≤ 5 ms), identical candidates on 2,017 letter sequences."),
    ("P1, second round (first touch served before the devices open, catalog TOML parsed once, no pydantic "
     "docstring parsing, Pillow and OpenCV off the path): the previous round (main) against this, alternating, "
     "both byte-compiled, each pipe timed as its line arrives (the old bench read *ready* first, so a touch "
     "served sooner still counted as after it), two runs of 7: touch served 1.30 / 1.25 s → 0.75 / 0.63 s; "
     "first frame 0.52 / 0.47 → 0.41 / 0.39 s; ready 1.23 / 1.20 → 1.13 / 0.91 s. What remains before the touch: "
     "pydantic and the settings (≈ 0.13 s, before the first frame), requests (the maintenance screen's gateway "
     "client), the catalog's validation."),
    ("P9, second round, 1,000 mixed sessions, the same driver (this one warms the indexes on a thread as "
     "`kiosk app` does): main RSS 340 MB, PSS 293 MB → this RSS 280 MB, PSS 239 MB. Gone: OpenCC's s2tw tables "
     "(≈ 45 MB; the catalog's 繁體 texts come from a cache file), the allocator's freed pages after each session "
     "(malloc_trim, ≈ 40 MB at 150 sessions). Still held at idle, measured: the 64 cached list rows (≈ 35 MB), "
     "28 font faces (≈ 29 MB, ≈ 1 MB each: one FreeType/HarfBuzz face per size), OpenCV and numpy after the "
     "first face check (≈ 20 MB); dropping rows and faces when a session ends would reach ≈ 215 MB RSS."),
    ("P9, third round, 1,000 mixed sessions, the same driver, e1c764a against this, side by side under the "
     "same load (/tmp-style one-off runs of bench.bench_memory.after_a_day): RSS 276 → 220 MB, PSS 226 → "
     "181 MB. Gone: the list rows and the font faces a session opened (dropped when it ends; the attract and "
     "home screens' faces stay pinned, so the next resident's first screens open none). The camera "
     "simulator's noise patterns went from 8 int16 to 4 int8 frames (≈ 15 → 3.7 MB). Tried and not kept: "
     "MALLOC_ARENA_MAX=2 (219 against 222 MB at 300 sessions: noise). Still held: OpenCV and numpy after the "
     "first face check (≈ 20 MB), ≈ 10 pinned faces, the catalog's guides."),
    ("P9, fourth round, 1,000 mixed sessions (`bench.run --only P9`): RSS 217 → 169 MB, PSS 178.5 → 143 MB "
     "(Chromium's PSS 342 MB in that run, 402 MB in this one: 0.52× → 0.36×; against 342 MB it would be "
     "0.42×, so the ratio's pass rests on the anchor's swing between runs). Where the memory was after the "
     "day, by mapping (/proc/pid/smaps, one-off driver runs): ≈ 105 MB anonymous (≈ 50 MB of it Python's "
     "own objects: ≈ 1,300 modules and the catalog, fully used arenas), ≈ 50 MB heap, ≈ 50 MB libraries "
     "(OpenCV 13, numpy 4, …). Gone: one font face per size (11 kept after the first screens, each ≈ 1 MB "
     "plus its glyph cache, ≈ 19 MB): a pool of three faces a weight re-sized in place serves every size "
     "(identical pixels; widths kept so frames that only measure take no face; ≈ 15 MB); large blocks "
     "freed after the session's trim (the heartbeat's mirror frame and PNG, ≈ 15 MB in its thread's "
     "arena and ≈ 20 MB in the heap): glibc's mmap threshold kept at 128 KiB, so they go back when freed "
     "(RSS 205 → 183 MB at 300 sessions); the day's driver no longer imports screens.demo, which loaded "
     "Flask, waitress and the gateway's app (≈ 15 MB) that the real app never loads; the camera "
     "simulator's noise, one taller pattern a scene (3.7 → 0.9 MB). Still held: OpenCV and numpy (≈ 30 MB "
     "with their libraries), Python's ≈ 50 MB of modules and catalog, the display surface (8 MB)."),
)


def quality_page(figures: list[Figure], meta: dict[str, object], command: list[str]) -> str:
    """docs/quality.md: the table, what each figure means, what was not measured, and the command."""
    def base(figure_id: str) -> str:
        return figure_id.split("-")[0]

    measured = {base(f.id) for f in figures}
    missing = [i for i in MEANING if i not in measured]
    misses = [f for f in figures if f.passed is False]
    lines = [
        "# Quality: measured figures",
        "",
        "Generated by the benchmark command; do not edit by hand. Regenerate with",
        "",
        "    .venv/bin/python -m bench.run            # --quick for a smoke run, --only P1,P9 for some figures",
        "",
        (f"This page: `{' '.join(command)}`, run {meta['when']} on {meta['cpus']} CPUs "
         f"(Python {meta['python']}, {meta['machine']})"
         f"{', **quick run** (fewer repetitions)' if meta['quick'] else ''}."),
        ("Targets and anchors are in `shared/design/TARGETS.md`; anchors are measured in the same run, "
         "side by side, and figures are medians or percentiles, never one timing. A **miss** is reported "
         "as a miss."),
        "",
        table(figures) if figures else "_No figures in this run._",
        "",
        f"Misses: {', '.join(f'{f.id} ({f.name})' for f in misses) if misses else 'none'}.",
        "",
        "## What each figure means",
        "",
    ]
    for figure_id, meaning in MEANING.items():
        status = "" if figure_id in measured else " — *not measured in this run*"
        lines.append(f"- **{figure_id}**{status}: {meaning}")
    extra = sorted({base(f.id) for f in figures} - set(MEANING))
    for figure_id in extra:
        names = "; ".join(sorted({f.name for f in figures if base(f.id) == figure_id}))
        lines.append(f"- **{figure_id}**: {names}.")
    if missing:
        lines += ["", f"Not measured in this run: {', '.join(missing)}."]
    failed = meta.get("failed") or {}
    if isinstance(failed, dict) and failed:
        lines += ["", "Benchmarks that failed in this run (their figures are missing above):", ""]
        lines += [f"- `{module}`: {str(reason)[:300]}" for module, reason in failed.items()]
    if BEFORE_AFTER:
        lines += ["", "## Before and after issue 25 (first touch, memory after a day, search)", ""]
        lines += [f"- {line}" for line in BEFORE_AFTER]
    notes = [f for f in figures if f.note]
    if notes:
        lines += ["", "## Notes from this run", ""]
        lines += [f"- {f.id} {f.name}: {f.note}" for f in notes]
    closing = [f"- **{i}**: {CLOSING[i]}" for i in CLOSING if i in measured]
    if closing:
        lines += ["", "## Before and after", "", *closing]
    lines += ["", ("Reliability, fuzzing and privacy claims (R1–R6, S1–S5) are shown by tests: `pytest` "
                   "runs short versions, `pytest -m soak` the long ones (10,000 sessions, 1,000-session "
                   "privacy scan)."), ""]
    return "\n".join(lines)


def table(figures: list[Figure]) -> str:
    lines = ["| id | figure | value | target | anchor | ratio | result |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        anchor = f"{f.anchor} = {f.anchor_value:.4g}" if f.anchor_value is not None else (f.anchor or "—")
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "—"
        result = "—" if f.passed is None else ("pass" if f.passed else "**miss**")
        lines.append(f"| {f.id} | {f.name} | {f.value:.4g} {f.unit} | {f.target} | {anchor} | {ratio} | {result} |")
    return "\n".join(lines)


def _owner(figure_id: str) -> str | None:
    """The bench module that measures a figure id (``QRSCAN-cancel`` belongs to ``QRSCAN``'s module)."""
    for exact in (True, False):
        for ids, module in MODULES:
            names = ids.split(",")
            if (figure_id in names) if exact else (figure_id.split("-")[0] in names):
                return module
    return None


def _merge_previous(fresh: list[Figure], rerun: set[str]) -> list[Figure]:
    """The fresh figures plus those of the last run whose modules were not run now, in table order."""
    try:
        previous = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))["figures"]
    except (OSError, ValueError, KeyError):
        return fresh
    kept = [Figure(**f) for f in previous if _owner(f["id"]) not in rerun]
    order = [module for _, module in MODULES]
    return sorted(kept + fresh, key=lambda f: order.index(_owner(f.id)) if _owner(f.id) in order else len(order))


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
    failed: dict[str, str] = {}
    for ids, module in MODULES:
        if wanted and not wanted & set(ids.split(",")):
            continue
        print(f"bench: {module} …", file=sys.stderr, flush=True)
        try:
            figures += importlib.import_module(module).run(args.quick)
        except Exception as exc:  # noqa: BLE001  one broken benchmark must not hide every other figure
            failed[module] = f"{type(exc).__name__}: {exc}"
            print(f"bench: {module} failed: {failed[module]}", file=sys.stderr, flush=True)
    RESULTS.mkdir(exist_ok=True)
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": sys.version.split()[0],
            "machine": platform.machine(), "cpus": os.cpu_count(), "quick": args.quick, "failed": failed}
    if wanted:
        # Some figures re-measured: keep the others from the last run, so the table stays whole.
        figures = _merge_previous(figures, {m for ids, m in MODULES if wanted & set(ids.split(","))})
        meta["partial"] = sorted(wanted)
    (RESULTS / "latest.json").write_text(json.dumps({"meta": meta, "figures": [f.to_dict() for f in figures]},
                                                    ensure_ascii=False, indent=2), encoding="utf-8")
    md = table(figures)
    (RESULTS / "latest.md").write_text(f"Run {meta['when']} on {meta['cpus']} CPUs"
                                       f"{' (quick)' if args.quick else ''}.\n\n{md}\n", encoding="utf-8")
    QUALITY.write_text(quality_page(figures, meta, [".venv/bin/python", "-m", "bench.run", *(argv if argv is not None
                                                                                 else sys.argv[1:])]),
                       encoding="utf-8")
    print(md)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
