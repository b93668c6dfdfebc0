#!/usr/bin/env bash
# A throw-away CA and a server certificate for localhost / 127.0.0.1, shared by every
# server in a benchmark run (so all pay for the same key type in their handshakes).
#
#   bench/gen-cert.sh DIR [rsa|ecdsa]     (default rsa: RSA-2048, as in the issue)
#
# Writes DIR/ca.pem (give it to portcullis-bench --ca), DIR/cert.pem and DIR/key.pem
# (PKCS#8). Existing files are kept.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [rsa|ecdsa]" >&2; exit 2; }
DIR=$1 TYPE=${2:-rsa}
mkdir -p "$DIR"
[ -f "$DIR/cert.pem" ] && [ -f "$DIR/key.pem" ] && [ -f "$DIR/ca.pem" ] && exit 0
case "$TYPE" in
    rsa) newkey=(-newkey rsa:2048) ;;
    ecdsa) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;
    *) echo "key type must be rsa or ecdsa" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 "${newkey[@]}" -nodes -days 365 -subj "/CN=portcullis-bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$tmp/ca.key" -out "$DIR/ca.pem" 2>/dev/null
openssl req -new "${newkey[@]}" -nodes -subj "/CN=localhost" \
    -keyout "$tmp/key.pem" -out "$tmp/req.csr" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$tmp/ext"
openssl x509 -req -in "$tmp/req.csr" -CA "$DIR/ca.pem" -CAkey "$tmp/ca.key" -CAserial "$tmp/ca.srl" -CAcreateserial \
    -days 365 -extfile "$tmp/ext" -out "$DIR/cert.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$tmp/key.pem" -out "$DIR/key.pem"
chmod 644 "$DIR/cert.pem" "$DIR/ca.pem"
chmod 600 "$DIR/key.pem"
