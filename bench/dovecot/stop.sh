#!/usr/bin/env bash
# Stop the private Dovecot started by bench/dovecot/setup.sh in DIR (its data stays).
#   bench/dovecot/stop.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
[ -f "$DIR/dovecot.conf" ] || { echo "no dovecot.conf in $DIR" >&2; exit 1; }
pidfile=$DIR/run/master.pid
[ -s "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
kill -0 "$pid" 2>/dev/null || exit 0
kill -TERM "$pid"
for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || exit 0
    sleep 0.1
done
echo "dovecot $pid did not stop in 30 s; killing it" >&2
kill -KILL "$pid" 2>/dev/null || true
