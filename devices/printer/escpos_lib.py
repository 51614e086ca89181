"""python-escpos, loaded once and where it cannot hurt: its connection classes and command bytes.

``import escpos.printer`` costs 0.3–0.8 s: on every import python-escpos's ``escpos/capabilities.py``
parses its printer-profile file and pickles it into a fresh ``mkdtemp()`` folder (lines 19 and 48)
unless ``ESCPOS_CAPABILITIES_PICKLE_DIR`` names a folder holding the pickle already. So the library
is imported only when a printer is opened or a QR code is encoded (never at start-up), and the
cache is pointed at a private (0700) folder of this user's cache, where the pickle is written once
and loaded in milliseconds afterwards. (Line 19 calls ``mkdtemp()`` even then, as the default of
``environ.get``: one empty folder per process, which the units' ``PrivateTmp=yes`` removes.) A
folder that is not private is not used: python-escpos *loads* that pickle, and a pickle someone
else could write is their code running here.

What is used and what is not, with the evidence, is in docs/architecture.md (receipt printer).
"""

from __future__ import annotations

import functools
import logging
import os
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

from escpos.constants import RT_STATUS

PICKLE_DIR_VAR = "ESCPOS_CAPABILITIES_PICKLE_DIR"
_PACKAGE_DIR = os.sep + "escpos" + os.sep
#: Error-correction levels by letter, as python-escpos numbers them (``QR_ECLEVEL_*``).
_QR_LEVELS = {"L": 0, "M": 1, "Q": 2, "H": 3}
MAX_QR_BYTES = 7089  # the most a QR code holds (numeric, version 40, level L)

__all__ = ["RT_STATUS", "command_bytes", "escpos_error", "escpos_printers", "feed_and_cut", "qr_command",
           "status_query"]


class _QuietConnects(logging.Filter):
    """python-escpos logs "Network printer enabled" / "Closing … connection" at INFO on the root
    logger at every connect and close (``escpos/printer/network.py`` lines 111 and 130); TCP printers
    are connected once per status check, so the journal would get two lines every monitor poll."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or _PACKAGE_DIR not in record.pathname


def _private_cache() -> str | None:
    """``$XDG_CACHE_HOME/kiosk/escpos`` (``~/.cache/kiosk/escpos``), made 0700; None when it cannot be
    made or is not ours alone."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "kiosk" / "escpos"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return str(folder)


def escpos_printers() -> ModuleType:
    """``escpos.printer`` (Network, Serial, Usb, File, Dummy), imported on first use."""
    if PICKLE_DIR_VAR not in os.environ:
        cache = _private_cache()
        if cache is not None:
            os.environ[PICKLE_DIR_VAR] = cache
    root = logging.getLogger()
    if not any(isinstance(f, _QuietConnects) for f in root.filters):
        root.addFilter(_QuietConnects())  # its records are made on the root logger itself
    import escpos.printer  # lazy: slow to import and writes a profile cache (see the module docstring)

    printers: ModuleType = escpos.printer
    return printers


def escpos_error(name: str) -> type[Exception]:
    """One of python-escpos's exception classes (``escpos.exceptions``)."""
    import escpos.exceptions  # lazy: as escpos_printers (this one is cheap, but comes with the rest)

    error: type[Exception] = getattr(escpos.exceptions, name)
    return error


def command_bytes(build: Any) -> bytes:
    """The bytes python-escpos sends for ``build(printer)``, collected on its ``Dummy`` printer,
    e.g. ``command_bytes(lambda p: p.qr("…", native=True))``."""
    dummy = escpos_printers().Dummy()
    build(dummy)
    output: bytes = dummy.output
    return output


@functools.cache
def feed_and_cut() -> bytes:
    """python-escpos's ``cut(feed=False)``: ``GS V 66 0`` (``1d 56 42 00``), "feed to the cutting position,
    then cut partially" — the printer knows how far its cutter sits above the head, so no blank line
    feeds go before it (fixed feeds left ~25 mm of blank paper)."""
    return command_bytes(lambda p: p.cut(feed=False))


def status_query(n: int) -> bytes:
    """Real-time status request ``DLE EOT n`` (``10 04 n``, DEVICES.md §3)."""
    return bytes(RT_STATUS + bytes((n,)))


def qr_command(data: str, module: int, error: str = "M") -> bytes:
    """A native QR code (``GS ( k``: model 2, module size, error level, store, print), as
    python-escpos's ``qr(..., native=True)`` sends it. ValueError for data no QR code holds."""
    payload_len = len(data.encode("utf-8"))
    if not payload_len or payload_len > MAX_QR_BYTES:
        raise ValueError(f"QR payload of {payload_len} bytes: a QR code holds 1 to {MAX_QR_BYTES}")
    return command_bytes(lambda p: p.qr(data, ec=_QR_LEVELS[error], size=module, native=True))
