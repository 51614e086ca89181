#!/usr/bin/env bash
# Sets up everything the kiosk needs on a fresh Debian/Ubuntu machine (run as root):
# system packages with apt-get, a virtual environment at .venv, and the project in it.
#   bash deploy/setup.sh          # to run the kiosk
#   bash deploy/setup.sh --test   # also what the test suite needs
# Safe to run again: it skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

say() { printf 'setup: %s\n' "$*"; }

apt_packages=()
need() {  # queue Debian packages that are not installed yet
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || apt_packages+=("$pkg")
    done
}
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    need python3
    python=python3
fi
# Debian's python3 needs python3-venv for `-m venv`; a python that already has venv+ensurepip does not.
if ! command -v "$python" >/dev/null 2>&1 || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need python3-venv
fi
# pyscard has no Linux wheel: it builds against pcsc-lite with swig and gcc; pcscd runs the readers.
need python3-dev gcc swig libpcsclite-dev pcscd
# USB receipt printers (usb://VID:PID) go through pyusb, which needs libusb.
need libusb-1.0-0
# Offline speech for the screens (ADA 707 / EN 301 549: closed kiosks speak what they show).
need espeak-ng
if (( want_test )); then
    # Test peers: vpcd is the virtual smart-card reader our virtual social security card plugs into.
    need vsmartcard-vpcd
    # Browser tests of the operator console (Playwright drives Debian's Chromium; no browser download)
    # and promtool for the alert rules' unit tests; Prometheus and Alertmanager for the fleet test (tests/ops/test_fleet.py).
    need chromium prometheus prometheus-alertmanager
    # The journal shipping example's test: systemd-journal-upload and -remote (deploy/logs/).
    need systemd-journal-remote
fi
if (( ${#apt_packages[@]} )); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: need root to install ${apt_packages[*]} (run: sudo bash deploy/setup.sh)" >&2
        exit 1
    fi
    say "installing system packages: ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    say "creating virtual environment .venv"
    "$python" -m venv .venv
fi

extras=""
lock=requirements.lock
(( want_test )) && extras="[test]" && lock=requirements-test.lock
stamp=".venv/.kiosk-installed$extras"
fingerprint=$(cat pyproject.toml "$lock" | sha256sum | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$fingerprint" ]]; then
    # Exactly the locked versions, each checked against its SHA-256 (regenerate the lock files after
    # changing pyproject.toml: see deploy/README.md "Releases"); then the kiosk itself, without deps.
    say "installing the kiosk and its locked Python packages ($lock) into .venv"
    log=.venv/setup-pip.log
    if ! { .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
           && .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
                -r "$lock" \
           && .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
                -e .; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "setup: installing Python packages failed (full log: $log)" >&2
        exit 1
    fi
    echo "$fingerprint" > "$stamp"
fi
# The units run /opt/kiosk/current/bin/kiosk: the first release is this .venv; deploy/update.sh
# installs later ones beside it (releases/<version>/) and switches this link.
[[ -e current || -L current ]] || ln -s .venv current
# The keyboard's pinyin index (and the readings catalog search uses), prebuilt once: the app maps the
# file at start instead of building it (kiosk/catalog/ime.py; it rebuilds a missing or stale one itself).
if id kiosk >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    # kiosk-app.service: XDG_CACHE_HOME=/var/cache/kiosk (CacheDirectory=kiosk), the index under kiosk/
    say "building the pinyin index in /var/cache/kiosk/kiosk"
    KIOSK_CACHE_DIR=/var/cache/kiosk/kiosk .venv/bin/python -m kiosk.catalog.ime >/dev/null
    chown -R kiosk: /var/cache/kiosk
else
    say "building the pinyin index in ${KIOSK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiosk}"
    .venv/bin/python -m kiosk.catalog.ime >/dev/null
fi
say "ready: .venv/bin/kiosk"
