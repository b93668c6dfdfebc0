"""Fixtures: the real `portcullis` binary on 127.0.0.1 with OS-chosen ports in a temporary
data directory, test accounts created with `portcullis user add` (password on stdin), and a
bounded stop (SIGTERM, then SIGKILL) at teardown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import Server, binary_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(scope="session")
def binary() -> Path:
    path = binary_path()
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `cargo build -p portcullis` first (or set PORTCULLIS_BIN)")
    return path


@pytest.fixture
def make_server(binary, tmp_path, request):
    """A factory for servers that are stopped at teardown whatever happened."""
    servers: list[Server] = []

    def make(*, config_text: str | None = None, users: tuple[str, ...] = (), start: bool = True,
             name: str = "data", extra_args: tuple[str, ...] = ()) -> Server:
        data_dir = tmp_path / name
        config = None
        if config_text is not None:
            config = tmp_path / f"{name}.toml"
            # The config's data_dir and listeners are chosen by the test; --data-dir wins anyway.
            config.write_text(config_text)
        server = Server(data_dir=data_dir, config=config, extra_args=list(extra_args))
        servers.append(server)
        for user in users:
            server.add_user(user)
        if start:
            server.start()
        return server

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for server in servers:
        if failed:
            print(f"--- server stderr ({server.data_dir}) ---\n{server.stderr_tail()}")
        server.cleanup()


@pytest.fixture
def server(make_server) -> Server:
    """A development server with accounts `alice` and `bob`."""
    return make_server(users=("alice", "bob"))


@pytest.fixture
def alice(server):
    """imaplib over implicit TLS, logged in as alice; logged out at teardown."""
    client = server.imaps("alice")
    yield client
    try:
        client.logout()
    except Exception:
        pass


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed (scripts/test.sh installs it)")
    return path
