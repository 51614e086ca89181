"""Files the gateway keeps in its data folder (the out-of-service switch, local device settings,
tokens): written whole or not at all, and readable by their owner only (:func:`secure_folder`)."""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
"""The data folder (and any folder in it) is the gateway user's alone; so is every file: personal data
(sealed, but the key lies beside it), tokens, the audit."""


def secure_folder(folder: Path) -> list[str]:
    """Make ``folder`` (created if missing) and every folder in it 0700 and every file in it 0600 where they
    were open to other users; returns what was fixed, or could not be, in plain words. Stricter modes are
    kept; links are not followed."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    said: list[str] = []
    for root, _, files in os.walk(folder):
        for path, wanted in [(root, FOLDER_MODE), *((os.path.join(root, name), FILE_MODE) for name in files)]:
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue  # gone since the listing
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode) or not mode & 0o077:
                continue
            what = "folder" if stat.S_ISDIR(info.st_mode) else "file"
            try:
                os.chmod(path, wanted)
            except OSError as exc:
                said.append(f"the {what} {path} is open to other users of this computer (mode {mode:04o}) and "
                            f"could not be made {wanted:04o} ({exc.strerror}): run chmod {wanted:o} {path}")
            else:
                said.append(f"the {what} {path} was open to other users of this computer (mode {mode:04o}); "
                            f"it is now {wanted:04o}, its owner's only")
    return said


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a power cut
    finally:
        os.close(dir_fd)


class FreeSpace:
    """The free space of the disk under a folder, for the check before each submission is stored.

    ``statvfs`` on every request cost the gateway 4.5 % of its work (issue 25): the reading is reused
    for up to ``max_age_s`` while the disk is far from its limit (more than ``near_bytes`` above what
    must stay free, after what was announced since the reading), and taken afresh on every call
    near it, so a filling disk is still caught at once. Thread-safe.
    """

    def __init__(self, folder: Path, *, max_age_s: float = 1.0, near_bytes: int = 64 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = folder
        self.max_age_s = max_age_s
        self.near_bytes = near_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._free = 0
        self._announced = 0  # bytes announced since the reading

    def free(self, keep: int, incoming: int = 0) -> int:
        """Free bytes now (less what was announced since the reading), for a write of ``incoming`` bytes
        that must leave ``keep`` free; the write is announced. Raises ``OSError`` when the disk cannot
        be read."""
        with self._lock:
            now = self._clock()
            estimate = self._free - self._announced
            if (self._read_at is None or now - self._read_at >= self.max_age_s
                    or estimate - incoming < keep + self.near_bytes):
                self._read_at = None  # a failed reading is not reused
                estimate = shutil.disk_usage(self.folder).free
                self._free, self._announced, self._read_at = estimate, 0, now
            self._announced += incoming
            return estimate
