"""Signed catalog bundles: the catalog's TOML files published as one versioned, signed file (issue 22).

A bundle is a gzip'd tar with

- ``manifest.json``: ``{"format": "kiosk-catalog-bundle/1", "version": …, "created": …, "files":
  {"mz.toml": {"sha256": …, "size": …}, …}}``
- ``manifest.sig``: ``{"algorithm": "Ed25519", "key": <public key, base64>, "signature": <base64>}``,
  the publisher's signature over the manifest's exact bytes
- ``catalog/<name>.toml`` and ``catalog/guides/<dept>.toml``: the files the manifest lists, nothing else.

Publishers make one with ``kiosk catalog bundle build`` and ``… sign``; a gateway reads one with
:func:`read_bundle`, which checks that it is a whole tar, that the manifest is signed by a key of
``catalog.bundle_keys`` and that every file has the manifest's size and SHA-256, and
:meth:`BundleStore.install` runs the catalog's own checks (:meth:`Catalog.load`) before it makes the
version active. Anything wrong raises :class:`BundleError` with a message for the operator; the
catalog that was active keeps serving.

On a terminal the store is ``<data folder>/catalog/``: ``versions/<version>/`` (each installed bundle
unpacked) and ``active.json`` (which one the app shows). The app watches ``active.json``
(:class:`ActiveCatalogWatch`) and swaps the new catalog in at the next attract screen.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import logging
import re
import shutil
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.catalog.loading import Catalog, CatalogError
from kiosk.catalog.packed import write_bytes
from kiosk.crypto import SigningKey, VerifyKey, load_verify_key, sha256_hex

log = logging.getLogger(__name__)

FORMAT = "kiosk-catalog-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FOLDER = "catalog/"
MAX_BUNDLE_BYTES = 8 * 1024 * 1024
MAX_FILES = 200
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # a gzip bomb stops here, before its bytes are read
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_NAME = re.compile(r"^(guides/)?[a-z0-9][a-z0-9_-]{0,63}\.toml$")
"""A catalog file's name in a bundle: a top-level file, or a department's guide (``guides/<dept>.toml``)."""
STORE_FOLDER = "catalog"
ACTIVE_FILE = "active.json"
KEEP_VERSIONS = 4
PACKAGED = "packaged"
"""The catalog version a terminal reports while no bundle is active: its packaged (or configured) catalog."""


class BundleError(Exception):
    """A bundle refused: the message says why, for the operator (the old catalog keeps serving)."""


@dataclass(frozen=True)
class CatalogBundle:
    """A bundle whose signature and file hashes were checked."""

    version: str
    created: str
    files: dict[str, bytes]
    manifest: bytes
    signed_by: str
    sha256: str
    """SHA-256 of the whole bundle file, as published."""


def _check_version(version: str) -> str:
    if not VERSION_PATTERN.match(version):
        raise BundleError(f"version {version!r}: use letters, digits and . _ + - (at most 64)")
    return version


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    """A deterministic gzip'd tar (same inputs, same bytes): no times, owners or modes of the publisher."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def catalog_files(folder: Path | None) -> dict[str, bytes]:
    """The catalog's TOML files by name: ``folder``'s, or the packaged ``config/catalog/``."""
    if folder is None:
        # lazy: importlib.resources only for the packaged catalog
        from importlib import resources

        packaged = resources.files("config").joinpath("catalog")
        files = {e.name: e.read_bytes() for e in sorted(packaged.iterdir(), key=lambda e: e.name)
                 if e.name.endswith(".toml")}
        guides = packaged.joinpath("guides")
        if guides.is_dir():  # the items' 办事指南 (kiosk/catalog/guide.py) travel with them
            files |= {f"guides/{e.name}": e.read_bytes() for e in sorted(guides.iterdir(), key=lambda e: e.name)
                      if e.name.endswith(".toml")}
        return files
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.toml"))} | \
        {f"guides/{p.name}": p.read_bytes() for p in sorted(folder.glob("guides/*.toml"))}


def build_bundle(files: dict[str, bytes], version: str, *, created: str | None = None) -> bytes:
    """An unsigned bundle of ``files`` (name → bytes) as ``version``; sign it with :func:`sign_bundle`."""
    _check_version(version)
    if not files:
        raise BundleError("no catalog files (*.toml) to bundle")
    for name in files:
        if not _NAME.match(name):
            raise BundleError(f"{name}: a catalog file name is lower-case letters, digits, _ and -, ending .toml")
    manifest = json.dumps({
        "format": FORMAT, "version": version,
        "created": created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {n: {"sha256": sha256_hex(d), "size": len(d)} for n, d in sorted(files.items())},
    }, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    return _tar([(MANIFEST, manifest)] + [(FOLDER + n, d) for n, d in sorted(files.items())])


def _members(data: bytes) -> dict[str, bytes]:
    """The tar's regular files by name; BundleError for a truncated or damaged file or anything odd in it."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is {len(data)} bytes, more than the {MAX_BUNDLE_BYTES} allowed")
    out: dict[str, bytes] = {}
    unpacked = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for info in tar:
                if len(out) >= MAX_FILES + 2:
                    raise BundleError(f"the bundle holds more than {MAX_FILES} files")
                if not info.isreg():
                    raise BundleError(f"{info.name}: not a regular file (links and folders are refused)")
                if info.name in out:
                    raise BundleError(f"{info.name}: twice in the bundle")
                unpacked += info.size
                if unpacked > MAX_UNPACKED_BYTES:
                    raise BundleError(f"the bundle unpacks to more than {MAX_UNPACKED_BYTES} bytes")
                f = tar.extractfile(info)
                if f is None:
                    raise BundleError(f"{info.name}: unreadable")
                out[info.name] = f.read()
                if len(out[info.name]) != info.size:
                    raise BundleError(f"{info.name}: cut short (truncated bundle)")
    except BundleError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BundleError(f"not a whole bundle (truncated or damaged download?): {exc}") from None
    return out


def sign_bundle(data: bytes, key: SigningKey) -> bytes:
    """``data`` (a built bundle) with ``manifest.sig`` by ``key`` (any earlier signature replaced)."""
    members = _members(data)
    manifest = members.get(MANIFEST)
    if manifest is None:
        raise BundleError("no manifest.json: build the bundle with `kiosk catalog bundle build` first")
    signature = json.dumps({"algorithm": key.algorithm, "key": key.public.text(),
                            "signature": base64.b64encode(key.sign(manifest)).decode("ascii")}).encode("utf-8")
    rest = [(n, d) for n, d in members.items() if n not in (MANIFEST, SIGNATURE)]
    return _tar([(MANIFEST, manifest), (SIGNATURE, signature)] + sorted(rest))


def trusted_keys(texts: Sequence[str]) -> list[VerifyKey]:
    """The publishers' public keys from ``catalog.bundle_keys`` (base64); ValueError names a bad one."""
    keys: list[VerifyKey] = []
    for index, text in enumerate(texts):
        try:
            key = load_verify_key(text)
        except ValueError as exc:
            raise ValueError(f"catalog.bundle_keys[{index}]: {exc}") from None
        if key is not None:
            keys.append(key)
    return keys


def _signed_by(manifest: bytes, signature_file: bytes | None, keys: Sequence[VerifyKey]) -> str:
    if signature_file is None:
        raise BundleError("the bundle is not signed (no manifest.sig): sign it with `kiosk catalog bundle sign`")
    try:
        sig = json.loads(signature_file)
        signature = base64.b64decode(str(sig["signature"]), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BundleError("manifest.sig is damaged (not the JSON `kiosk catalog bundle sign` writes)") from None
    if not keys:
        raise BundleError("no publisher key is trusted here: set catalog.bundle_keys to the publisher's public key")
    for key in keys:
        if key.verify(signature, manifest):
            return key.text()
    raise BundleError("bad signature: the manifest was not signed by a key in catalog.bundle_keys "
                      "(altered bundle, or signed with another key)")


def read_bundle(data: bytes, keys: Sequence[VerifyKey]) -> CatalogBundle:
    """Check a bundle file: whole, signed by one of ``keys``, every file as the manifest says. Raises
    :class:`BundleError` with the reason otherwise. (The catalog's own checks run at install.)"""
    members = _members(data)
    manifest_bytes = members.get(MANIFEST)
    if manifest_bytes is None:
        raise BundleError("no manifest.json in the bundle")
    signed_by = _signed_by(manifest_bytes, members.get(SIGNATURE), keys)
    try:
        manifest = json.loads(manifest_bytes)
        listed: dict[str, Any] = manifest["files"]
        version, created = str(manifest["version"]), str(manifest.get("created", ""))
        fmt = manifest["format"]
    except (ValueError, KeyError, TypeError):
        raise BundleError("manifest.json is not a bundle manifest") from None
    if fmt != FORMAT:
        raise BundleError(f"bundle format {fmt!r}: this terminal reads {FORMAT!r} (update the software first)")
    _check_version(version)
    files: dict[str, bytes] = {}
    for name, body in members.items():
        if name in (MANIFEST, SIGNATURE):
            continue
        short = name[len(FOLDER):] if name.startswith(FOLDER) else ""
        if short not in listed:
            raise BundleError(f"{name}: in the bundle but not in its manifest")
        files[short] = body
    for name, entry in listed.items():
        if not isinstance(name, str) or not _NAME.match(name) or not isinstance(entry, dict):
            raise BundleError(f"manifest.json: a bad file entry {name!r}")
        found = files.get(name)
        if found is None:
            raise BundleError(f"{name}: in the manifest but missing from the bundle (truncated?)")
        if len(found) != entry.get("size") or sha256_hex(found) != entry.get("sha256"):
            raise BundleError(f"{name}: its SHA-256 or size differs from the manifest (altered bundle)")
    return CatalogBundle(version, created, files, manifest_bytes, signed_by, sha256_hex(data))


@dataclass(frozen=True)
class ActiveCatalog:
    """The bundle the app shows: its version and the folder it was unpacked to."""

    version: str
    path: Path
    sha256: str


class BundleStore:
    """Installed bundles in ``root`` (``<data folder>/catalog``): ``versions/<v>/`` and ``active.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    @classmethod
    def for_data_folder(cls, data_path: Path) -> BundleStore:
        return cls(data_path / STORE_FOLDER)

    @property
    def active_file(self) -> Path:
        return self.root / ACTIVE_FILE

    def active(self) -> ActiveCatalog | None:
        """The active bundle, or None (the packaged or configured catalog serves)."""
        try:
            data = json.loads(self.active_file.read_bytes())
            version = _check_version(str(data["version"]))
            return ActiveCatalog(version, self.root / "versions" / version, str(data.get("sha256", "")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, BundleError) as exc:
            log.error("catalog bundles: %s is unreadable (%s); the packaged catalog serves", self.active_file, exc)
            return None

    def version(self) -> str:
        """The active bundle's version, or :data:`PACKAGED`."""
        active = self.active()
        return active.version if active else PACKAGED

    def installed(self) -> list[str]:
        folder = self.root / "versions"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def install(self, bundle: CatalogBundle) -> Catalog:
        """Unpack ``bundle``, run the catalog's checks on it and make it active; BundleError (nothing
        changed) when the catalog is invalid. Returns the loaded catalog."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.root))
            try:
                for name, body in bundle.files.items():
                    (staging / name).parent.mkdir(exist_ok=True)  # guides/ (the names are checked: _NAME)
                    (staging / name).write_bytes(body)
                (staging / MANIFEST).write_bytes(bundle.manifest)
                catalog = _load_checked(staging, bundle.version)
                final = self.root / "versions" / bundle.version
                final.parent.mkdir(exist_ok=True)
                if final.exists():
                    shutil.rmtree(final)
                staging.rename(final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._point_at(bundle.version, bundle.sha256)
            self._prune(bundle.version)
        catalog.source = f"catalog bundle {bundle.version}"
        return catalog

    def activate(self, version: str) -> bool:
        """Make an installed version active again (a rollback to a bundle already here, its files checked
        against its manifest); False when it is not here whole (fetch it again)."""
        with self._lock:
            folder = self.root / "versions" / _check_version(version)
            try:
                manifest = json.loads((folder / MANIFEST).read_bytes())
                for name, entry in manifest["files"].items():
                    if sha256_hex((folder / name).read_bytes()) != entry["sha256"]:
                        return False
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                return False
            self._point_at(version, "")
            return True

    def deactivate(self) -> None:
        """Back to the packaged (or configured) catalog."""
        with self._lock:
            self.active_file.unlink(missing_ok=True)

    def _point_at(self, version: str, sha256: str) -> None:
        write_bytes(self.active_file, json.dumps({"version": version, "sha256": sha256,
                                                  "activated_at": time.time()}).encode("utf-8"))

    def _prune(self, keep: str) -> None:
        folder = self.root / "versions"
        old = sorted((p for p in folder.iterdir() if p.is_dir() and p.name != keep),
                     key=lambda p: p.stat().st_mtime, reverse=True)
        for path in old[KEEP_VERSIONS - 1:]:
            shutil.rmtree(path, ignore_errors=True)


def _load_checked(folder: Path, version: str) -> Catalog:
    try:
        return Catalog.load(folder)
    except CatalogError as exc:
        first = "; ".join(str(p).replace(str(folder) + "/", "") for p in exc.problems[:3])
        more = f" … and {len(exc.problems) - 3} more" if len(exc.problems) > 3 else ""
        raise BundleError(f"catalog {version} fails validation ({len(exc.problems)} problem(s)): "
                          f"{first}{more}") from None


def load_serving_catalog(data_path: Path, configured: str = "") -> tuple[str, Catalog]:
    """The catalog a terminal serves at start, with its version: the active bundle's, else the configured
    (or packaged) one as :data:`PACKAGED`. A damaged active bundle is logged and passed over."""
    active = BundleStore.for_data_folder(data_path).active()
    if active is not None:
        try:
            catalog = Catalog.load(active.path)
            catalog.source = f"catalog bundle {active.version}"
            return active.version, catalog
        except CatalogError as exc:
            log.error("catalog bundle %s does not load (%s); serving the configured catalog", active.version,
                      str(exc).splitlines()[0])
    return PACKAGED, Catalog.load(configured or None)


class ActiveCatalogWatch:
    """The app's side: notices a new ``active.json`` (checked every ``interval_s`` on its own thread),
    loads and warms that catalog off the UI thread, and hands it over with :meth:`take` (the terminal
    swaps it in at the attract screen). A catalog that does not load is logged and skipped."""

    def __init__(self, store: BundleStore, current: str, *, interval_s: float = 2.0, configured: str = "",
                 warm: Callable[[Catalog], None] | None = None) -> None:
        self.store = store
        self.configured = configured
        self.current = current
        self.interval_s = interval_s
        self.warm = warm
        self._ready: tuple[str, Catalog] | None = None
        self._failed: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ActiveCatalogWatch:
        self._thread = threading.Thread(target=self._run, name="catalog-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check()

    def check(self) -> None:
        """Look once: load the active catalog when its version is not the one shown (or offered)."""
        active = self.store.active()
        version = active.version if active else PACKAGED
        with self._lock:
            offered = self._ready[0] if self._ready else self.current
        if version in (offered, self._failed):
            return
        try:
            catalog = Catalog.load(active.path) if active else Catalog.load(self.configured or None)
            if self.warm is not None:
                self.warm(catalog)
        except CatalogError as exc:
            self._failed = version
            log.error("catalog %s does not load here (%s); the current catalog keeps serving", version,
                      str(exc).splitlines()[0])
            return
        catalog.source = f"catalog bundle {version}" if active else catalog.source
        with self._lock:
            self._ready = (version, catalog)
        log.info("catalog %s loaded; it is shown from the next attract screen", version)

    def take(self) -> tuple[str, Catalog] | None:
        """The new catalog, once, when one is ready."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is not None:
            self.current = ready[0]
        return ready
