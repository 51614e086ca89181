"""The catalog's 繁體 texts, converted once and kept in a cache file, so OpenCC's s2tw tables
(≈ 45 MB, ≈ 0.6 s to read) never load into the kiosk app (issue 25, P9).

``traditional-texts.json`` lives beside the pinyin index (:func:`kiosk.catalog.packed.cache_dir`):
every 简体 text of the catalog that has no 繁體 override, with its conversion by
:func:`kiosk.catalog.model.convert_traditional`. Texts not in it (a changed catalog, a first run) are
converted in a helper process (``python -m kiosk.catalog.traditional``: JSON list on stdin → JSON object
on stdout) and added; a damaged or stale file is said in the log and rebuilt, never a crash. Until the
table is in place a 繁體 text waits for it briefly, then falls back to converting in this process: the
texts are the same either way.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kiosk.catalog.model import TAIWAN_PHRASES, LocalizedText, convert_traditional, use_traditional_table
from kiosk.catalog.packed import cache_dir, write_bytes

log = logging.getLogger(__name__)

TRADITIONAL_FILE = "traditional-texts.json"
FORMAT = 1
HELPER_TIMEOUT_S = 120


def stamp() -> str:
    """What the file's conversions depend on: the format, OpenCC's version and the Taiwan phrases."""
    try:
        version = importlib.metadata.version("opencc")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return f"format {FORMAT}; opencc {version}; phrases {json.dumps(TAIWAN_PHRASES, ensure_ascii=False)}"


def derived_texts(node: Any) -> Iterator[str]:
    """The 简体 text of every :class:`LocalizedText` under ``node`` whose 繁體 is derived (no override)."""
    if isinstance(node, LocalizedText):
        if node.tw is None:
            yield node.zh_CN
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from derived_texts(getattr(node, name))
    elif isinstance(node, list | tuple):
        for value in node:
            yield from derived_texts(value)
    elif isinstance(node, dict):
        for value in node.values():
            yield from derived_texts(value)


def _elsewhere(texts: list[str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "kiosk.catalog.traditional"],
                          input=json.dumps(texts, ensure_ascii=False).encode("utf-8"),
                          capture_output=True, check=True, timeout=HELPER_TIMEOUT_S)
    answer = json.loads(done.stdout)
    if not isinstance(answer, dict) or set(answer) != set(texts):
        raise ValueError("the helper process answered for other texts")
    return {str(k): str(v) for k, v in answer.items()}


def traditional_table(texts: Iterable[str], path: Path | None = None) -> dict[str, str]:
    """繁體 of each text, from the cache file; missing ones converted in a helper process and added."""
    path = path or cache_dir() / TRADITIONAL_FILE
    wanted = list(dict.fromkeys(texts))
    known: dict[str, str] = {}
    want_stamp = stamp()
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("stamp") != want_stamp or not isinstance(data.get("texts"), dict):
            raise ValueError(f"built for {data.get('stamp') if isinstance(data, dict) else '?'!r}, now {want_stamp!r}")
        known = {str(k): str(v) for k, v in data["texts"].items() if isinstance(v, str)}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.warning("繁體 texts: the cache %s is unusable, rebuilding it (%s)", path, exc)
    missing = [t for t in wanted if t not in known]
    if missing:
        try:
            known.update(_elsewhere(missing))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log.warning("繁體 texts: the helper process failed (%s); converting in this process", exc)
            known.update({t: convert_traditional(t) for t in missing})
        try:
            write_bytes(path, json.dumps({"stamp": want_stamp, "texts": known}, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            log.warning("繁體 texts: cannot keep the cache at %s (%s)", path, exc)
    return {t: known[t] for t in wanted}


def prepare_traditional(nodes: Iterable[Any], path: Path | None = None) -> int:
    """Load (or build) the table for every derived text under ``nodes`` and hand it to
    :func:`kiosk.catalog.model.to_traditional`; a 繁體 text asked for meanwhile waits for it. Returns its size."""
    ready = threading.Event()
    use_traditional_table(None, ready)
    table: dict[str, str] = {}
    try:
        table = traditional_table((t for node in nodes for t in derived_texts(node)), path)
    finally:
        use_traditional_table(table, ready)
        ready.set()
    return len(table)


def main() -> int:
    """``python -m kiosk.catalog.traditional``: the helper process of :func:`traditional_table`."""
    texts = json.loads(sys.stdin.buffer.read())
    json.dump({str(t): convert_traditional(str(t)) for t in texts}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
