"""Helpers for the real-client matrix (tests/e2e/test_clients_*.py): each client's version,
run bounded, and the normalisations that undo exactly what a client documents it does to a
message when it stores one locally (line ends, a trace header it prepends).

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

from conftest import require_tool

CLIENT_TIMEOUT = 60


def tool_version(argv: list[str], pattern: str) -> str:
    """The version a client reports about itself (`pattern`'s first group), printed so the
    test log names what was tested."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    text = result.stdout + result.stderr
    m = re.search(pattern, text)
    assert m, (argv, text[:500])
    version = m.group(1)
    print(f"client under test: {argv[0]} {version}")
    return version


def require(name: str, version_argv: list[str], pattern: str) -> tuple[str, str]:
    """(path, version) of an installed client; fails (not skips) when it is missing:
    scripts/test.sh installs every client of the matrix."""
    path = require_tool(name)
    return path, tool_version([path, *version_argv], pattern)


def run(argv: list[str], *, env: dict | None = None, timeout: float = CLIENT_TIMEOUT,
        cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                            stdin=subprocess.DEVNULL)
    if check:
        assert result.returncode == 0, (argv, result.returncode, result.stdout[-4000:], result.stderr[-4000:])
    return result


def write_mda(directory: Path, out_dir: Path) -> Path:
    """An MDA command (for fetchmail's `mda` and getmail's MDA_external): writes the message
    on its standard input, unchanged, to a new file in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    script = directory / "mda.sh"
    script.write_text(f'#!/bin/sh\nf=$(mktemp "{out_dir}/msg.XXXXXXXX") && cat > "$f"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def delivered(out_dir: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(out_dir.iterdir())]


def lf_to_crlf(data: bytes) -> bytes:
    """Clients that store mail the Unix way write LF line ends; the server keeps CRLF."""
    assert b"\r\n" not in data, "expected LF line ends"
    return data.replace(b"\n", b"\r\n")


def drop_leading_header(data: bytes, name: bytes) -> bytes:
    """Removes one header field (with its folded continuation lines) that a client prepended;
    it must be the first field of the message."""
    m = re.match(rb"(?i)" + re.escape(name) + rb":[^\n]*\n(?:[ \t][^\n]*\n)*", data)
    assert m, (name, data[:300])
    return data[m.end():]


def maildir_messages(folder: Path) -> dict[str, bytes]:
    """file name -> bytes of every message in a Maildir folder (new/ and cur/)."""
    return {p.name: p.read_bytes() for sub in ("new", "cur") if (folder / sub).is_dir()
            for p in sorted((folder / sub).iterdir())}


def maildir_flags(name: str) -> str:
    """The Maildir info flags of a file name (`...:2,FS` -> "FS")."""
    return name.rsplit(":2,", 1)[1] if ":2," in name else ""


# Maildir info letters <-> IMAP system flags (the Maildir convention every client here uses).
MAILDIR_TO_IMAP = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def imap_flags_of_maildir_name(name: str) -> set[str]:
    return {MAILDIR_TO_IMAP[c] for c in maildir_flags(name) if c in MAILDIR_TO_IMAP}
