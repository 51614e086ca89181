"""``security.suite`` (issue 27): the setting, keys that carry their algorithm, and the warnings a
technician sees when the two disagree."""

from __future__ import annotations

import base64

import pytest

from kiosk import crypto
from kiosk.settings import SettingsError, load_settings, settings_warnings


def test_the_suite_is_intl_by_default_and_sm_by_setting() -> None:
    assert load_settings(environ={}).security.suite == "intl"
    assert load_settings(environ={"KIOSK_SECURITY__SUITE": "sm"}).security.suite == "sm"


def test_an_unknown_suite_is_a_settings_problem_naming_the_key() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"KIOSK_SECURITY__SUITE": "aes"})
    assert any(p.key == "security.suite" for p in info.value.problems)
    with pytest.raises(ValueError, match="intl, sm"):
        crypto.check_suite("aes")


def test_public_keys_say_their_algorithm_by_length_or_prefix() -> None:
    ed = crypto.SigningKey.generate("intl").public
    sm2 = crypto.SigningKey.generate("sm").public
    assert crypto.load_verify_key(ed.text()).algorithm == "Ed25519"  # type: ignore[union-attr]
    assert crypto.load_verify_key(sm2.text()).algorithm == "SM2"  # type: ignore[union-attr]
    assert crypto.load_verify_key(sm2.text(prefixed=True)).raw == sm2.raw  # type: ignore[union-attr]
    assert crypto.load_verify_key("") is None
    with pytest.raises(ValueError, match="security.suite is 'intl'"):
        crypto.load_verify_key(sm2.text(), suite="intl")
    with pytest.raises(ValueError, match="32 bytes .Ed25519. or 65 bytes .SM2."):
        crypto.load_verify_key("AAAA")
    with pytest.raises(ValueError, match="not a point on the SM2 curve"):
        crypto.load_verify_key("sm2:" + base64.b64encode(b"\x04" + (1).to_bytes(32, "big") * 2).decode())


def test_an_ed25519_sign_in_key_on_an_sm_terminal_is_a_warning() -> None:
    ed = crypto.SigningKey.generate("intl").public.text()
    settings = load_settings(environ={"KIOSK_SECURITY__SUITE": "sm", "KIOSK_PLATFORM__SIGNIN_PUBLIC_KEY": ed})
    warned = [p for p in settings_warnings(settings) if p.key == "platform.signin_public_key"]
    assert warned and "Ed25519 key but security.suite is 'sm'" in warned[0].message
    sm2 = crypto.SigningKey.generate("sm").public.text()
    settings = load_settings(environ={"KIOSK_SECURITY__SUITE": "sm", "KIOSK_PLATFORM__SIGNIN_PUBLIC_KEY": sm2})
    assert not [p for p in settings_warnings(settings) if p.key == "platform.signin_public_key"]


def test_the_fixed_algorithm_macs_match_their_rfcs() -> None:
    message = b"what do ya want for nothing?"
    assert crypto.hmac_sha1(b"Jefe", message).hex() == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"  # RFC 2202
    assert crypto.hmac_sha256(b"Jefe", message).hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")  # RFC 4231
    assert crypto.equal("abc", b"abc") and not crypto.equal("abc", "abd")


@pytest.mark.parametrize("suite", crypto.SUITES)
def test_sealed_bytes_open_only_with_their_key_and_associated_data(suite: str) -> None:
    key = crypto.random_bytes(crypto.AEAD_KEY_BYTES[suite])  # type: ignore[index]
    aead = crypto.Aead(suite, key)
    assert aead.algorithm == {"intl": "AES-256-GCM", "sm": "SM4-GCM"}[suite]
    sealed = aead.encrypt(b"11010519491231002X", b"row-1")
    assert b"11010519491231002X" not in sealed and aead.encrypt(b"x", b"") != aead.encrypt(b"x", b"")  # fresh nonce
    assert aead.decrypt(sealed, b"row-1") == b"11010519491231002X"
    with pytest.raises(crypto.CryptoError):
        aead.decrypt(sealed, b"row-2")
    with pytest.raises(ValueError, match="bytes"):
        crypto.Aead(suite, key + b"x")
