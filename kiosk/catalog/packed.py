"""Sorted key → values tables packed into one file and memory-mapped (the pinyin indexes, issue 25).

A Python dict of 100,000 words with their readings costs ≈ 80 MB of private memory per process; the
same records as UTF-8 lines in a mapped file cost their size on disk (a few MB), live in the page
cache shared by every process that maps them, and only the pages a look-up touches are resident.

File layout: one JSON header line (``magic``, the builder's ``stamp``, free-form ``meta`` and, per
table, where its offsets and records lie), then per table an array of little-endian uint32 record
offsets and the records, each ``key\\tvalue\\n`` in UTF-8, sorted by key (byte order, which is code
point order) with the values of one key in the order they were given. A look-up is a binary search
over the offsets (≈ 17 steps for 100,000 records).

:func:`write_tables` writes atomically (a temporary file renamed over the old one);
:func:`open_tables` raises :class:`PackedFileError` for a file that is missing, truncated, from
another builder (stamp) or otherwise not one of ours, so callers rebuild it and say so.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

MAGIC = "kiosk-packed-tables/1"
_OFFSET = struct.Struct("<I")


class PackedFileError(Exception):
    """The packed file cannot be used (missing, stale, truncated or corrupt); the message says why."""


class PackedTable:
    """One sorted table over a buffer: ``get(key)`` → the values stored under ``key``, in order."""

    def __init__(self, buf: Any, offsets_at: int, count: int, data_at: int, data_end: int) -> None:
        self._buf = buf
        self._offsets = memoryview(buf)[offsets_at:offsets_at + 4 * count].cast("I") if count else None
        self._count = count
        self._data_at = data_at
        self._data_end = data_end

    def __len__(self) -> int:
        return self._count

    def _record(self, i: int) -> tuple[int, int]:
        assert self._offsets is not None
        start = self._data_at + self._offsets[i]
        end = self._data_at + self._offsets[i + 1] if i + 1 < self._count else self._data_end
        return start, end

    def _key_at(self, i: int) -> bytes:
        start, end = self._record(i)
        tab = self._buf.find(b"\t", start, end)
        return bytes(self._buf[start:tab if tab >= 0 else end - 1])

    def get(self, key: str) -> list[str]:
        """Every value stored under ``key`` (in the order written); [] when there is none."""
        return list(self.values(key))

    def items(self) -> Iterator[tuple[str, str]]:
        """Every (key, value) record, in key order."""
        for i in range(self._count):
            start, end = self._record(i)
            key, _, value = bytes(self._buf[start:end - 1]).decode("utf-8").partition("\t")
            yield key, value

    def values(self, key: str) -> Iterator[str]:
        """The values stored under ``key``, in the order written, decoded one by one as asked for."""
        if not self._count:
            return
        k = key.encode("utf-8")
        lo, hi = 0, self._count
        while lo < hi:  # bisect_left on the record keys
            mid = (lo + hi) // 2
            if self._key_at(mid) < k:
                lo = mid + 1
            else:
                hi = mid
        prefix = k + b"\t"
        n = len(prefix)
        buf = self._buf
        while lo < self._count:
            start, end = self._record(lo)
            if buf[start:start + n] != prefix:
                return
            yield bytes(buf[start + n:end - 1]).decode("utf-8")
            lo += 1


def pack(tables: Mapping[str, Iterable[tuple[str, str]]], *, stamp: str,
         meta: Mapping[str, Any] | None = None) -> bytes:
    """The file's bytes for ``tables`` (name → (key, value) pairs; keys and values without tabs or
    newlines). Values of one key keep their order."""
    blocks: list[tuple[str, bytes, bytes, int]] = []
    for name, pairs in tables.items():
        records = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in pairs]
        records.sort(key=lambda r: r[0])  # stable: a key's values stay in the order given
        offsets, data, at = bytearray(), bytearray(), 0
        for k, v in records:
            if b"\t" in k or b"\n" in k or b"\n" in v:
                raise ValueError(f"table {name}: a key or value holds a tab or newline: {k!r}")
            offsets += _OFFSET.pack(at)
            line = k + b"\t" + v + b"\n"
            data += line
            at += len(line)
        blocks.append((name, bytes(offsets), bytes(data), len(records)))
    # The header gives absolute positions, which depend on its own length: pad it to a fixed width.
    width = 256
    while True:
        layout: dict[str, list[int]] = {}
        at = width
        for name, table_offsets, table_data, count in blocks:
            at += (-at) % 4  # the offsets array is read as uint32: align it
            layout[name] = [at, count, at + len(table_offsets), at + len(table_offsets) + len(table_data)]
            at += len(table_offsets) + len(table_data)
        header = json.dumps({"magic": MAGIC, "stamp": stamp, "meta": dict(meta or {}), "tables": layout,
                             "size": at}, ensure_ascii=False).encode("utf-8")
        if len(header) < width:
            break
        width *= 2
    out = bytearray(header.ljust(width - 1) + b"\n")
    for name, table_offsets, table_data, _count in blocks:
        out += b"\0" * (layout[name][0] - len(out))
        out += table_offsets + table_data
    return bytes(out)


def write_tables(path: Path, tables: Mapping[str, Iterable[tuple[str, str]]], *, stamp: str,
                 meta: Mapping[str, Any] | None = None) -> None:
    """Write the packed file atomically (readers see the old file or the new one, never half)."""
    write_bytes(path, pack(tables, stamp=stamp, meta=meta))


def write_bytes(path: Path, data: bytes) -> None:
    """Write packed bytes to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PackedFile:
    """An opened packed file: its ``meta`` and its tables by name."""

    def __init__(self, buf: Any, header: dict[str, Any]) -> None:
        self.meta: dict[str, Any] = header["meta"]
        self.stamp: str = header["stamp"]
        self.tables = {name: PackedTable(buf, at, count, data_at, data_end)
                       for name, (at, count, data_at, data_end) in header["tables"].items()}
        self._buf = buf

    @classmethod
    def from_bytes(cls, data: bytes) -> PackedFile:
        """Tables over bytes in memory (an index built in this process and not saved)."""
        return cls(data, _header(data, len(data), "<memory>"))


