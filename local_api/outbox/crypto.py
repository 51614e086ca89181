"""Sealing of personal data kept at rest by the gateway (AES-256-GCM).

The outbox keeps submissions until the platform has them; PIPL art. 28/51 and the
kiosk's own rule ("nothing of a resident remains on disk except what is queued for the
platform, encrypted") mean those bytes are sealed with a key that lives in its own file,
readable only by the gateway's user. Each blob is bound to its row by the associated data
(the receipt number), so a blob copied onto another row does not open.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_FILE_NAME = "outbox.key"
KEY_BYTES = 32
NONCE_BYTES = 12
# A format byte in front of every blob leaves room for key rotation without guessing.
BLOB_VERSION = b"\x01"


class SealError(Exception):
    """A blob could not be opened: wrong key, wrong row (associated data) or damaged bytes."""


class KeyFileError(Exception):
    """The key file is missing, unreadable or not a key; the message names the file."""


def _aad_bytes(aad: bytes | str) -> bytes:
    return aad.encode("utf-8") if isinstance(aad, str) else aad


class Sealer:
    """Seals JSON-able objects with AES-256-GCM; ``open`` returns the object again."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_key_file(cls, path: Path) -> Sealer:
        """Use the key in ``path``, creating it (mode 0600) on first start."""
        return cls(load_or_create_key(path))

    def seal(self, obj: Any, aad: bytes | str) -> bytes:
        """Encrypt ``obj`` (anything ``json.dumps`` accepts; never NaN or Infinity) bound to ``aad``."""
        plain = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond a kiosk's volume
        return BLOB_VERSION + nonce + self._aead.encrypt(nonce, plain, _aad_bytes(aad))

    def open(self, blob: bytes, aad: bytes | str) -> Any:
        """Decrypt a blob made by :meth:`seal` with the same ``aad``; :class:`SealError` otherwise."""
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != BLOB_VERSION:
            raise SealError("not a sealed blob of a known format")
        nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, ciphertext, _aad_bytes(aad))
        except InvalidTag as exc:
            raise SealError("blob does not open with this key and associated data") from exc
        return json.loads(plain.decode("utf-8"))


def load_or_create_key(path: Path) -> bytes:
    """Read the 32-byte key in ``path``; create it with mode 0600 if it does not exist.

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
            os.write(fd, os.urandom(KEY_BYTES))
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
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: is {len(key)} bytes, not a {KEY_BYTES}-byte key; "
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
