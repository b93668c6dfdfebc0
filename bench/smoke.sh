#!/usr/bin/env bash
# A few seconds of every portcullis-bench scenario against a fresh Portcullis, for CI: it
# checks that the bench tool keeps working (and that Portcullis answers it correctly).
# No timing is judged.
#
#   bench/smoke.sh            uses target/debug binaries (built here if missing)
#   PROFILE=release bench/smoke.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
PROFILE=${PROFILE:-debug}
if [ "$PROFILE" = release ]; then
    cargo build --release -p portcullis -p portcullis-bench
else
    cargo build -p portcullis -p portcullis-bench
fi
dir=$(mktemp -d)
export PORTCULLIS_BIN=$repo/target/$PROFILE/portcullis USERS=5
trap 'bench/portcullis.sh stop "$dir/server" || true; rm -rf "$dir"' EXIT
bench/gen-cert.sh "$dir/tls" ecdsa
export CERT=$dir/tls/cert.pem KEY=$dir/tls/key.pem
port=${SMOKE_PORT:-19939}
pid=$(bench/portcullis.sh start "$dir/server" "$port")
"$repo/target/$PROFILE/portcullis-bench" --port "$port" --ca "$dir/tls/ca.pem" --tls-name localhost \
    --users "$USERS" --server-pids "$pid" --label portcullis-smoke smoke > "$dir/smoke.jsonl"
echo "portcullis-bench smoke: every scenario ran and every answer was right" >&2
