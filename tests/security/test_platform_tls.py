"""TLS towards the platform (issue 27): a private government CA (``platform.ca_bundle``), the terminal's
client certificate for mutual TLS (``platform.client_cert`` / ``client_key``), the certificates'
expiry as metrics, ``kiosk config check`` on the files. The platform is the real simulator served
over HTTPS by werkzeug with client-certificate verification; the PKI is made here with ``cryptography``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import make_server

from kiosk.cli import main
from local_api.link.client import PlatformClient, PlatformTLS, PlatformUnavailable
from local_api.server import build_gateway
from local_api.sim.app import create_platform_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import SECRET, make_settings, wait_for

NOW = dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_file, key_file = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


def make_ca(folder: Path, cn: str) -> tuple[Path, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return _write(folder, cn.replace(" ", "-"), cert, key)[0], cert, key


def issue(folder: Path, stem: str, ca: tuple[Path, x509.Certificate, ec.EllipticCurvePrivateKey], *, days: int,
          server: bool) -> tuple[Path, Path, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(stem)).issuer_name(ca[1].subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(hours=1)).not_valid_after(NOW + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca[2].public_key()), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(ca[2], hashes.SHA256())
    cert_file, key_file = _write(folder, stem, cert, key)
    return cert_file, key_file, cert


@dataclass
class PKI:
    ca: Path
    wrong_ca: Path
    server_cert: x509.Certificate
    client_cert: Path
    client_key: Path
    client: x509.Certificate
    stranger_cert: Path
    stranger_key: Path
    url: str


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PKI]:
    folder = tmp_path_factory.mktemp("pki")
    gov = make_ca(folder, "Gov Test Root CA")
    wrong = make_ca(folder, "Some Other CA")
    server_crt, server_key, server_cert = issue(folder, "platform", gov, days=20, server=True)
    client_crt, client_key, client_cert = issue(folder, "terminal", gov, days=90, server=False)
    stranger_crt, stranger_key, _ = issue(folder, "stranger", wrong, days=90, server=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(server_crt, server_key)
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: only terminals with a certificate of the gov CA
    context.load_verify_locations(cafile=str(gov[0]))
    server = make_server("127.0.0.1", 0, create_platform_app(SECRET, seed=1), threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, name="https-platform", daemon=True)
    thread.start()
    try:
        yield PKI(gov[0], wrong[0], server_cert, client_crt, client_key, client_cert, stranger_crt, stranger_key,
                  f"https://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(5)


def client(pki: PKI, tls: PlatformTLS) -> PlatformClient:
    return PlatformClient(pki.url, SECRET, "HC-TEST-001", 5, tls=tls)


def test_the_private_ca_and_the_client_certificate_reach_the_platform(platform: PKI) -> None:
    link = client(platform, PlatformTLS(str(platform.ca), str(platform.client_cert), str(platform.client_key)))
    try:
        assert link.health()
        assert link.server_cert_not_after() == platform.server_cert.not_valid_after_utc.timestamp()
    finally:
        link.close()


@pytest.mark.parametrize(("tls", "words"), [
    (lambda p: PlatformTLS(str(p.wrong_ca), str(p.client_cert), str(p.client_key)),
     "the platform's certificate was refused (self-signed certificate in certificate chain); is platform.ca_bundle"),
    (lambda p: PlatformTLS("", str(p.client_cert), str(p.client_key)),  # the system store knows no gov CA
     "the platform's certificate was refused"),
    (lambda p: PlatformTLS(str(p.ca)), "client certificate"),
    (lambda p: PlatformTLS(str(p.ca), str(p.stranger_cert), str(p.stranger_key)), "client certificate"),
], ids=["wrong-ca", "system-store", "no-client-cert", "client-cert-of-another-ca"])
def test_a_wrong_ca_or_client_certificate_is_refused_in_plain_words(platform: PKI, tls, words: str) -> None:
    link = client(platform, tls(platform))
    try:
        with pytest.raises(PlatformUnavailable) as refused:
            link.health()
    finally:
        link.close()
    assert words in refused.value.reason
    assert "Traceback" not in refused.value.reason and len(refused.value.reason) < 300


def test_the_gateway_delivers_over_mutual_tls_and_reports_certificate_expiry(platform: PKI, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", KIOSK_PLATFORM__URL=platform.url,
                             KIOSK_PLATFORM__CA_BUNDLE=str(platform.ca),
                             KIOSK_PLATFORM__CLIENT_CERT=str(platform.client_cert),
                             KIOSK_PLATFORM__CLIENT_KEY=str(platform.client_key),
                             # the operators' door's certificate (not served here: only its expiry is read)
                             KIOSK_GATEWAY__TLS_CERT=str(platform.client_cert),
                             KIOSK_GATEWAY__TLS_KEY=str(platform.client_key))
    gateway = build_gateway(settings, idle_probe_s=0.1, base_delay_s=0.02, item_codes=None)
    try:
        svc = gateway.services
        wait_for(lambda: svc.forwarder.status.snapshot()["reachable"], what="the platform reachable over mTLS")
        token = (settings.data_path / "first-token.txt").read_text().strip()
        answer = gateway.app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
        text = answer.get_data(as_text=True)
    finally:
        gateway.close()
    expiry = {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith("kiosk_gateway_tls_cert_not_after_seconds{")}
    assert expiry == {"platform_server": platform.server_cert.not_valid_after_utc.timestamp(),
                      "platform_client": platform.client.not_valid_after_utc.timestamp(),
                      "gateway": platform.client.not_valid_after_utc.timestamp()}


@pytest.mark.parametrize(("env", "words"), [
    ({"KIOSK_PLATFORM__CA_BUNDLE": "{folder}/platform.key"}, "platform.ca_bundle: {folder}/platform.key holds no PEM CA"),
    ({"KIOSK_PLATFORM__CA_BUNDLE": "{folder}/nowhere.pem"}, "platform.ca_bundle: {folder}/nowhere.pem does not exist"),
    ({"KIOSK_PLATFORM__CLIENT_CERT": "{folder}/terminal.crt"}, "platform.client_key: platform.client_cert is set but"),
    ({"KIOSK_PLATFORM__CLIENT_CERT": "{folder}/terminal.crt", "KIOSK_PLATFORM__CLIENT_KEY": "{folder}/stranger.key"},
     "platform.client_key: {folder}/stranger.key is not the private key of the certificate"),
    ({"KIOSK_PLATFORM__URL": "http://127.0.0.1:9", "KIOSK_PLATFORM__CA_BUNDLE": "{folder}/Gov-Test-Root-CA.crt"},
     "platform.ca_bundle: platform.ca_bundle is set but platform.url is not https://"),
], ids=["not-pem", "missing", "half-pair", "wrong-key", "plain-http"])
def test_config_check_names_a_bad_platform_tls_file(platform: PKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], env: dict[str, str],
                                                    words: str) -> None:
    folder = str(platform.ca.parent)
    monkeypatch.setenv("KIOSK_GATEWAY__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_PLATFORM__URL", platform.url)
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(folder=folder))
    assert main(["config", "check"]) == 2
    assert words.format(folder=folder) in capsys.readouterr().err


def test_config_check_accepts_the_private_ca_and_the_client_pair(platform: PKI, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIOSK_GATEWAY__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_PLATFORM__URL", platform.url)
    monkeypatch.setenv("KIOSK_PLATFORM__SECRET", SECRET)
    monkeypatch.setenv("KIOSK_PLATFORM__CA_BUNDLE", str(platform.ca))
    monkeypatch.setenv("KIOSK_PLATFORM__CLIENT_CERT", str(platform.client_cert))
    monkeypatch.setenv("KIOSK_PLATFORM__CLIENT_KEY", str(platform.client_key))
    assert main(["config", "check"]) == 0, capsys.readouterr().err
