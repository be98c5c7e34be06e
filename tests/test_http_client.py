"""The command-line tools' gateway client waits out a rate limit as ``Retry-After`` says."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.cli import http_client
from bot.cli.http_client import post_json
from bot.errors import BotError


class _Limited(BaseHTTPRequestHandler):
    """Answers 429 (Retry-After: 1) to the first ``limited`` calls, then 200."""

    limited = 2
    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).calls <= type(self).limited:
            body, status = {"error": {"code": "rate_limited", "message": "请求太频繁"}}, 429
        else:
            body, status = {"ok": True}, 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Limited.calls, _Limited.limited = 0, 2
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Limited)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_a_rate_limit_is_waited_out_then_the_call_succeeds(server: str) -> None:
    assert post_json(server, "/api/v1/nlu/parse", "tok", {"text": "你好"}) == {"ok": True}
    assert _Limited.calls == 3


def test_a_limit_longer_than_the_budget_is_reported(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_client, "MAX_WAIT_S", 1.5)
    _Limited.limited = 5
    with pytest.raises(BotError) as err:
        post_json(server, "/api/v1/nlu/parse", "tok", {"text": "你好"})
    assert err.value.code == "rate_limited" and err.value.status == 429 and _Limited.calls == 2
