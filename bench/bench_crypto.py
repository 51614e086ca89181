"""CRYPTO: what the 商用密码 suite (``security.suite = "sm"``) costs against ``intl``, per operation, in the
same run (kiosk/crypto.py; informational).

- ``CRYPTO``: sealing and opening one outbox payload (4 KB of JSON, as a submission with a long form) with
  SM4-GCM; anchor: AES-256-GCM on the same bytes.
- ``CRYPTO-verify``: checking one sign-in code's signature with SM2 (gmalg, pure Python); anchor: Ed25519.
  This is the one SM cost a resident could notice (once per sign-in scan).
- ``CRYPTO-mac``: signing one platform request (HMAC-SM3 over the string to sign with the body's SM3);
  anchor: HMAC-SHA256 with SHA-256.

    .venv/bin/python -m bench.run --only CRYPTO
"""

from __future__ import annotations

import json

from bench.common import Figure, median, percentile, timed
from kiosk import crypto
from local_api.link.signing import sign

PAYLOAD = json.dumps({"applicant": {"name": "张三", "id_number": "11010519491231002X"},
                      "form": {"reason": "离职" * 1000}}, ensure_ascii=False).encode()[:4096]
MESSAGE = b"mzt:signin:v1:q3Zx8kP0sLmN2vB7tR5wYcq3Zx8kP0sL:1795000000"


def _seal_open(suite: str) -> list[float]:
    aead = crypto.Aead(suite, crypto.random_bytes(crypto.AEAD_KEY_BYTES[suite]))  # type: ignore[index]
    return timed(lambda: aead.decrypt(aead.encrypt(PAYLOAD, b"HC-1-20261204-000001-0001"),
                                      b"HC-1-20261204-000001-0001"), 2000)


def _verify(suite: str, repeat: int) -> list[float]:
    key = crypto.SigningKey.generate(suite)
    signature = key.sign(MESSAGE)
    public = key.public
    public.verify(signature, MESSAGE)  # warm up (imports, tables)
    return timed(lambda: public.verify(signature, MESSAGE), repeat)


def _mac(suite: str) -> list[float]:
    return timed(lambda: sign("bench-secret-0123456789", "HC-1", "POST", "/v1/applications", PAYLOAD,
                              suite=suite), 2000)


def run(quick: bool) -> list[Figure]:
    verify_repeat = 20 if quick else 200
    sm_seal, intl_seal = _seal_open("sm"), _seal_open("intl")
    sm_verify, intl_verify = _verify("sm", verify_repeat), _verify("intl", verify_repeat)
    sm_mac, intl_mac = _mac("sm"), _mac("intl")

    def figure(fid: str, name: str, sm: list[float], intl: list[float], anchor: str) -> Figure:
        value, base = median(sm) * 1e6, median(intl) * 1e6
        return Figure(fid, name, round(value, 1), "µs", "informational", None, anchor=anchor,
                      anchor_value=round(base, 1), ratio=round(value / base, 1) if base else None,
                      note=f"p95 {percentile(sm, 95) * 1e6:.1f} µs over {len(sm)}")

    return [
        figure("CRYPTO", "Outbox payload (4 KB) sealed and opened, SM4-GCM", sm_seal, intl_seal,
               "AES-256-GCM, same bytes"),
        figure("CRYPTO-verify", "Sign-in code signature checked, SM2 with SM3 (gmalg)", sm_verify, intl_verify,
               "Ed25519 (cryptography)"),
        figure("CRYPTO-mac", "Platform request signed (4 KB body), HMAC-SM3", sm_mac, intl_mac,
               "HMAC-SHA256"),
    ]
