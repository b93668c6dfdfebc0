#!/usr/bin/env python3
"""Turns the JSON lines of a bench/compare run into docs/benchmarks-compare.md.

usage: bench/report.py RESULTS_DIR > docs/benchmarks-compare.md

RESULTS_DIR holds LABEL.jsonl (one portcullis-bench record per line), meta.txt
(key=value lines written by bench/compare), portcullis.toml and dovecot-*.conf.
"""

import json
import os
import sys

SERVERS = [
    ("portcullis", "Portcullis"),
    ("dovecot-default", "Dovecot default"),
    ("dovecot-performance", "Dovecot high-perf."),
]

# (scenario, figure key, label, better): better is "higher", "lower" or None (no ratio).
FIGURES = [
    ("idle-scale", "held", "connections held to the end", "higher"),
    ("idle-scale", "setup_failures", "setup failures", None),
    ("idle-scale", "dropped", "dropped during the hold", None),
    ("idle-scale", "not_attempted", "not attempted (server memory guard)", None),
    ("idle-scale", "pss_kib_per_conn", "server PSS per connection (KiB)", "lower"),
    ("idle-scale", "rss_kib_per_conn", "server RSS per connection (KiB)", "lower"),
    ("idle-scale", "server_processes", "server processes while held", None),
    ("idle-scale", "setup_s", "setup time (s)", "lower"),
    ("login-rate", "logins_per_s", "logins/s", "higher"),
    ("login-rate", "p50_ms", "cycle p50 (ms)", "lower"),
    ("login-rate", "p99_ms", "cycle p99 (ms)", "lower"),
    ("login-rate", "handshake_p50_ms", "TCP+TLS+greeting p50 (ms)", "lower"),
    ("login-rate", "server_cpu_ms_per_login", "server CPU per login (ms)", "lower"),
    ("login-rate", "errors", "errors", None),
    ("append", "messages_per_s", "messages/s", "higher"),
    ("append", "mb_per_s", "MB/s", "higher"),
    ("append", "p50_ms", "APPEND p50 (ms)", "lower"),
    ("append", "p99_ms", "APPEND p99 (ms)", "lower"),
    ("big-mailbox", "prepare_s", "prepare: APPEND all (s)", "lower"),
    ("big-mailbox", "select_cold_ms", "SELECT cold (ms)", "lower"),
    ("big-mailbox", "select_warm_ms", "SELECT warm (ms, median of 5)", "lower"),
    ("big-mailbox", "fetch_uid_flags_ms", "FETCH 1:* (UID FLAGS) (ms)", "lower"),
    ("big-mailbox", "fetch_envelope_ms", "FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE INTERNALDATE) (ms)", "lower"),
    ("big-mailbox", "search_subject_ms", "UID SEARCH SUBJECT (ms)", "lower"),
    ("big-mailbox", "search_body_cold_ms", "UID SEARCH BODY cold (ms)", "lower"),
    ("big-mailbox", "search_body_warm_ms", "UID SEARCH BODY warm (ms)", "lower"),
    ("big-mailbox", "random_bodies_total_ms", "100 random UID FETCH BODY.PEEK[] cold (ms, total)", "lower"),
    ("big-mailbox", "random_bodies_again_total_ms", "the same 100 again, warm (ms, total)", "lower"),
    ("mixed", "commands_per_s", "commands/s", "higher"),
    ("mixed", "errors", "errors", None),
    ("mixed", "p50_ms", "command p50 (ms)", "lower"),
    ("mixed", "p99_ms", "command p99 (ms)", "lower"),
]

SCENARIO_TEXT = {
    "idle-scale": "N connections each LOGIN, SELECT INBOX and IDLE (at most 64 being set up "
    "at once), held for the hold time. Memory: RSS and PSS (from /proc/PID/smaps_rollup) "
    "summed over every server process (the server's process tree), measured at the end of "
    "the hold, minus the same sum before the first connection (taken after a quiet settle "
    "time), divided by the connections held.",
    "login-rate": "W workers repeat connect + full TLS handshake (no resumption) + greeting "
    "+ LOGIN + LOGOUT; users rotate over all accounts, after a warm-up that logs every "
    "account in once. Rate = completed cycles / duration; latencies are whole cycles.",
    "append": "C connections, each with a fresh mailbox, APPEND M generated messages "
    "(2-100 KB) one at a time, each waiting for its OK (the server's default durability). "
    "Timed from the moment all are ready to the last OK.",
    "big-mailbox": "One mailbox of N generated messages, prepared with pipelined "
    "MULTIAPPEND (not part of the figures below it). Cold = first command on a new "
    "connection after the harness restarted the server and dropped the page cache; for "
    "Portcullis the restart first completes the SEARCH text index (`portcullis index`: a "
    "mailbox at rest, as the background indexer leaves it once caught up). Each "
    "operation is timed from sending it to its tagged OK, every response read. The random "
    "bodies are fetched after a second such restart (and an untimed SELECT), so that no "
    "server answers them from a page cache its own SEARCH BODY filled, then again (warm).",
    "mixed": "C clients, each on a mailbox of its own, loop: connect, LOGIN, LIST, then 3 "
    "rounds of STATUS, SELECT, FETCH 1:* (UID FLAGS), UID FETCH BODY.PEEK[], STORE "
    "+/-FLAGS (\\Seen), APPEND, and (over 15 messages) STORE +FLAGS.SILENT (\\Deleted) + "
    "EXPUNGE, then LOGOUT. Every command counts.",
}


