#!/usr/bin/env bash
# Builds and runs Portcullis' fuzz targets with cargo-fuzz (libFuzzer) on stable Rust.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 10); TARGETs default to all of them. Installs cargo-fuzz
# (pinned) when missing. Builds with --sanitizer none: no -Z flag, so no nightly and no
# RUSTC_BOOTSTRAP (see docs/fuzzing.md). Each target runs on its growing corpus
# fuzz/corpus/TARGET plus its seeds (read-only) fuzz/seeds/TARGET, fuzz/regressions/TARGET
# and, for mime, tests/golden. Crashes land in fuzz/artifacts/TARGET/ and fail the run.
#
# Environment: FUZZ_TARGET_DIR (build directory; default fuzz/target), FUZZ_ARGS (extra
# libFuzzer flags, e.g. "-jobs=2 -workers=2"), FUZZ_LOG_DIR (keep each target's full log).
set -euo pipefail

cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${1:-10}
shift || true
ALL_TARGETS=(framing command session mime lmtp mutf7)
TARGETS=("$@")
[ "${#TARGETS[@]}" -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
cargo fuzz --version

build_args=(--sanitizer none --fuzz-dir fuzz)
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
    build_args+=(--target-dir "$FUZZ_TARGET_DIR")
fi
echo "== cargo fuzz build ${build_args[*]}"
cargo fuzz build "${build_args[@]}"

failed=()
for target in "${TARGETS[@]}"; do
    corpora=("fuzz/corpus/$target" "fuzz/seeds/$target")
    [ -d "fuzz/regressions/$target" ] && corpora+=("fuzz/regressions/$target")
    [ "$target" = mime ] && corpora+=(tests/golden)
    # The session and LMTP targets need room for a conversation of several commands from
    # the start (libFuzzer otherwise grows its length limit from the seeds' sizes slowly).
    case "$target" in
        session | lmtp) target_args=(-max_len=4096 -len_control=20) ;;
        *) target_args=() ;;
    esac
    mkdir -p "fuzz/corpus/$target"
    log=$(mktemp)
    echo "== $target: ${SECONDS_PER_TARGET}s"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags on purpose
    if cargo fuzz run "${build_args[@]}" "$target" "${corpora[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 ${target_args[@]+"${target_args[@]}"} ${FUZZ_ARGS:-} >"$log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
    else
        failed+=("$target")
        grep -E 'panicked|ERROR|SUMMARY|Test unit written|^artifact_prefix|Base64' "$log" | head -n 20 || true
        tail -n 30 "$log"
    fi
    if [ -n "${FUZZ_LOG_DIR:-}" ]; then
        mkdir -p "$FUZZ_LOG_DIR"
        cp "$log" "$FUZZ_LOG_DIR/$target.log"
    fi
    rm -f "$log"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: ${#TARGETS[@]} passed, 0 failed"
