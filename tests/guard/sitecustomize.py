"""Loaded by every Python subprocess a test starts (tests/conftest.py puts this folder on
PYTHONPATH): refuses any connection or name lookup outside loopback, and logs it so the
test that caused it fails even when the code under test swallowed the error."""

import ipaddress
import os
import sys


def _loopback(host: object) -> bool:
    if not isinstance(host, str) or host in ("", "localhost"):
        return isinstance(host, str)
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    log = os.environ.get("CONVERGIO_TEST_NETLOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{what} (pid {os.getpid()}: {' '.join(sys.argv)[:200]})\n")
    raise PermissionError(f"test network guard: {what}")


def _hook(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and address and not _loopback(address[0]):
            _refuse(f"connect to {address!r}")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host is not None and not _loopback(host):
            _refuse(f"name lookup of {host!r}")


# A test's own start-up hooks (tests/conftest.py `site_hooks`): run first, so their audit
# hooks see an event before this guard refuses it. Python imports one sitecustomize, so
# a test that shipped its own on PYTHONPATH would otherwise turn this guard off.
for _path in filter(None, os.environ.get("CONVERGIO_TEST_SITE_HOOKS", "").split(os.pathsep)):
    with open(_path, encoding="utf-8") as _file:
        exec(compile(_file.read(), _path, "exec"), {"__name__": "test_site_hook"})

sys.addaudithook(_hook)
