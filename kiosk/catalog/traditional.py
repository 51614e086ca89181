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
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kiosk.catalog.model import TAIWAN_PHRASES, LocalizedText, convert_traditional, use_traditional_table
from kiosk.catalog.packed import cache_dir, stamped_map, worked_out_elsewhere

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
    answer = worked_out_elsewhere("kiosk.catalog.traditional", texts, timeout_s=HELPER_TIMEOUT_S)
    return {str(k): str(v) for k, v in answer.items()}


def traditional_table(texts: Iterable[str], path: Path | None = None) -> dict[str, str]:
    """繁體 of each text, from the cache file; missing ones converted in a helper process and added."""
    path = path or cache_dir() / TRADITIONAL_FILE
    return stamped_map(path, stamp(), "texts", list(dict.fromkeys(texts)), what="繁體 texts",
                       read=lambda v: v if isinstance(v, str) else None, elsewhere=_elsewhere,
                       here=convert_traditional, log=log)


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
