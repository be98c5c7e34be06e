"""``bot up``'s port check: a port something listens on is named in a clear error; a port whose last
connections are still closing (TIME_WAIT, as after a stack that kept connections alive stopped) is
free, as it is for the servers, which bind with ``SO_REUSEADDR``."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.config import Config
from bot.errors import StackError
from bot.stack.up import check_ports
from bot.testing.harness import free_port


def config(tmp_path: Path, actions_port: int) -> Config:
    return Config(var_dir=tmp_path, port=free_port(), rasa_port=free_port(), actions_port=actions_port)


def closed_by_the_server(port: int) -> None:
    """A server on ``port`` that accepts a connection and closes it first, then stops listening:
    the server's side of that connection waits in TIME_WAIT."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server closes first
            assert client.recv(1) == b""
    with socket.socket() as probe, pytest.raises(OSError):  # refused without SO_REUSEADDR while it waits
        probe.bind(("127.0.0.1", port))


def test_a_port_still_closing_connections_is_free(tmp_path: Path) -> None:
    port = free_port()
    closed_by_the_server(port)
    check_ports(config(tmp_path, port))


def test_a_port_something_listens_on_is_named(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(StackError) as err:
            check_ports(config(tmp_path, port))
    assert err.value.code == "port_in_use"
    assert f"port {port} (action server) is already in use" in err.value.message
