#!/usr/bin/env bash
# Start a private Dovecot (Debian's dovecot-imapd) on loopback for benchmarks.
#
#   bench/dovecot/setup.sh MODE DIR PORT
#
# MODE   default      Dovecot's default process model: a new imap-login process per
#                     connection (service_count = 1, "high-security mode", which also proxies
#                     TLS for the whole session) and one imap process per session
#                     (client_limit = 1). Only the process/client limits are raised so
#                     that $MAX_CONNECTIONS sessions fit.
#        performance  Dovecot's documented high-performance mode:
#                     - login processes (doc.dovecot.org/2.3/admin_manual/login_processes/,
#                       "High-performance mode"): service imap-login { service_count = 0;
#                       client_limit = $default_client_limit; process_min_avail = <CPU cores>;
#                       vsz_limit = 1G }
#                     - performance tuning (doc.dovecot.org/2.3/configuration_manual/
#                       performance_tuning/): auth_cache_size for passdb/userdb lookups, and
#                       "increase service { service_count } from 1 to higher (e.g. 100) for
#                       imap" to reuse processes. imap keeps client_limit = 1: the docs never
#                       raise it (an imap process blocks on storage).
#                     - hibernation (doc.dovecot.org/2.3/configuration_manual/hibernation/):
#                       imap_hibernate_timeout = $HIBERNATE_TIMEOUT and the imap-master
#                       listener owned by $default_internal_user, as documented.
# DIR    a directory of its own: base_dir, state, logs, passwd-file and Maildirs go there.
#        Nothing outside DIR is written; the system configuration (/etc/dovecot) is not
#        read, and no default port is opened (IMAPS on 127.0.0.1:PORT only, no port 143).
#
# Environment: USERS (100), USER_PATTERN (bench{n}), BENCH_PASSWORD (bench-password),
# CERT and KEY (PEM; default: bench/gen-cert.sh DIR/tls, RSA-2048), MAX_CONNECTIONS
# (10000), HIBERNATE_TIMEOUT (5s).
#
# Passwords use the PLAIN scheme (a cheap scheme, as in the issue's reference numbers),
# mail is Maildir under DIR/mail owned by "nobody", durability is Dovecot's default
# (mail_fsync = optimized). Prints the master PID. Stop with bench/dovecot/stop.sh DIR.
set -euo pipefail

usage() { echo "usage: $0 default|performance DIR PORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
MODE=$1 DIR=$2 PORT=$3
case "$MODE" in default|performance) ;; *) usage ;; esac

USERS=${USERS:-100}
USER_PATTERN=${USER_PATTERN:-bench\{n\}}
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-10000}
HIBERNATE_TIMEOUT=${HIBERNATE_TIMEOUT:-5s}
CORES=$(nproc)

