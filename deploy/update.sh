#!/usr/bin/env bash
# Update a terminal to a new release, with automatic rollback (issue 22; deploy/README.md "Updates").
#
#   bash deploy/update.sh --wheel gov_kiosk-0.3.0-py3-none-any.whl --lock requirements.lock
#
# 1. a new virtual environment beside the running one: <root>/releases/<version>/, the locked
#    dependencies (pip --require-hashes) and the wheel into it; the running release is not touched
# 2. <root>/current (the units run <root>/current/bin/kiosk) switched to it in one rename
# 3. the services restarted, then the gateway's /health must answer this version within --timeout
# 4. if it does not: current switched back to the previous release, restarted, checked again; exit 1
#
# Options (defaults for a terminal installed by deploy/README.md):
#   --root DIR          /opt/kiosk
#   --health-url URL    http://127.0.0.1:8470/health
#   --restart CMD       "systemctl restart kiosk-gateway.service kiosk-app.service"
#   --timeout S         60 (seconds for the new release to answer /health with its version)
#   --python PY         python3 (the interpreter for the new environment)
#   --site-packages DIR reuse DIR's packages instead of installing the lock (tests only: no download)
# Exit status: 0 updated; 1 rolled back (the old release runs again); 2 bad use or install failed
# (nothing switched); 3 rollback failed too (look at the journal).
set -euo pipefail

root=/opt/kiosk
health_url=http://127.0.0.1:8470/health
restart="systemctl restart kiosk-gateway.service kiosk-app.service"
timeout=60
python=python3
wheel=""
lock=""
site_packages=""

die() { echo "update: $*" >&2; exit 2; }
say() { printf 'update: %s\n' "$*"; }

while (( $# )); do
    case "$1" in
        --wheel) wheel=$2; shift 2 ;;
        --lock) lock=$2; shift 2 ;;
        --root) root=$2; shift 2 ;;
        --health-url) health_url=$2; shift 2 ;;
        --restart) restart=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        --site-packages) site_packages=$2; shift 2 ;;
        *) die "unknown option $1 (see the top of $0)" ;;
    esac
done
[[ -f "$wheel" ]] || die "--wheel FILE: the release's wheel (built by: python -m pip wheel --no-deps .)"
[[ -n "$site_packages" || -f "$lock" ]] || die "--lock FILE: the release's requirements.lock"
wheel=$(readlink -f "$wheel")
[[ -n "$lock" ]] && lock=$(readlink -f "$lock")

# gov_kiosk-0.3.0-py3-none-any.whl → 0.3.0 (what the new gateway's /health must say)
name=$(basename "$wheel")
version=${name#gov_kiosk-}
version=${version%%-py3-*}
[[ "$version" != "$name" && -n "$version" ]] || die "$name is not a gov_kiosk wheel"

mkdir -p "$root/releases"
target="$root/releases/$version"
current="$root/current"
previous=""
if [[ -L "$current" ]]; then
    previous=$(readlink "$current")
fi
if [[ -n "$previous" && "$(readlink -f "$current")" == "$(readlink -f "$target" 2>/dev/null || true)" ]]; then
    say "$version is already the current release"
    exit 0
fi

# 1. install beside the running release (an unfinished one from an earlier try is made afresh)
if [[ ! -f "$target/.kiosk-complete" ]]; then
    rm -rf "$target"
    say "installing $version into $target"
    "$python" -m venv "$target"
    if [[ -n "$site_packages" ]]; then
        purelib=$("$target/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
        echo "$site_packages" > "$purelib/_kiosk_shared_packages.pth"
    else
        "$target/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
            --no-deps -r "$lock" || { rm -rf "$target"; die "installing the locked dependencies failed"; }
    fi
    "$target/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-index "$wheel" \
        || { rm -rf "$target"; die "installing $name failed"; }
    touch "$target/.kiosk-complete"
fi
[[ "$("$target/bin/kiosk" --version 2>/dev/null)" == "kiosk $version" ]] \
    || die "$target/bin/kiosk does not run as $version; nothing switched"

switch_to() {  # atomically point current at $1
    ln -sfn "$1" "$current.new"
    mv -T "$current.new" "$current"
}

healthy() {  # /health answers 200 with "version": $1 within $timeout seconds
    "$target/bin/python" - "$health_url" "$1" "$timeout" <<'EOF'
import json, sys, time, urllib.request
url, want, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline, seen = time.monotonic() + limit, "no answer"
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            body = json.load(answer)
        seen = f"{body.get('status')} {body.get('version')}"
        # "degraded" (the platform unreachable) still proves this release serves: not a reason to roll back
        if body.get("status") in ("ok", "degraded") and body.get("version") == want:
            sys.exit(0)
    except (OSError, ValueError) as exc:
        seen = str(exc)
    time.sleep(0.3)
print(f"update: {url} did not answer version {want} within {limit:g} s (last: {seen})", file=sys.stderr)
sys.exit(1)
EOF
}

# 2.–3. switch, restart, check
say "switching $current → releases/$version (was: ${previous:-none})"
switch_to "releases/$version"
bash -c "$restart" || say "the restart command failed"
if healthy "$version"; then
    say "release $version is running"
    exit 0
fi

# 4. roll back
if [[ -z "$previous" ]]; then
    echo "update: release $version failed its health check and there is no previous release to go back to" >&2
    exit 3
fi
[[ "$previous" == /* ]] || previous_path="$root/$previous"
previous_path=${previous_path:-$previous}
old_version=$("$previous_path/bin/kiosk" --version 2>/dev/null | awk '{print $2}')
old_version=${old_version:-$(basename "$(readlink -f "$previous_path")")}
say "rolling back to $previous ($old_version)"
switch_to "$previous"
bash -c "$restart" || say "the restart command failed"
if healthy "$old_version"; then
    echo "update: release $version failed its health check; rolled back to $old_version, which is running" >&2
    exit 1
fi
echo "update: the rollback to $old_version failed its health check too: look at journalctl -u kiosk-gateway" >&2
exit 3
