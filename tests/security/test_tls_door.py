"""The operators' door over TLS (issue 17): a self-signed pair in a tmp folder, the gateway started with
``gateway.tls_cert`` / ``tls_key``, and real HTTPS to it (``requests`` verifying against that certificate)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.settings import SettingsError
from local_api.server import GatewayHandle, TLSNotStarted, start_gateway

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local_api"))

from gateway_rig import SECRET, make_settings


def first_token(handle: GatewayHandle) -> str:
    """The first technician token, as the technician reads it from ``first-token.txt`` (read once: the
    gateway deletes the file after its first use)."""
    data = handle.gateway.services.settings.data_path
    cached = data.parent / "token.copy"
    if not cached.exists():
        cached.write_text((data / "first-token.txt").read_text().strip())
    return cached.read_text()


def self_signed(folder: Path, name: str = "gateway") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiosk gateway test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, pair: tuple[Path, Path]) -> Iterator[GatewayHandle]:
    cert, key = pair
    settings = make_settings(tmp_path_factory.mktemp("data"), KIOSK_GATEWAY__PORT="0", KIOSK_GATEWAY__TLS_PORT="0",
                             KIOSK_GATEWAY__TLS_CERT=str(cert), KIOSK_GATEWAY__TLS_KEY=str(key),
                             KIOSK_PLATFORM__URL="http://127.0.0.1:9")  # the forwarder's target; never reached here
    handle = start_gateway(settings, idle_probe_s=None, item_codes=None)
    yield handle
    handle.close()


def test_health_answers_over_tls_and_the_app_keeps_its_plain_loopback_door(gateway: GatewayHandle,
                                                                         pair: tuple[Path, Path]) -> None:
    assert gateway.tls_url is not None and gateway.tls_url.startswith("https://127.0.0.1:")
    answer = requests.get(gateway.tls_url + "/health", verify=str(pair[0]), timeout=10)
    assert answer.status_code == 200
    assert gateway.url.startswith("http://127.0.0.1:")  # what the kiosk app is given
    assert requests.get(gateway.url + "/health", timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):  # not a certificate the client trusts
        requests.get(gateway.tls_url + "/health", timeout=10)


def test_an_operator_token_works_over_tls(gateway: GatewayHandle, pair: tuple[Path, Path]) -> None:
    token = first_token(gateway)
    answer = requests.get(gateway.tls_url + "/api/v1/status", headers={"Authorization": f"Bearer {token}"},
                          verify=str(pair[0]), timeout=10)
    assert answer.status_code == 200, answer.text
    refused = requests.get(gateway.tls_url + "/api/v1/status", verify=str(pair[0]), timeout=10)
    assert refused.status_code == 401


def test_console_log_in_over_tls_sets_a_secure_cookie(gateway: GatewayHandle, pair: tuple[Path, Path]) -> None:
    token = first_token(gateway)
    session = requests.Session()  # verify per request: a session's own loses to REQUESTS_CA_BUNDLE
    answer = session.post(gateway.tls_url + "/console/session", json={"token": token},
                          headers={"Origin": gateway.tls_url}, verify=str(pair[0]), timeout=10)
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert session.get(gateway.tls_url + "/console", verify=str(pair[0]), timeout=10).status_code == 200
    # the plain loopback door of a loopback gateway still gives a cookie without Secure (nothing crosses a network)
    plain = requests.post(gateway.url + "/console/session", json={"token": token},
                          headers={"Origin": gateway.url}, timeout=10)
    assert plain.status_code == 200 and "Secure" not in plain.headers["Set-Cookie"]


def test_plain_http_to_the_tls_port_gets_no_answer(gateway: GatewayHandle) -> None:
    url = gateway.tls_url.replace("https://", "http://")
    try:
        answer = requests.get(url + "/health", timeout=10)
    except requests.exceptions.ConnectionError:
        return
    assert answer.status_code == 400 and "ok" not in answer.text  # cheroot's "speak HTTPS here", never /health


def test_the_kiosk_door_is_not_on_the_tls_port(gateway: GatewayHandle, pair: tuple[Path, Path]) -> None:
    secret = gateway.gateway.services.door_secret
    answer = requests.post(gateway.tls_url + "/api/v1/heartbeat", json={"screen": "home", "devices": {}},
                           headers={"X-Kiosk-Door": secret}, verify=str(pair[0]), timeout=10)
    assert answer.status_code in (403, 421), answer.text


def test_a_certificate_without_its_key_is_refused_in_plain_words(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings(tmp_path, KIOSK_GATEWAY__TLS_CERT=str(pair[0]))
    (problem,) = caught.value.problems
    assert problem.key == "gateway.tls_key" and problem.source == "environment KIOSK_GATEWAY__TLS_CERT"
    assert "gateway.tls_cert is set but gateway.tls_key is not" in problem.message


def test_the_settings_check_names_a_missing_or_wrong_file(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    cert, key = pair
    other_cert, other_key = self_signed(tmp_path, "other")
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(serialization.load_pem_private_key(key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    config = tmp_path / "kiosk.toml"
    cases = {
        "missing": (str(tmp_path / "nope.crt"), str(key), "gateway.tls_cert", "nope.crt does not exist"),
        "not a certificate": (str(key), str(key), "gateway.tls_cert", "holds no PEM certificate"),
        "another key": (str(cert), str(other_key), "gateway.tls_key", "is not the private key of the certificate"),
        "encrypted key": (str(cert), str(encrypted), "gateway.tls_key", "is encrypted with a passphrase"),
    }
    for what, (c, k, dotted, said) in cases.items():
        config.write_text(f'[gateway]\ndata_dir = "{tmp_path / "data"}"\ntls_cert = "{c}"\ntls_key = "{k}"\n'
                          f'[platform]\nsecret = "{SECRET}"\n')
        result = subprocess.run([sys.executable, "-m", "kiosk", "config", "check", "--config", str(config)],
                                check=False, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (what, result.stdout, result.stderr)
        assert f"{config}: {dotted}: " in result.stderr and said in result.stderr, (what, result.stderr)
    assert other_cert.exists()


def test_a_bad_key_stops_the_gateway_naming_the_file(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    bad = tmp_path / "broken.key"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    settings = make_settings(tmp_path / "data", KIOSK_GATEWAY__PORT="0", KIOSK_GATEWAY__TLS_PORT="0",
                             KIOSK_GATEWAY__TLS_CERT=str(pair[0]), KIOSK_GATEWAY__TLS_KEY=str(bad),
                             KIOSK_PLATFORM__URL="http://127.0.0.1:9")
    with pytest.raises(TLSNotStarted, match=str(bad)):
        start_gateway(settings, idle_probe_s=None, item_codes=None)



def test_kiosk_gateway_serves_tls_says_where_and_stops_cleanly(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    """``kiosk gateway`` as systemd runs it: the log says where the TLS door listens; SIGTERM stops both doors."""
    cert, key = pair
    env = {**os.environ, "KIOSK_GATEWAY__DATA_DIR": str(tmp_path / "data"), "KIOSK_GATEWAY__PORT": "0",
           "KIOSK_GATEWAY__TLS_PORT": "0", "KIOSK_GATEWAY__TLS_CERT": str(cert), "KIOSK_GATEWAY__TLS_KEY": str(key),
           "KIOSK_PLATFORM__SECRET": SECRET, "KIOSK_PLATFORM__URL": "http://127.0.0.1:9"}
    env.pop("KIOSK_READY_FD", None)
    env.pop("NOTIFY_SOCKET", None)
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "gateway", "--config", os.devnull], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"TLS door listening on (https://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, "".join(lines)
        assert requests.get(url + "/health", verify=str(cert), timeout=10).status_code == 200
        try:
            requests.get(url.replace("https://", "http://") + "/health", timeout=5)
        except requests.exceptions.ConnectionError:
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        rest = process.stderr.read()
        assert all(line.startswith("{") for line in rest.splitlines() if line.strip()), rest  # the JSON log only
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(url + "/health", verify=str(cert), timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_kiosk_gateway_with_a_bad_certificate_does_not_start(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    bad = tmp_path / "garbage.crt"
    bad.write_text("not a certificate\n")
    env = {**os.environ, "KIOSK_GATEWAY__DATA_DIR": str(tmp_path / "data"), "KIOSK_GATEWAY__PORT": "0",
           "KIOSK_GATEWAY__TLS_PORT": "0", "KIOSK_GATEWAY__TLS_CERT": str(bad), "KIOSK_GATEWAY__TLS_KEY": str(pair[1]),
           "KIOSK_PLATFORM__SECRET": SECRET}
    result = subprocess.run([sys.executable, "-m", "kiosk", "gateway", "--config", os.devnull], env=env,
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"gateway.tls_cert: {bad} holds no PEM certificate" in result.stderr


def test_kiosk_run_with_tls_the_app_uses_the_plain_loopback_door(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    """``kiosk run`` with TLS: the app comes up on the plain loopback door, operators get HTTPS, SIGTERM stops all."""
    cert, key = pair
    ports = []
    for _ in range(3):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    plain, tls, sim = ports
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "DISPLAY", "WAYLAND_DISPLAY"))}
    env.update({"KIOSK_GATEWAY__PORT": str(plain), "KIOSK_GATEWAY__TLS_PORT": str(tls),
                "KIOSK_PLATFORM__SIM_PORT": str(sim), "KIOSK_GATEWAY__DATA_DIR": str(tmp_path / "data"),
                "KIOSK_GATEWAY__TLS_CERT": str(cert), "KIOSK_GATEWAY__TLS_KEY": str(key),
                "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"})
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "run"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("kiosk: running" in line for line in lines):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
        assert any("kiosk: running" in line for line in lines), "".join(lines)
        assert f"http://127.0.0.1:{plain}" in "".join(lines)
        answer = requests.get(f"https://127.0.0.1:{tls}/health", verify=str(cert), timeout=10)
        assert answer.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        for url in (f"https://127.0.0.1:{tls}/health", f"http://127.0.0.1:{plain}/health"):
            with pytest.raises(requests.exceptions.ConnectionError):
                requests.get(url, verify=str(cert), timeout=2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
