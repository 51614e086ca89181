"""Signed catalog bundles for tests, and the publisher's side of a rollout against the platform simulator
(issue 22). The fleet test calls these too:

    key = SigningKey.generate("intl")
    env = gateway_env(key)                             # KIOSK_CATALOG__BUNDLE_KEYS / __POLL_S for each gateway
    data = make_bundle("2026.12.1", key)               # the packaged catalog, one item renamed
    data = make_bundle("bad", key, damage="signature") # or "truncated", "invalid" (fails validation),
                                                       # "altered" (a file changed after signing)
    publish(sim_url, "2026.12.1", data)
    plan(sim_url, "2026.12.1", percent=10)             # or kiosks=[...], previous="2026.11.1"
    plan_state(sim_url)                                # {"plan": {..., "state": "rolled_back"}, "reports": {...}}
    versions(gateway_urls, token)                      # each gateway's /api/v1/status catalog_version
    wait_versions(gateway_urls, tokens, ["2026.12.1"] * n)   # until every gateway says so (or fail)
"""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from collections.abc import Iterable
from typing import Any

import requests

from kiosk.catalog.bundle import build_bundle, catalog_files, sign_bundle
from kiosk.crypto import SigningKey

RENAMED_ITEM = "mz-hyyy"
RENAMED_FROM = '"婚姻登记预约"'


def renamed_name(version: str) -> str:
    """The 简体 name ``make_bundle`` gives :data:`RENAMED_ITEM` in ``version``: how a resident sees which."""
    return f"婚姻登记预约（{version}）"


def make_bundle(version: str, key: SigningKey, *, damage: str = "") -> bytes:
    """A signed bundle of the packaged catalog with :data:`RENAMED_ITEM` renamed for ``version``;
    ``damage``: ``signature`` (signed by another key), ``truncated``, ``invalid`` (a catalog the
    validator refuses, properly signed), ``altered`` (a file changed after signing)."""
    files = catalog_files(None)
    mz = files["mz.toml"].decode("utf-8")
    assert RENAMED_FROM in mz
    files["mz.toml"] = mz.replace(RENAMED_FROM, f'"{renamed_name(version)}"', 1).encode("utf-8")
    if damage == "invalid":
        files["mz.toml"] = files["mz.toml"].replace(b'kind = "appointment"', b'kind = "teleport"', 1)
    signer = SigningKey.generate("intl") if damage == "signature" else key
    data = sign_bundle(build_bundle(files, version), signer)
    if damage == "truncated":
        return data[: len(data) * 2 // 3]
    if damage == "altered":
        return _retar(data, "catalog/mz.toml", lambda b: b.replace(b"Civil Affairs", b"Civil Affairz"))
    return data


def _retar(data: bytes, name: str, change: Any) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as src, tarfile.open(fileobj=raw, mode="w") as out:
        for info in src:
            f = src.extractfile(info)
            body = f.read() if f else b""
            if info.name == name:
                body = change(body)
            info.size = len(body)
            out.addfile(info, io.BytesIO(body))
    return gzip.compress(raw.getvalue())


def publish(sim_url: str, version: str, data: bytes) -> None:
    answer = requests.put(f"{sim_url}/admin/catalog/bundles/{version}", data=data, timeout=10)
    assert answer.status_code == 201, answer.text


def plan(sim_url: str, version: str, *, previous: str | None = None, percent: float | None = None,
         kiosks: Iterable[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"version": version, "previous": previous}
    if percent is not None:
        body["percent"] = percent
    if kiosks is not None:
        body["kiosks"] = list(kiosks)
    answer = requests.post(f"{sim_url}/admin/catalog/plan", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def plan_state(sim_url: str) -> dict[str, Any]:
    found: dict[str, Any] = requests.get(f"{sim_url}/admin/catalog/plan", timeout=10).json()
    return found


def gateway_env(key: SigningKey, poll_s: float = 1.0) -> dict[str, str]:
    """Settings (as ``KIOSK_…`` variables) for a gateway that takes bundles signed by ``key``."""
    return {"KIOSK_CATALOG__BUNDLE_KEYS": key.public.text(), "KIOSK_CATALOG__POLL_S": str(poll_s)}


def versions(gateway_urls: Iterable[str], token: str | Iterable[str]) -> list[str]:
    """Each gateway's ``catalog_version`` as its operators' status says (one token for all, or one each)."""
    urls = list(gateway_urls)
    tokens = [token] * len(urls) if isinstance(token, str) else list(token)
    out = []
    for url, tok in zip(urls, tokens, strict=True):
        answer = requests.get(f"{url}/api/v1/status", headers={"Authorization": f"Bearer {tok}"}, timeout=10)
        answer.raise_for_status()
        out.append(answer.json()["catalog_version"])
    return out


def wait_versions(gateway_urls: list[str], tokens: list[str], want: list[str], timeout_s: float = 30) -> None:
    """Poll until the gateways' catalog versions are ``want``, in order; AssertionError with what they said."""
    deadline = time.monotonic() + timeout_s
    got: list[str] = []
    while time.monotonic() < deadline:
        got = versions(gateway_urls, tokens)
        if got == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"catalog versions {got}, wanted {want}")
