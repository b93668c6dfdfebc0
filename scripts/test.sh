#!/usr/bin/env bash
# The project's one test command: installs what the tests need, then runs the Rust tests and
# the end-to-end suite against the real binary.
#
# Works on a fresh Debian 12 with Rust and Python 3.11+ (pip) installed and nothing else:
#   - Debian packages: isync (mbsync), curl, postfix (a private instance is started by the
#     delivery tests), dovecot-imapd (a private instance is the reference server of the golden
#     MIME cross-check), the real-client matrix (offlineimap3, fetchmail, getmail6, neomutt,
#     tmux, nmap, openssl; docs/clients.md), fail2ban (only fail2ban-regex and a
#     configuration test are run; the install forbids starting its service), haproxy (run
#     privately in front of Portcullis by the PROXY protocol test), a C compiler,
#     python3-venv, only when missing;
#   - PyPI packages: tests/e2e/requirements.txt (pinned) into ./.venv;
#   - cargo nextest (or cargo test when nextest is not installed);
#   - cargo build -p portcullis, then pytest tests/e2e with a per-test timeout;
#   - a bench smoke run: every portcullis-bench scenario for a few seconds (bench/smoke.sh);
#   - a fuzz smoke run: every cargo-fuzz target for a few seconds (fuzz/run.sh, which installs
#     a pinned cargo-fuzz when missing; stable Rust, docs/fuzzing.md).
#
# Environment: E2E_TIMEOUT (seconds per e2e test, default 60), PYTEST_ARGS (extra arguments,
# e.g. "-k mbsync"), SKIP_CARGO_TESTS=1 (only the e2e suite), VENV (default ./.venv),
# SKIP_BENCH_SMOKE=1 (no bench smoke run), FUZZ_SECONDS (per fuzz target, default 10),
# SKIP_FUZZ=1 (no fuzz smoke run),
# FUZZ_TARGET_DIR (fuzz build directory, default ~/.cache/portcullis/fuzz-target, kept
# between runs so that only the project's crates are rebuilt).
# Exit status: non-zero when any stage fails.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
E2E_TIMEOUT=${E2E_TIMEOUT:-60}
export DEBIAN_FRONTEND=noninteractive

section() {
    printf '\n==================== %s ====================\n' "$*"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -E "$@"
    else
        echo "need root (or sudo) to run: $*" >&2
        return 1
    fi
}

APT_UPDATED=0
apt_install() {
    # Installs the named Debian packages; refreshes the package lists only when needed.
    [ "$#" -eq 0 ] && return 0
    echo "installing Debian packages: $*"
    if ! as_root apt-get install -y -q --no-install-recommends "$@"; then
        if [ "$APT_UPDATED" -eq 0 ]; then
            as_root apt-get update -q
            APT_UPDATED=1
        fi
        as_root apt-get install -y -q --no-install-recommends "$@"
    fi
}

# ---------------------------------------------------------------------------------------------
section "system packages"
missing=()
command -v mbsync >/dev/null 2>&1 || missing+=(isync)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ! command -v postfix >/dev/null 2>&1; then
    # Install Postfix unconfigured: the tests run their own instance on loopback.
    echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
    missing+=(postfix)
fi
# Dovecot: the golden MIME cross-check starts its own instance on loopback with its own config.
command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd)
command -v testssl >/dev/null 2>&1 || missing+=(testssl.sh)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
# libFuzzer (built by the fuzz smoke run) is C++.
command -v c++ >/dev/null 2>&1 || missing+=(g++)
# The real-client matrix (tests/e2e/test_clients_*.py, docs/clients.md).
command -v offlineimap >/dev/null 2>&1 || missing+=(offlineimap3)
command -v fetchmail >/dev/null 2>&1 || missing+=(fetchmail)
command -v getmail >/dev/null 2>&1 || missing+=(getmail6)
command -v neomutt >/dev/null 2>&1 || missing+=(neomutt)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v nmap >/dev/null 2>&1 || missing+=(nmap)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# fail2ban: its filter and jail in contrib/ are checked against the real audit log
# (tests/e2e/test_hardening.py). Its service is never started.
command -v fail2ban-regex >/dev/null 2>&1 || missing+=(fail2ban)
# HAProxy: a real PROXY protocol sender in front of Portcullis (tests/e2e/test_exposure.py).
# Its service is never started either.
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if [ "${#missing[@]}" -gt 0 ]; then
    # No package installed here may start a service (the tests run private instances of
    # Postfix and Dovecot; fail2ban would start its daemon and watch system logs):
    # policy-rc.d answers "forbidden" to invoke-rc.d and deb-systemd-invoke meanwhile.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        trap 'as_root rm -f "$policy"' EXIT
        apt_install "${missing[@]}"
        as_root rm -f "$policy"
        trap - EXIT
    else
        apt_install "${missing[@]}"
    fi