def load(results):
    records = {}
    for label, _ in SERVERS:
        path = os.path.join(results, label + ".jsonl")
        if not os.path.exists(path):
            continue
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            scenario = rec.get("scenario")
            params = rec.get("params") or {}
            if scenario == "big-mailbox" and params.get("prepare_only"):
                scenario = "big-mailbox-prepare"
            records.setdefault(label, {})[scenario] = rec
    return records


def meta(results):
    out = {}
    path = os.path.join(results, "meta.txt")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        if v >= 100:
            return f"{v:,.0f}"
        if v >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def ratio(p, d, better):
    """Portcullis's advantage: >1 means Portcullis is better."""
    if better is None or p is None or d is None:
        return "–"
    try:
        p, d = float(p), float(d)
    except (TypeError, ValueError):
        return "–"
    if better == "higher":
        return f"{p / d:.2f}×" if d > 0 else "–"
    return f"{d / p:.2f}×" if p > 0 else "–"


def figure(records, label, scenario, key):
    rec = records.get(label, {}).get(scenario)
    if rec is None and scenario == "big-mailbox":
        return None
    if rec is None:
        return None
    v = (rec.get("figures") or {}).get(key)
    if key == "prepare_s" and v is None:
        v = (records.get(label, {}).get("big-mailbox-prepare", {}).get("figures") or {}).get(key)
    return v


