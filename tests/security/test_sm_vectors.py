"""Known-answer tests for the 商用密码 suite (``security.suite = "sm"``), from the published standards.

- SM3 (GB/T 32905-2016, Appendix A): "abc" and the 64-byte "abcd"×16;
- SM4 (GB/T 32907-2016, Appendix A): the one-block example, and its 1,000,000-fold encryption;
- SM4-GCM (RFC 8998, Appendix A.1) — the AEAD the outbox seals with;
- SM2 signatures (GB/T 32918.2-2016 / GM/T 0003.2-2012, Appendix A; the example curve, ID
  ALICE123@YAHOO.COM, message "message digest"): Z_A, e, and r, s from the fixed k — through the same SM2
  code (gmalg's core) that kiosk/crypto.py signs with; and, on the recommended curve with the standard user
  id 1234567812345678, a signature made by OpenSSL 3 verified by kiosk/crypto.py (and ours by OpenSSL);
- HMAC-SM3 and HMAC-SHA256 over RFC 4231's case 2 (HMAC-SHA256's published value; HMAC-SM3's as
  OpenSSL 3's ``openssl mac`` computes it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kiosk import crypto


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# -- SM3 -------------------------------------------------------------------------------------------

def test_sm3_abc() -> None:
    assert crypto.sm3(b"abc") == h("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0")


def test_sm3_64_bytes() -> None:
    assert crypto.sm3(b"abcd" * 16) == h("debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732")


def test_the_suites_hash_with_their_own_algorithm() -> None:
    assert crypto.digest("sm", b"abc") == crypto.sm3(b"abc")
    assert crypto.digest("intl", b"abc") == h("ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad")


# -- SM4 -------------------------------------------------------------------------------------------

SM4_KEY = h("01234567 89abcdef fedcba98 76543210")


def test_sm4_one_block() -> None:
    assert crypto.sm4_encrypt_block(SM4_KEY, SM4_KEY) == h("681edf34 d206965e 86b3e94f 536e4246")


def test_sm4_encrypted_a_million_times() -> None:
    assert crypto.sm4_encrypt_block(SM4_KEY, SM4_KEY, times=1_000_000) == h("595298c7 c6fd271f 0402f804 c33d3f66")


def test_sm4_gcm_rfc8998() -> None:
    nonce = h("00001234567800000000ABCD")
    aad = h("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plain = h("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
              "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    cipher = h("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
               "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
    tag = h("83DE3541E4C2B58177E065A9BF7B62EC")
    aead = crypto.Aead("sm", SM4_KEY)
    assert aead.decrypt(nonce + cipher + tag, aad) == plain  # the published ciphertext opens…
    with pytest.raises(crypto.CryptoError):
        aead.decrypt(nonce + cipher + bytes([tag[0] ^ 1]) + tag[1:], aad)  # …and a changed tag does not
    with pytest.raises(crypto.CryptoError):
        aead.decrypt(nonce + cipher + tag, aad + b"x")
    sealed = aead.encrypt(plain, aad)  # our own sealing: fresh nonce, same construction
    assert len(sealed) == 12 + len(plain) + 16 and aead.decrypt(sealed, aad) == plain


# -- SM2 -------------------------------------------------------------------------------------------

# GB/T 32918.2-2016 Appendix A (= GM/T 0003.2-2012): the example prime curve Fp-256.
ANNEX_P = int("8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3".replace(" ", ""), 16)
ANNEX_A = int("787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498".replace(" ", ""), 16)
ANNEX_B = int("63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A".replace(" ", ""), 16)
ANNEX_G = (int("421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D".replace(" ", ""), 16),
           int("0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2".replace(" ", ""), 16))
ANNEX_N = int("8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7".replace(" ", ""), 16)
ANNEX_D = int("128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263".replace(" ", ""), 16)
ANNEX_PUB = (int("0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A".replace(" ", ""), 16),
             int("7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857".replace(" ", ""), 16))
ANNEX_ID = b"ALICE123@YAHOO.COM"
ANNEX_MESSAGE = b"message digest"
ANNEX_ZA = h("F4A38489 E32B45B6 F876E3AC 2168CA39 2362DC8F 23459C1D 1146FC3D BFB7BC9A")
ANNEX_K = int("6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F".replace(" ", ""), 16)
ANNEX_R = int("40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1".replace(" ", ""), 16)
ANNEX_S = int("6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7".replace(" ", ""), 16)


def annex_core(k: int | None = None) -> Any:  # gmalg's SM2Core
    # The SM2 code kiosk/crypto.py uses (gmalg), on the standard's example curve instead of the recommended one.
    from gmalg.ellipticcurve import ECDLP
    from gmalg.sm2 import SM2Core
    from gmalg.sm3 import SM3

    return SM2Core(ECDLP(ANNEX_P, ANNEX_A, ANNEX_B, ANNEX_G, ANNEX_N), SM3(),
                   (lambda bits: k) if k is not None else None)


def test_sm2_annex_example_signs_to_the_published_r_and_s() -> None:
    core = annex_core(ANNEX_K)
    assert core.generate_pk(ANNEX_D) == ANNEX_PUB
    assert core.entity_info(ANNEX_ID, ANNEX_PUB) == ANNEX_ZA
    assert core.sign(ANNEX_MESSAGE, ANNEX_D, ANNEX_ID, ANNEX_PUB) == (ANNEX_R, ANNEX_S)


def test_sm2_annex_signature_verifies_and_a_changed_one_does_not() -> None:
    core = annex_core()
    assert core.verify(ANNEX_MESSAGE, ANNEX_R, ANNEX_S, ANNEX_ID, ANNEX_PUB)
    assert not core.verify(b"message digesT", ANNEX_R, ANNEX_S, ANNEX_ID, ANNEX_PUB)
    assert not core.verify(ANNEX_MESSAGE, ANNEX_R, ANNEX_S + 1, ANNEX_ID, ANNEX_PUB)
    assert not core.verify(ANNEX_MESSAGE, ANNEX_R, ANNEX_S, b"1234567812345678", ANNEX_PUB)  # Z_A binds the id


# Made with OpenSSL 3.0 on the recommended curve (GB/T 32918.5), SM3, distid 1234567812345678:
#   openssl genpkey -algorithm SM2 -out k.pem
#   openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678 -inkey k.pem -in msg
OPENSSL_PUB = h("04302194a28c863a4ffe3e59c45a47d1c9111cfbceaf27d0bfd51abb1a04f4f8fc"
                "d3c2c21b44022f9ab22f8b09d46eb285fca413338403d614649f9c7049a2a984")
OPENSSL_MESSAGE = b"mzt:signin:v1:published-by-openssl:1795000000"
OPENSSL_SIGNATURE = h("D644304CDD00C6FE3A016ED3681A3620B2A70B87FDBEEB61954E5862255CAA3B"
                      "E38BA90713E750C795153D11DC8E41183F241CF84A6EC1E3D0B2EF72E57554B2")


def test_an_openssl_sm2_signature_with_the_standard_user_id_verifies_through_kiosk_crypto() -> None:
    key = crypto.load_verify_key("sm2:" + crypto.VerifyKey("sm", OPENSSL_PUB).text())
    assert key is not None and key.algorithm == "SM2"
    assert key.verify(OPENSSL_SIGNATURE, OPENSSL_MESSAGE)
    assert not key.verify(OPENSSL_SIGNATURE, OPENSSL_MESSAGE + b"0")
    assert not key.verify(OPENSSL_SIGNATURE[:32] + bytes(32), OPENSSL_MESSAGE)  # s = 0 is out of range


def test_sm2_signatures_of_kiosk_crypto_round_trip_and_bind_the_key() -> None:
    key = crypto.SigningKey.generate("sm")
    signature = key.sign(b"hello")
    assert len(signature) == 64 and key.public.verify(signature, b"hello")
    assert not crypto.SigningKey.generate("sm").public.verify(signature, b"hello")
    assert not key.public.verify(signature, b"hellO")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command on this machine")
def test_openssl_verifies_a_signature_made_by_kiosk_crypto(tmp_path: Path) -> None:
    # The other direction, against an independent implementation: OpenSSL checks our r‖s and Z_A.
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    key = crypto.SigningKey.generate("sm")
    message = b"mzt:signin:v1:checked-by-openssl:1795000000"
    signature = key.sign(message)
    der_prefix = h("3059301306072a8648ce3d020106082a811ccf5501822d034200")  # SubjectPublicKeyInfo, SM2 curve
    (tmp_path / "pub.der").write_bytes(der_prefix + key.public.raw)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                                        int.from_bytes(signature[32:], "big")))
    result = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", "pub.der",
                             "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                             "-in", "msg", "-sigfile", "sig"], cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    if "unknown" in result.stderr.lower() or "algorithm" in result.stderr.lower():
        pytest.skip(f"this openssl has no SM2: {result.stderr.strip()[:200]}")
    assert "Signature Verified Successfully" in result.stdout, result.stdout + result.stderr


# -- MACs ------------------------------------------------------------------------------------------

def test_hmac_of_both_suites() -> None:
    message = b"what do ya want for nothing?"
    assert crypto.mac("intl", b"Jefe", message) == h(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")  # RFC 4231 case 2
    assert crypto.mac("sm", b"Jefe", message) == h(
        "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882")
