"""Which smart-card readers pcscd knows, for ``kiosk devices list``.

:func:`list_readers` never crashes: without pcscd (or without a usable pyscard) it raises a
:class:`~devices.base.DeviceError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

from typing import Any

from devices.base import DeviceError
from devices.smartcard import pcsc


def list_readers() -> list[dict[str, Any]]:
    """One dict per reader: ``name``, ``kind`` ("pcsc"), ``card_present`` (bool) and ``state``
    ("card", "empty", "unavailable"). [] when pcscd runs but knows no reader.

    Raises :class:`~devices.smartcard.pcsc.PcscServiceUnavailable` when pcscd is not running.
    """
    try:
        from smartcard import scard  # lazy: pyscard is optional; only PC/SC readers load it
    except ImportError as exc:
        raise DeviceError(f"pyscard cannot be loaded ({exc}): install libpcsclite1 and reinstall pyscard "
                          "(deploy/setup.sh does both)") from exc
    context = pcsc.establish()
    try:
        names = pcsc.list_reader_names(context)
        if not names:
            return []
        hresult, states = scard.SCardGetStatusChange(
            context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names])
        if pcsc.code(hresult) not in (pcsc.S_SUCCESS, pcsc.E_TIMEOUT):
            pcsc.raise_for(hresult, "reading the state of the card readers")
        out = []
        for name, event, _atr in states:  # the ATR is left out: some cards put a serial number in it
            if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_IGNORE):
                state = "unavailable"
            else:
                state = "card" if event & scard.SCARD_STATE_PRESENT else "empty"
            out.append({"name": name, "kind": "pcsc", "card_present": state == "card", "state": state})
        return out
    except DeviceError:
        raise
    except Exception as exc:  # a PC/SC library surprise must not crash the technician's listing
        raise DeviceError(f"listing smart-card readers failed unexpectedly: {exc!r}") from exc
    finally:
        pcsc.release(context)
