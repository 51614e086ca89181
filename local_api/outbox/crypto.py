"""Sealing of personal data kept at rest by the gateway (AES-256-GCM or SM4-GCM, :mod:`kiosk.crypto`).

The outbox keeps submissions until the platform has them; PIPL art. 28/51 and the
kiosk's own rule ("nothing of a resident remains on disk except what is queued for the
platform, encrypted") mean those bytes are sealed with a key that lives in its own file,
readable only by the gateway's user. Each blob is bound to its row by the associated data
(the receipt number), so a blob copied onto another row does not open.

Keys carry their algorithm: each suite has its own key file and its own key id, the first byte of
every blob (``0x01`` AES-256-GCM with ``outbox.key`` — the format from before suites, unchanged;
``0x02`` SM4-GCM with ``outbox-sm4.key``). The :class:`Sealer` seals with the key of
``security.suite`` and opens with whichever key a blob names, so a terminal switched from ``intl`` to
``sm`` re-keys online: rows queued before the switch stay readable until they are delivered and purged,
rows accepted after it are SM4-sealed, and nothing waits for a migration.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.crypto import AEAD_KEY_BYTES, Aead, CryptoError, Suite, check_suite, random_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeySpec:
    """One suite's outbox key: its file in the data folder, its size and the id byte its blobs start with."""

    suite: Suite
    file_name: str
    key_id: bytes

    @property
    def size(self) -> int:
        return AEAD_KEY_BYTES[self.suite]


KEYS: dict[Suite, KeySpec] = {
    "intl": KeySpec("intl", "outbox.key", b"\x01"),
    "sm": KeySpec("sm", "outbox-sm4.key", b"\x02"),
}
KEY_FILE_NAME = KEYS["intl"].file_name
KEY_BYTES = KEYS["intl"].size
NONCE_BYTES = 12
# The key id in front of every blob: which key (and so which algorithm) opens it.
BLOB_VERSION = KEYS["intl"].key_id


class SealError(Exception):
    """A blob could not be opened: wrong key, wrong row (associated data) or damaged bytes."""


class KeyFileError(Exception):
    """The key file is missing, unreadable or not a key; the message names the file."""


def _aad_bytes(aad: bytes | str) -> bytes:
    return aad.encode("utf-8") if isinstance(aad, str) else aad


class Sealer:
    """Seals JSON-able objects with the current suite's key; ``open`` returns the object again, with
    whichever of its keys the blob names.

    ``Sealer(key)`` is one AES-256-GCM key (the format before suites); ``Sealer(key, suite="sm")`` one
    SM4-GCM key; :meth:`from_data_folder` the key ring of a gateway's data folder.
    """

    def __init__(self, key: bytes, suite: str = "intl", *, readable: dict[str, bytes] | None = None) -> None:
        current = KEYS[check_suite(suite)]
        if len(key) != current.size:
            raise ValueError(f"key must be {current.size} bytes, got {len(key)}")
        self.suite: Suite = current.suite
        self._current = current.key_id
        self._keys: dict[bytes, Aead] = {current.key_id: Aead(current.suite, key)}
        for other, other_key in (readable or {}).items():
            spec = KEYS[check_suite(other)]
            if spec.key_id not in self._keys:
                self._keys[spec.key_id] = Aead(spec.suite, other_key)

    @classmethod
    def from_key_file(cls, path: Path) -> Sealer:
        """Use the AES key in ``path``, creating it (mode 0600) on first start."""
        return cls(load_or_create_key(path))

    @classmethod
    def from_data_folder(cls, folder: Path, suite: str) -> Sealer:
        """The data folder's key ring: the ``suite``'s key (created, mode 0600, when missing) seals; every
        other suite's key file that exists stays there to open the rows sealed before a switch."""
        current = KEYS[check_suite(suite)]
        key = load_or_create_key(folder / current.file_name, current.size)
        readable: dict[str, bytes] = {}
        for spec in KEYS.values():
            if spec is not current and (folder / spec.file_name).exists():
                readable[spec.suite] = load_or_create_key(folder / spec.file_name, spec.size)
                log.info("outbox: sealing with %s; %s kept to open rows sealed before the switch",
                         current.file_name, spec.file_name)
        return cls(key, current.suite, readable=readable)

    @property
    def algorithm(self) -> str:
        """What new blobs are sealed with (``AES-256-GCM`` or ``SM4-GCM``)."""
        return self._keys[self._current].algorithm

    @staticmethod
    def suite_of(blob: bytes) -> str | None:
        """The suite whose key sealed ``blob`` (from its key id), None for a blob of no known key."""
        return next((spec.suite for spec in KEYS.values() if blob[:1] == spec.key_id), None)

    def seal(self, obj: Any, aad: bytes | str) -> bytes:
        """Encrypt ``obj`` (anything ``json.dumps`` accepts; never NaN or Infinity) bound to ``aad``."""
        plain = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return self._current + self._keys[self._current].encrypt(plain, _aad_bytes(aad))

    def open(self, blob: bytes, aad: bytes | str) -> Any:
        """Decrypt a blob made by :meth:`seal` with the same ``aad``; :class:`SealError` otherwise."""
        aead = self._keys.get(blob[:1])
        if aead is None:
            sealed_by = self.suite_of(blob)
            if sealed_by is not None:
                raise SealError(f"blob sealed with the {sealed_by} suite's key, which this gateway does not "
                                f"have ({KEYS[check_suite(sealed_by)].file_name})")
            raise SealError("not a sealed blob of a known format")
        if len(blob) < 1 + NONCE_BYTES + 16:
            raise SealError("not a sealed blob of a known format")
        try:
            plain = aead.decrypt(blob[1:], _aad_bytes(aad))
        except CryptoError as exc:
            raise SealError("blob does not open with this key and associated data") from exc
        return json.loads(plain.decode("utf-8"))


def load_or_create_key(path: Path, size: int = KEY_BYTES) -> bytes:
    """Read the ``size``-byte key in ``path``; create it with mode 0600 if it does not exist.

    A key file readable by group or others is tightened to 0600 (and logged): the key
    protects ID numbers, so a copy made with a careless umask must not stay open.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not both write a key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.fchmod(fd, 0o600)  # the umask could have narrowed it further, never widened; be exact
            os.write(fd, random_bytes(size))
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(path.parent)
        log.info("created a new outbox key file %s", path)

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("key file %s had mode %o; tightened to 600", path, mode)
            path.chmod(0o600)
        key = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot be read ({exc.strerror}); check its owner and mode") from exc
    if len(key) != size:
        raise KeyFileError(f"{path}: is {len(key)} bytes, not a {size}-byte key; "
                           "restore the right key file (queued submissions need it)")
    return key


def _fsync_dir(folder: Path) -> None:
    # The new directory entry must survive a power cut too, or the key is lost with the data.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
