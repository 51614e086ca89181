"""Every cryptographic primitive the kiosk and its gateway use, in one place (issue 27).

Two suites, chosen by ``security.suite`` in the settings:

===========================  ==========================  ===========================================
use                          ``intl`` (today's bytes)     ``sm`` (商用密码, GB/T 39786)
===========================  ==========================  ===========================================
data at rest (outbox)        AES-256-GCM                 SM4-GCM (GB/T 32907, GCM as in RFC 8998)
platform request signatures  HMAC-SHA256, SHA-256 body   HMAC-SM3, SM3 body (GB/T 32905)
signatures (sign-in codes)   Ed25519                     SM2 with SM3, user id 1234567812345678
                                                         (GB/T 32918.2, GM/T 0009)
===========================  ==========================  ===========================================

AES, SM4, GCM, SHA-256, SM3 and Ed25519 come from ``cryptography`` (OpenSSL); SM2 signatures come from
``gmalg`` (pure Python, MIT; ``cryptography`` has no SM2): see docs/architecture.md for the choice. No
other module imports a primitive (tests/test_architecture.py holds every other module to that), so a
change of algorithm, library or parameters is made here and only here.

Keys carry their algorithm: an :class:`Aead` and a :class:`SigningKey`/:class:`VerifyKey` know theirs
(``.algorithm``); a public key written as text may carry an ``sm2:`` or ``ed25519:`` prefix, and without
one its length says which it is (32 bytes Ed25519, 65 bytes 04‖x‖y SM2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

Suite = Literal["intl", "sm"]
SUITES: tuple[Suite, ...] = ("intl", "sm")
DEFAULT_SUITE: Suite = "intl"

SM2_DEFAULT_USER_ID = b"1234567812345678"
"""The user id (ID_A) GM/T 0009 fixes for SM2 signatures when the parties agree no other."""

NONCE_BYTES = 12
TAG_BYTES = 16
SIGNATURE_BYTES = 64  # Ed25519, and SM2 as r‖s (32 bytes each)


class CryptoError(Exception):
    """Ciphertext that does not open (wrong key, wrong associated data, altered bytes)."""


def check_suite(suite: str) -> Suite:
    """``suite`` when it is one we have; ValueError naming the choices otherwise."""
    if suite == "intl":
        return "intl"
    if suite == "sm":
        return "sm"
    raise ValueError(f"unknown crypto suite {suite!r}: use one of {', '.join(SUITES)}")


# --- hashes and MACs ------------------------------------------------------------------------------------

def digest(suite: str, data: bytes) -> bytes:
    """The suite's hash of ``data``: SHA-256 (intl) or SM3 (sm), 32 bytes."""
    if check_suite(suite) == "intl":
        return hashlib.sha256(data).digest()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3(data: bytes) -> bytes:
    """SM3 of ``data`` (GB/T 32905)."""
    return digest("sm", data)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``: for fingerprints of things that are not secrets, whatever the suite."""
    return hashlib.sha256(data).hexdigest()


def certificate_not_after(pem: bytes) -> float:
    """When the first PEM certificate in ``pem`` expires (Unix time); ValueError if there is none."""
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()


def mac(suite: str, key: bytes, message: bytes) -> bytes:
    """The suite's MAC of ``message``: HMAC-SHA256 (intl) or HMAC-SM3 (sm), 32 bytes."""
    if check_suite(suite) == "intl":
        return hmac.new(key, message, hashlib.sha256).digest()
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(message)
    return h.finalize()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256, for keyed hashes kept with data whose format names SHA-256 (token hashes, CSRF)."""
    return hmac.new(key, message, hashlib.sha256).digest()


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA1, only for RFC 4226/6238 one-time codes (authenticator apps compute TOTP with SHA-1)."""
    return hmac.new(key, message, hashlib.sha1).digest()


