"""Signed catalog bundles (issue 22): what a publisher builds and signs, what a terminal accepts or refuses
(with the reason an operator reads), and that the app swaps a new catalog in at the attract screen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from catalog_rollout import RENAMED_ITEM, make_bundle, renamed_name

from kiosk.catalog.bundle import (
    PACKAGED,
    ActiveCatalogWatch,
    BundleError,
    BundleStore,
    read_bundle,
)
from kiosk.catalog.bundle_sync import BundleSync
from kiosk.crypto import SigningKey

ROOT = Path(__file__).resolve().parents[2]
KEY = SigningKey.generate("intl")


@pytest.fixture(scope="module")
def good() -> bytes:
    return make_bundle("2026.12.1", KEY)


def test_a_signed_bundle_is_read_installed_and_made_active(tmp_path: Path, good: bytes) -> None:
    bundle = read_bundle(good, [KEY.public])
    assert bundle.version == "2026.12.1" and bundle.signed_by == KEY.public.text()
    store = BundleStore(tmp_path)
    assert store.version() == PACKAGED
    catalog = store.install(bundle)
    assert store.version() == "2026.12.1"
    item = catalog.get(RENAMED_ITEM)
    assert item is not None and item.name.zh_CN == renamed_name("2026.12.1")
    assert len(catalog) > 200


@pytest.mark.parametrize(("damage", "said"), [
    ("signature", "bad signature"),
    ("truncated", "not a whole bundle"),
    ("altered", "SHA-256 or size differs"),
    ("invalid", "fails validation"),
])
def test_a_bad_bundle_is_refused_and_the_old_catalog_keeps_serving(tmp_path: Path, good: bytes, damage: str,
                                                                   said: str) -> None:
    store = BundleStore(tmp_path)
    store.install(read_bundle(good, [KEY.public]))
    bad = make_bundle("2026.12.2", KEY, damage=damage)
    with pytest.raises(BundleError, match=said) as refused:
        store.install(read_bundle(bad, [KEY.public]))
    assert store.version() == "2026.12.1"
    assert store.installed() == ["2026.12.1"]  # nothing half-unpacked left behind
    if damage == "invalid":
        assert "mz.toml: mz-hyyy: kind" in str(refused.value)


def test_an_unsigned_bundle_and_one_with_no_trusted_key_are_refused(good: bytes) -> None:
    from kiosk.catalog.bundle import build_bundle, catalog_files

    with pytest.raises(BundleError, match="not signed"):
        read_bundle(build_bundle(catalog_files(None), "1"), [KEY.public])
    with pytest.raises(BundleError, match="catalog.bundle_keys"):
        read_bundle(good, [])


def test_sync_installs_refuses_reports_and_rolls_back(tmp_path: Path, good: bytes) -> None:
    """The gateway's rollout logic against a platform played by plain functions."""
    shelf = {"2026.12.1": good, "2026.12.2": make_bundle("2026.12.2", KEY, damage="signature")}
    answer: dict[str, object] = {"version": "2026.12.1"}
    reports: list[tuple[str, str, str]] = []
    downloads: list[str] = []

    def download(version: str) -> bytes:
        downloads.append(version)
        return shelf[version]

    store = BundleStore(tmp_path)
    sync = BundleSync(store, [KEY.public], plan=lambda: answer, download=download,
                      report=lambda *r: reports.append(r))
    assert sync.sync_once().action == "installed" and store.version() == "2026.12.1"
    assert sync.sync_once().action == "unchanged"
    answer["version"] = "2026.12.2"
    outcome = sync.sync_once()
    assert outcome.action == "refused" and "bad signature" in outcome.detail
    assert store.version() == "2026.12.1" and "bad signature" in sync.last_error
    assert reports == [("2026.12.1", "active", ""), ("2026.12.2", "invalid", outcome.detail)]
    sync.sync_once()
    assert downloads.count("2026.12.2") == 1  # a refused bundle is not fetched again
    answer["version"] = "packaged"
    assert sync.sync_once().action == "activated" and store.version() == PACKAGED
    answer["version"] = "2026.12.1"  # already here: activated again without a download
    assert sync.sync_once().action == "activated" and downloads.count("2026.12.1") == 1


def test_reports_the_platform_missed_are_sent_again(tmp_path: Path, good: bytes) -> None:
    sent: list[tuple[str, str, str]] = []
    down = [True]

    def report(*r: str) -> None:
        if down[0]:
            raise ConnectionError("platform down")
        sent.append(r)

    sync = BundleSync(BundleStore(tmp_path), [KEY.public], plan=lambda: {"version": "2026.12.1"},
                      download=lambda v: good, report=report)
    assert sync.sync_once().action == "installed" and sent == []
    down[0] = False
    sync.sync_once()
    assert sent == [("2026.12.1", "active", "")]


def test_the_watch_hands_over_a_new_catalog_once(tmp_path: Path, good: bytes) -> None:
    store = BundleStore(tmp_path)
    watch = ActiveCatalogWatch(store, PACKAGED)
    watch.check()
    assert watch.take() is None
    store.install(read_bundle(good, [KEY.public]))
    watch.check()
    version, catalog = watch.take() or ("", None)
    assert version == "2026.12.1" and catalog is not None
    assert catalog.get(RENAMED_ITEM).name.zh_CN == renamed_name("2026.12.1")  # type: ignore[union-attr]
    watch.check()
    assert watch.take() is None


def test_the_commands_build_sign_and_verify(tmp_path: Path) -> None:
    def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk", "catalog", "bundle", *args], cwd=tmp_path,
                              capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                              timeout=60, check=False)

    made = kiosk("keygen", "--out", "publisher.key")
    assert made.returncode == 0, made.stderr
    public = made.stdout.split("catalog.bundle_keys: ")[1].strip()
    assert (tmp_path / "publisher.key").stat().st_mode & 0o777 == 0o600
    assert kiosk("build", "--version", "2026.12.9", "--out", "c.bundle").returncode == 0
    assert kiosk("verify", "c.bundle", "--public-key", public).returncode == 2  # not signed yet
    assert kiosk("sign", "c.bundle", "--key", "publisher.key").returncode == 0
    checked = kiosk("verify", "c.bundle", "--public-key", public)
    assert checked.returncode == 0 and "bundle 2026.12.9 OK" in checked.stdout, checked.stderr
    other = SigningKey.generate("intl").public.text()
    refused = kiosk("verify", "c.bundle", "--public-key", other)
    assert refused.returncode == 2 and "bad signature" in refused.stderr


def test_a_bundle_that_unpacks_to_too_much_is_refused_before_it_is_read() -> None:
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("catalog/mz.toml")
        info.size = 70 * 1024 * 1024
        tar.addfile(info, io.BytesIO(b"\0" * info.size))
    with pytest.raises(BundleError, match="unpacks to more than"):
        read_bundle(gzip.compress(raw.getvalue(), compresslevel=1), [KEY.public])
