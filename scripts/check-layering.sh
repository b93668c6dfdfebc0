#!/usr/bin/env bash
# Keeps the architecture's arrows pointing one way (ARCHITECTURE.md):
# - session never depends on sockets, TLS or SQL;
# - proto and mime never depend on tokio or the store;
# - only store-sqlite contains SQL.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
forbid_deps() {
    local crate=$1; shift
    local tree
    tree=$(cargo tree -p "$crate" -e normal --prefix none --quiet | awk '{print $1}' | sort -u)
    for dep in "$@"; do
        if grep -qx "$dep" <<<"$tree"; then
            echo "layering: $crate must not depend on $dep" >&2
            fail=1
        fi
    done
}
forbid_deps portcullis-session rustls tokio-rustls rusqlite libsqlite3-sys portcullis-net portcullis-store-sqlite
forbid_deps portcullis-proto tokio portcullis-store rusqlite rustls
forbid_deps portcullis-mime tokio portcullis-store portcullis-proto rusqlite rustls
forbid_deps portcullis-store rusqlite rustls portcullis-session portcullis-proto

if grep -rnE 'tokio::net|std::net::Tcp|UdpSocket|TcpStream' crates/session/src; then
    echo "layering: session touches sockets" >&2
    fail=1
fi
if grep -rlE 'SELECT [a-z_*, ().]+ FROM |INSERT INTO |CREATE TABLE |DELETE FROM |rusqlite::' crates --include='*.rs' | grep -v '^crates/store-sqlite/'; then
    echo "layering: SQL outside store-sqlite" >&2
    fail=1
fi
exit $fail