def equal(a: bytes | str, b: bytes | str) -> bool:
    """Compare two MACs, hashes or secrets in constant time (``str`` as UTF-8)."""
    a_bytes = a.encode("utf-8") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def scrypt(secret: bytes, salt: bytes, *, n: int, r: int, p: int, length: int = 32) -> bytes:
    """scrypt (RFC 7914, OpenSSL's) of a PIN or password: memory-hard, for secrets people choose."""
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=length)


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    return os.urandom(n)


# --- authenticated encryption ---------------------------------------------------------------------------

AEAD_KEY_BYTES: dict[Suite, int] = {"intl": 32, "sm": 16}
AEAD_NAMES: dict[Suite, str] = {"intl": "AES-256-GCM", "sm": "SM4-GCM"}


class Aead:
    """AES-256-GCM (intl) or SM4-GCM (sm) with a random 96-bit nonce per message.

    :meth:`encrypt` returns ``nonce ‖ ciphertext ‖ tag``; :meth:`decrypt` takes that back and raises
    :class:`CryptoError` when the key, the associated data or a byte differs.
    """

    def __init__(self, suite: str, key: bytes) -> None:
        self.suite: Suite = check_suite(suite)
        want = AEAD_KEY_BYTES[self.suite]
        if len(key) != want:
            raise ValueError(f"a {AEAD_NAMES[self.suite]} key is {want} bytes, got {len(key)}")
        self._key = key
        self._aes = AESGCM(key) if self.suite == "intl" else None

    @property
    def algorithm(self) -> str:
        return AEAD_NAMES[self.suite]

    def encrypt(self, plain: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond a kiosk's volume
        if self._aes is not None:
            return nonce + self._aes.encrypt(nonce, plain, aad)
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(plain) + enc.finalize()
        return nonce + body + enc.tag

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise CryptoError("ciphertext too short")
        nonce, rest = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            if self._aes is not None:
                return self._aes.decrypt(nonce, rest, aad)
            body, tag = rest[:-TAG_BYTES], rest[-TAG_BYTES:]
            dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
            dec.authenticate_additional_data(aad)
            return dec.update(body) + dec.finalize()
        except InvalidTag as exc:
            raise CryptoError("does not open with this key and associated data") from exc


def sm4_encrypt_block(key: bytes, block: bytes, *, times: int = 1) -> bytes:
    """One 16-byte SM4 block encrypted ``times`` times over: for the GB/T 32907 known-answer tests only."""
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    for _ in range(times):
        block = enc.update(block)
    return block + enc.finalize()


# --- signatures -----------------------------------------------------------------------------------------

SIGNATURE_NAMES: dict[Suite, str] = {"intl": "Ed25519", "sm": "SM2"}
_PREFIX: dict[Suite, str] = {"intl": "ed25519:", "sm": "sm2:"}


def _gmalg_sm2(*, sk: bytes | None = None, pk: bytes | None = None, uid: bytes = SM2_DEFAULT_USER_ID) -> object:
    # lazy: gmalg (pure Python SM2) loads only where an SM2 key is used
    import gmalg

    return gmalg.SM2(sk=sk, uid=uid, pk=pk)


class VerifyKey:
    """A public key with its algorithm: Ed25519 (32 raw bytes) or SM2 (65 bytes, 04‖x‖y)."""

    def __init__(self, suite: str, raw: bytes) -> None:
        self.suite: Suite = check_suite(suite)
        if self.suite == "intl":
            if len(raw) != 32:
                raise ValueError(f"an Ed25519 public key is 32 bytes, this is {len(raw)}: copy the whole key")
            self._ed: Ed25519PublicKey | None = Ed25519PublicKey.from_public_bytes(raw)
            self._sm2: object = None
        else:
            if len(raw) == 64:
                raw = b"\x04" + raw
            if len(raw) != 65 or raw[0] != 4:
                raise ValueError(f"an SM2 public key is 65 bytes (04, x, y), this is {len(raw)}: copy the whole key")
            sm2 = _gmalg_sm2(pk=raw)
            try:
                valid = sm2.verify_pk(raw)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - gmalg raises its own errors for points off the curve
                valid = False
            if not valid:
                raise ValueError("not a point on the SM2 curve: copy the whole key")
            self._ed = None
            self._sm2 = sm2
        self.raw = raw

    @property
    def algorithm(self) -> str:
        return SIGNATURE_NAMES[self.suite]

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` (64 bytes) is this key's over ``message``; False for anything else."""
        if len(signature) != SIGNATURE_BYTES:
            return False
        if self._ed is not None:
            try:
                self._ed.verify(signature, message)
            except InvalidSignature:
                return False
            return True
        return bool(self._sm2.verify(message, signature[:32], signature[32:]))  # type: ignore[attr-defined]

    def text(self, *, prefixed: bool = False) -> str:
        """Standard base64 of the raw key, with ``ed25519:``/``sm2:`` in front when ``prefixed``."""
        body = base64.b64encode(self.raw).decode("ascii")
        return _PREFIX[self.suite] + body if prefixed else body


class SigningKey:
    """A private key with its algorithm: Ed25519 or SM2 (with SM3 and the standard user id)."""

    def __init__(self, suite: str, raw: bytes) -> None:
        self.suite: Suite = check_suite(suite)
        if self.suite == "intl":
            self._ed: Ed25519PrivateKey | None = Ed25519PrivateKey.from_private_bytes(raw)
            self.public = VerifyKey("intl", self._ed.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
            self._sm2: object = None
        else:
            if len(raw) != 32:
                raise ValueError(f"an SM2 private key is 32 bytes, got {len(raw)}")
            self._ed = None
            pk = _gmalg_sm2().generate_pk(raw)  # type: ignore[attr-defined]
            self._sm2 = _gmalg_sm2(sk=raw, pk=pk)
            self.public = VerifyKey("sm", pk)
        self._raw = raw

    @classmethod
    def generate(cls, suite: str) -> SigningKey:
        if check_suite(suite) == "intl":
            raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            return cls("intl", raw)
        sk, _ = _gmalg_sm2().generate_keypair()  # type: ignore[attr-defined]
        return cls("sm", sk.rjust(32, b"\x00"))

    @property
    def algorithm(self) -> str:
        return SIGNATURE_NAMES[self.suite]

    def private_bytes(self) -> bytes:
        """The raw private key (32 bytes), for writing a publisher's key file once."""
        return self._raw

    def sign(self, message: bytes) -> bytes:
        """64 bytes: Ed25519's signature, or SM2's r‖s (each 32 bytes, big-endian)."""
        if self._ed is not None:
            return self._ed.sign(message)
        r, s = self._sm2.sign(message)  # type: ignore[attr-defined]
        return bytes(r).rjust(32, b"\x00") + bytes(s).rjust(32, b"\x00")


def load_verify_key(text: str, *, suite: str | None = None) -> VerifyKey | None:
    """A public key from base64 text (standard or url-safe), None for "" (no key).

    The key says its algorithm: by an ``ed25519:``/``sm2:`` prefix, else by its length (32 bytes Ed25519,
    64 or 65 bytes SM2). ``suite``, when given, must agree. ValueError says what is wrong otherwise.
    """
    text = text.strip()
    if not text:
        return None
    named: Suite | None = None
    for name, prefix in _PREFIX.items():
        if text.lower().startswith(prefix):
            named, text = name, text[len(prefix):]
    try:
        standard = text.replace("-", "+").replace("_", "/")
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64: give the platform's public key as base64 (Ed25519: 32 bytes, "
                         "SM2: 65 bytes)") from None
    if named is None:
        named = "intl" if len(raw) == 32 else "sm" if len(raw) in (64, 65) else None
    if named is None:
        raise ValueError(f"a public key is 32 bytes (Ed25519) or 65 bytes (SM2), this is {len(raw)}: "
                         "copy the whole key")
    if suite is not None and check_suite(suite) != named:
        raise ValueError(f"this is an {SIGNATURE_NAMES[named]} key, but security.suite is {suite!r} "
                         f"({SIGNATURE_NAMES[check_suite(suite)]}): ask the platform for its "
                         f"{SIGNATURE_NAMES[check_suite(suite)]} key")
    return VerifyKey(named, raw)
