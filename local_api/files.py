"""Files the gateway keeps in its data folder (the out-of-service switch, local device settings,
tokens): written whole or not at all, and readable by their owner only (:func:`secure_folder`)."""

from __future__ import annotations

import os
import stat
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