def _header(buf: Any, size: int, where: str) -> dict[str, Any]:
    end = buf.find(b"\n", 0, min(size, 1 << 20))
    if end < 0:
        raise PackedFileError(f"{where}: no header line")
    try:
        header = json.loads(bytes(buf[:end]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackedFileError(f"{where}: the header is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        raise PackedFileError(f"{where}: not a packed index file")
    try:
        tables = header["tables"]
        if header["size"] != size:
            raise PackedFileError(f"{where}: {size} bytes, the header says {header['size']} (truncated?)")
        for name, (at, count, data_at, data_end) in tables.items():
            if not (end < at <= data_at <= data_end <= size and data_at - at == 4 * count and at % 4 == 0):
                raise PackedFileError(f"{where}: table {name!r} lies outside the file")
        if not isinstance(header["meta"], dict) or not isinstance(header["stamp"], str):
            raise PackedFileError(f"{where}: header without meta or stamp")
    except (KeyError, TypeError, ValueError) as exc:
        raise PackedFileError(f"{where}: a malformed header ({type(exc).__name__}: {exc})") from None
    return header


def open_tables(path: Path, *, stamp: str) -> PackedFile:
    """Map ``path`` read-only; :class:`PackedFileError` if it is unusable or built for another ``stamp``."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise PackedFileError(f"{path}: empty")
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise PackedFileError(f"{path}: {exc.strerror or exc}") from None
    header = _header(buf, size, str(path))
    if header["stamp"] != stamp:
        raise PackedFileError(f"{path}: built for {header['stamp']!r}, now {stamp!r} (stale)")
    if sys.platform.startswith("linux"):
        buf.madvise(mmap.MADV_RANDOM)  # look-ups jump about: no read-ahead of pages nobody needs
    return PackedFile(buf, header)


def cache_dir() -> Path:
    """Where prebuilt indexes live: ``$KIOSK_CACHE_DIR``, else ``$XDG_CACHE_HOME/kiosk``, else
    ``~/.cache/kiosk`` (deploy/setup.sh builds them there at install time)."""
    explicit = os.environ.get("KIOSK_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kiosk"


def worked_out_elsewhere(module: str, keys: list[str], *, timeout_s: float) -> dict[str, Any]:
    """``python -m module`` given ``keys`` as JSON on stdin, answering a JSON object with exactly those
    keys: work whose libraries (pypinyin, OpenCC) must not load into the app's own process."""
    done = subprocess.run([sys.executable, "-m", module], input=json.dumps(keys, ensure_ascii=False).encode("utf-8"),
                          capture_output=True, check=True, timeout=timeout_s)
    answer = json.loads(done.stdout)
    if not isinstance(answer, dict) or set(answer) != set(keys):
        raise ValueError("the helper process answered for other texts")
    return answer


def stamped_map(path: Path, stamp: str, section: str, wanted: list[str], *, what: str,
                read: Callable[[Any], Any], elsewhere: Callable[[list[str]], dict[str, Any]],
                here: Callable[[str], Any], log: Any) -> dict[str, Any]:
    """``wanted`` keys → values from the cache file ``path`` (``{"stamp": …, section: {…}}``, used only
    when its stamp is ``stamp``); keys not in it are worked out by ``elsewhere`` (a helper process), or
    by ``here`` one by one if that fails, and the file is rewritten with them. ``read`` checks a stored
    value (None: not usable). A damaged or stale file is said in the log (``what``) and rebuilt, never a
    crash; a file that cannot be written only costs the next start the same work."""
    known: dict[str, Any] = {}
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("stamp") != stamp or not isinstance(data.get(section), dict):
            raise ValueError(f"built for {data.get('stamp') if isinstance(data, dict) else '?'!r}, now {stamp!r}")
        known = {str(k): v for k, v in ((k, read(v)) for k, v in data[section].items()) if v is not None}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.warning("%s: the cache %s is unusable, rebuilding it (%s)", what, path, exc)
    missing = [k for k in wanted if k not in known]
    if missing:
        try:
            known.update(elsewhere(missing))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log.warning("%s: the helper process failed (%s); working it out in this process", what, exc)
            known.update({k: here(k) for k in missing})
        try:
            write_bytes(path, json.dumps({"stamp": stamp, section: known}, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            log.warning("%s: cannot keep the cache at %s (%s)", what, path, exc)
    return {k: known[k] for k in wanted}