# 1. The package, only if missing. The Debian package would start the system service on
#    ports 143/993: a policy-rc.d that refuses service starts is put in place for the
#    install (only when none exists) and removed afterwards.
if ! command -v dovecot >/dev/null 2>&1 || [ ! -x /usr/lib/dovecot/imap ]; then
    echo "installing dovecot-imapd from Debian" >&2
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends dovecot-imapd >&2 \
        || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends dovecot-imapd >&2; }
    [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
fi

DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
if [ -f "$DIR/run/master.pid" ] && kill -0 "$(cat "$DIR/run/master.pid")" 2>/dev/null; then
    echo "dovecot already running in $DIR" >&2
    exit 1
fi
mkdir -p "$DIR/run" "$DIR/state" "$DIR/log" "$DIR/mail" "$DIR/tls"
chmod 755 "$DIR" "$DIR/run"
chown nobody:nogroup "$DIR/mail"

# 2. TLS: the given pair, or one generated here (RSA-2048, with its CA in DIR/tls/ca.pem).
if [ -z "${CERT:-}" ]; then
    "$(dirname "$0")/../gen-cert.sh" "$DIR/tls" rsa
    CERT=$DIR/tls/cert.pem KEY=$DIR/tls/key.pem
fi

# 3. Users: a passwd-file with PLAIN passwords; every user's mail under DIR/mail/NAME.
: > "$DIR/users"
for i in $(seq 1 "$USERS"); do
    printf '%s:{PLAIN}%s::::::\n' "${USER_PATTERN//\{n\}/$i}" "$BENCH_PASSWORD" >> "$DIR/users"
done
chmod 640 "$DIR/users"
chgrp dovecot "$DIR/users"

# 3b. inotify: Dovecot needs an inotify instance per IDLE session (for change
#     notification, and to hand to imap-hibernate when it hibernates a session); Linux
#     allows 128 per uid by default, and every session here runs as "nobody". Dovecot's
#     own warning asks to raise fs.inotify.max_user_instances, as a production server
#     would: it is raised (never lowered) to fit $MAX_CONNECTIONS sessions, unless
#     KEEP_INOTIFY_LIMIT=1, in which case sessions beyond the limit poll and cannot
#     hibernate.
want=$((MAX_CONNECTIONS + 1000))
have=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
if [ "${KEEP_INOTIFY_LIMIT:-0}" != 1 ] && [ "$have" -lt "$want" ]; then
    if echo "$want" > /proc/sys/fs/inotify/max_user_instances 2>/dev/null; then
        echo "raised fs.inotify.max_user_instances from $have to $want" >&2
    else
        echo "cannot raise fs.inotify.max_user_instances ($have): IDLE beyond it polls and cannot hibernate" >&2
    fi
fi

# 4. The configuration: one file, nothing included from /etc/dovecot.
PROCESS_LIMIT=$((MAX_CONNECTIONS + 200))
CLIENT_LIMIT=$((3 * MAX_CONNECTIONS + 1000))
{
cat <<CONF
# Generated by bench/dovecot/setup.sh ($MODE mode). Private instance: own base_dir,
# state, logs and users; IMAPS on 127.0.0.1:$PORT only.
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/log/dovecot.log
info_log_path = $DIR/log/dovecot-info.log
protocols = imap
listen = 127.0.0.1
instance_name = bench-dovecot-$PORT

ssl = required
ssl_cert = <$CERT
ssl_key = <$KEY
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DIR/mail/%u
}
mail_location = maildir:~/Maildir

# Limits raised so that $MAX_CONNECTIONS connections fit (defaults: 100 processes per
# service, 1000 clients per process, 10 connections per user and IP).
default_process_limit = $PROCESS_LIMIT
default_client_limit = $CLIENT_LIMIT
default_vsz_limit = 1G
mail_max_userip_connections = $((MAX_CONNECTIONS + 100))

service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $PORT
    ssl = yes
  }
  process_limit = $PROCESS_LIMIT
CONF
if [ "$MODE" = performance ]; then
cat <<CONF
  # High-performance mode (login_processes doc).
  service_count = 0
  client_limit = $CLIENT_LIMIT
  process_min_avail = $CORES
  vsz_limit = 1G
}
service imap {
  process_limit = $PROCESS_LIMIT
  # Performance tuning doc: reuse imap processes for up to 100 sessions.
  service_count = 100
  # An imap process whose session went to imap-hibernate waits for reuse; this lets it
  # exit after 5 s of idleness (default 1 min), so hibernation frees its memory as in
  # the default process model (Services doc: idle_kill).
  idle_kill = 5s
  # Hibernation doc: let imap-hibernate hand connections back.
  unix_listener imap-master {
    user = \$default_internal_user
  }
}
# Performance tuning doc: cache passdb and userdb lookups.
auth_cache_size = 10M
# Hibernation doc: move IDLE connections to the imap-hibernate process.
imap_hibernate_timeout = $HIBERNATE_TIMEOUT
CONF
else
cat <<CONF
  # Default process model: service_count = 1 (a new process per connection).
}
service imap {
  # The built-in limit is 1024 imap processes.
  process_limit = $PROCESS_LIMIT
}
CONF
fi
} > "$DIR/dovecot.conf"

# 5. Start. The open-file limit is raised for the master (it passes it on).
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
dovecot -c "$DIR/dovecot.conf" </dev/null >/dev/null 2>&1
for _ in $(seq 1 100); do
    if [ -s "$DIR/run/master.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        cat "$DIR/run/master.pid"
        exit 0
    fi
    sleep 0.1
done
echo "dovecot did not start; see $DIR/log/dovecot.log" >&2
tail -20 "$DIR/log/dovecot.log" >&2 || true
exit 1
