"""``tests/tcp_proxy.TcpProxy`` driven from synchronous tests: its event loop runs on its own thread.

with ThreadedProxy("127.0.0.1", 5432) as proxy:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/db"
    proxy.cut()       # the service is "down" for every client behind the proxy
    proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any

from tests.tcp_proxy import TcpProxy


class ThreadedProxy:
    """A TcpProxy whose loop runs on a daemon thread; every method blocks until done."""

    def __init__(self, host: str, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self.proxy = TcpProxy(host, port)
        self.target = (host, port)
        """The service behind the proxy."""

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return self.proxy.port

    def start(self) -> ThreadedProxy:
        """Run the loop and start listening."""
        self._thread.start()
        self._run(self.proxy.start())
        return self

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self._run(self.proxy.cut())

    def restore(self) -> None:
        """Forward again."""
        self._run(self.proxy.restore())

    def stop(self) -> None:
        """Stop listening and end the loop's thread."""
        self._run(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> ThreadedProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @classmethod
    @contextlib.contextmanager
    def running(cls, host: str, port: int) -> Iterator[ThreadedProxy]:
        """A started proxy for the block."""
        with cls(host, port) as proxy:
            yield proxy

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(10)