else
    echo "all present (mbsync, curl, postfix, dovecot, cc, the client matrix)"
fi
mbsync --version
echo "dovecot $(dovecot --version)"
curl --version | head -n 1
postconf -d mail_version
# The client matrix's versions (docs/clients.md lists the ones last tested).
# (sed reads all its input: no SIGPIPE for the writer under pipefail.)
echo "offlineimap $(offlineimap --version 2>&1 | sed -n '$p')"
fetchmail --version 2>/dev/null | sed -n '/fetchmail release/p' || true
getmail --version 2>&1 | sed -n 1p
neomutt -v 2>/dev/null | sed -n 1p
tmux -V
nmap --version | sed -n 1p
openssl version
fail2ban-client --version | sed -n 1p
haproxy -v | sed -n 1p

# ---------------------------------------------------------------------------------------------
section "python packages (tests/e2e/requirements.txt -> $VENV)"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' || {
    echo "python3 >= 3.11 is required" >&2
    exit 1
}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 keeps venv/ensurepip in a separate package.
        rm -rf "$VENV"
        py_minor=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt_install python3-venv "python${py_minor}-venv" || apt_install python3-venv
        "$PYTHON" -m venv "$VENV"
    fi
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r tests/e2e/requirements.txt
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -Ei '^(pytest|pytest-timeout|pluggy|imapclient) '

# ---------------------------------------------------------------------------------------------
failures=()

if [ "${SKIP_CARGO_TESTS:-0}" != "1" ]; then
    if cargo nextest --version >/dev/null 2>&1; then
        section "cargo nextest run --workspace --all-features"
        cargo nextest run --workspace --all-features || failures+=("cargo nextest")
    else
        section "cargo test --workspace --all-features (cargo-nextest not installed)"
        cargo test --workspace --all-features || failures+=("cargo test")
    fi
fi

section "cargo build -p portcullis"
if cargo build -p portcullis; then
    target_dir=$(cargo metadata --format-version 1 --no-deps \
        | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    export PORTCULLIS_BIN="$target_dir/debug/portcullis"
    echo "binary: $PORTCULLIS_BIN"

    section "end-to-end tests (pytest tests/e2e, ${E2E_TIMEOUT}s per test)"
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words on purpose
    "$VENV/bin/python" -m pytest tests/e2e -q --timeout "$E2E_TIMEOUT" ${PYTEST_ARGS:-} || failures+=("e2e tests")
else
    failures+=("cargo build")
fi

# ---------------------------------------------------------------------------------------------
# Bench smoke run: a few seconds of every portcullis-bench scenario against a fresh Portcullis,
# so the benchmark tool keeps working; no timing is judged (the figures are docs/benchmarks.md's).
if [ "${SKIP_BENCH_SMOKE:-0}" != "1" ]; then
    section "bench smoke run (bench/smoke.sh)"
    bench/smoke.sh || failures+=("bench smoke run")
fi

# ---------------------------------------------------------------------------------------------
# Fuzz smoke run: each target of fuzz/ (framing, command, session, mime, lmtp, mutf7) for
# FUZZ_SECONDS on its seeds and saved regression inputs. The long runs are by hand
# (docs/fuzzing.md).
if [ "${SKIP_FUZZ:-0}" != "1" ]; then
    section "fuzz smoke run (fuzz/run.sh, ${FUZZ_SECONDS:-10}s per target)"
    FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portcullis/fuzz-target} \
        fuzz/run.sh "${FUZZ_SECONDS:-10}" || failures+=("fuzz smoke run")
fi

# ---------------------------------------------------------------------------------------------
section "summary"
if [ "${#failures[@]}" -gt 0 ]; then
    echo "FAILED: ${failures[*]}"
    exit 1
fi
echo "all test stages passed"