def main():
    results = sys.argv[1]
    records = load(results)
    m = meta(results)
    present = [(l, n) for l, n in SERVERS if l in records]
    any_rec = next((r for s in records.values() for r in s.values() if r.get("machine")), {})
    machine = any_rec.get("machine", {})
    p = print

    p("# Benchmarks: Portcullis side by side with Dovecot")
    p()
    p("Generated by `bench/compare` (issue 7, items 1–2). Ratios compare the servers measured in")
    p("the same run on the same machine, one server at a time; absolute figures on a shared")
    p("2-core machine are noise. **Ratio > 1 means Portcullis is better** (faster, more, or")
    p("less memory), whichever direction the figure goes.")
    p()
    p("Reproduce with:")
    p()
    p("```sh")
    p(m.get("command", "bench/compare"))
    p("```")
    p()
    p("## Machine and versions")
    p()
    p(f"- CPU: {machine.get('cores', '?')} cores, {machine.get('cpu_model', '?')}; memory {machine.get('memory_mib', '?')} MiB")
    p(f"- Kernel {machine.get('kernel', '?')}; {m.get('os', '?')}")
    p(f"- Portcullis: `{m.get('portcullis_version', '?')}`, commit {m.get('portcullis_commit', '?')}, built with {m.get('rustc', '?')} (release)")
    p(f"- Dovecot: {m.get('dovecot_version', '?')} (Debian package dovecot-imapd {m.get('dovecot_package', '?')})")
    p(f"- TLS: implicit TLS on 127.0.0.1, one {m.get('cert', 'rsa').upper()} server certificate (RSA-2048 or ECDSA P-256) shared by all servers, verified by the client against its CA; TLS session resumption off")
    p(f"- Page cache dropped before the cold figures: {'yes' if m.get('drop_caches') == '1' else 'no'}")
    params = ", ".join(f"{k[6:]}={v}" for k, v in m.items() if k.startswith("param_"))
    p(f"- Parameters: {params}")
    p()
    p("## Results")
    for scenario in ["idle-scale", "login-rate", "append", "big-mailbox", "mixed"]:
        recs = {l: records.get(l, {}).get(scenario) for l, _ in present}
        if not any(recs.values()):
            continue
        p()
        p(f"### {scenario}")
        p()
        param = next((r.get("params") for r in recs.values() if r), {})
        p(f"{SCENARIO_TEXT.get(scenario, '')} Parameters: `{json.dumps(param)}`.")
        p()
        header = ["figure"] + [n for _, n in present]
        dov = [(l, n) for l, n in present if l != "portcullis"]
        if "portcullis" in records:
            header += [f"ratio vs {n}" for _, n in dov]
        p("| " + " | ".join(header) + " |")
        p("|" + "---|" * len(header))
        for sc, key, text, better in FIGURES:
            if sc != scenario:
                continue
            vals = {l: figure(records, l, scenario, key) for l, _ in present}
            if all(v is None for v in vals.values()):
                continue
            row = [text] + [fmt(vals[l]) if recs.get(l) else "not run" for l, _ in present]
            if "portcullis" in records:
                row += [ratio(vals.get("portcullis"), vals[l], better) for l, _ in dov]
            p("| " + " | ".join(row) + " |")
        checks_row = ["answers checked (passed / failed)"]
        cpu_row = ["bench CPU (% of one core)"]
        for l, _ in present:
            r = recs.get(l)
            if not r:
                checks_row.append("not run")
                cpu_row.append("–")
                continue
            c = r.get("checks") or {}
            checks_row.append(f"{c.get('passed', 0):,} / {c.get('failed', 0):,}")
            cpu_row.append(fmt((r.get("bench_cpu") or {}).get("percent_of_one_core")))
        if "portcullis" in records:
            checks_row += [""] * len(dov)
            cpu_row += [""] * len(dov)
        p("| " + " | ".join(checks_row) + " |")
        p("| " + " | ".join(cpu_row) + " |")
        problems = []
        for l, n in present:
            r = recs.get(l)
            if not r:
                continue
            if r.get("error"):
                problems.append(f"- {n}: run failed: {r['error'].splitlines()[0][:300]}")
            for f in (r.get("checks") or {}).get("failures", [])[:5]:
                # One line each (an error with a backtrace would swamp the page).
                first = f.splitlines()[0] if f else f
                problems.append(f"- {n}: {first[:300]}")
        if problems:
            p()
            p("Errors and wrong answers (first few):")
            p()
            for line in problems:
                p(line.replace("|", "\\|"))

    p()
    p("## Reading the figures")
    p()
    p("- *not attempted (server memory guard)*: `idle-scale` stops opening connections once")
    p("  the server's private resident memory passes half of the memory available when the")
    p("  run started (the machine is shared; `--max-server-rss-mib` changes it). Figures per")
    p("  connection are over the connections actually held.")
    p("- *big-mailbox* keeps its mailbox between runs (data under `target/bench-compare`);")
    p("  when it was already there, the prepare row is absent. Dovecot fills its index cache")
    p("  on the first FETCH of ENVELOPE/BODYSTRUCTURE after delivery, so a first run on a")
    p("  freshly prepared mailbox shows a slower Dovecot than later runs.")
    p("- Failures at the end of `idle-scale` (DONE/LOGOUT) happen after the memory was")
    p("  measured; they are the server's answers to every client ending IDLE at once.")
    p()
    p("## How answers are checked")
    p()
    p("Messages come from a seeded generator (`crates/bench/src/message.rs`), so the bench")
    p("knows every byte it appended: EXISTS and STATUS counts, APPENDUID and FETCH UIDs,")
    p("RFC822.SIZE of every message, the ENVELOPE subject, the exact UID sets of")
    p("`UID SEARCH SUBJECT`/`BODY` (marker words placed by the generator), and byte-for-byte")
    p("bodies are compared. A wrong answer counts as a failed check (listed above) and makes")
    p("`portcullis-bench` exit with 3; figures of a run with failed checks do not count.")
    p()
    p("## Configurations")
    for name, fname, lang in [
        ("Portcullis (`bench/portcullis.sh`)", "portcullis.toml", "toml"),
        ("Dovecot, default process model (`bench/dovecot/setup.sh default`)", "dovecot-default.conf", ""),
        ("Dovecot, high-performance mode (`bench/dovecot/setup.sh performance`)", "dovecot-performance.conf", ""),
    ]:
        path = os.path.join(results, fname)
        if not os.path.exists(path):
            continue
        p()
        p(f"### {name}")
        p()
        p(f"```{lang}")
        p(open(path, encoding="utf-8").read().rstrip())
        p("```")
    p()
    p("Dovecot's high-performance settings follow its 2.3 documentation: *Login processes —")
    p("High-performance mode* (`service imap-login { service_count = 0; client_limit;")
    p("process_min_avail = <CPU cores>; vsz_limit = 1G }`), *Performance tuning*")
    p("(`auth_cache_size`; imap `service_count = 100` to reuse processes) and *Hibernation*")
    p("(`imap_hibernate_timeout`, the `imap-master` listener owned by the internal user).")
    p("Dovecot's passwords use the PLAIN scheme (the issue's reference setup); Portcullis")
    p("hashes with argon2id, which `login-rate` pays on every LOGIN.")


if __name__ == "__main__":
    main()
