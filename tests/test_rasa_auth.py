"""The gateway's JWT for Rasa's HTTP API, checked by the PyJWT that Rasa itself uses (engine venv)."""

from __future__ import annotations

from bot.conversation.rasa_auth import RENEW_S, RasaAuth, rasa_jwt
from tests.engine_kit import run_engine

DECODE = """
import json, sys, jwt
token, secret = sys.argv[1], sys.argv[2]
try:
    print(json.dumps(jwt.decode(token, secret, algorithms=["HS256"])))
except jwt.exceptions.PyJWTError as err:
    print(json.dumps({"refused": type(err).__name__}))
"""


def pyjwt_decode(token: str, secret: str) -> dict[str, object]:
    return run_engine(DECODE, token, secret)


def test_pyjwt_accepts_our_token_as_admin_and_refuses_it_expired_or_under_another_secret() -> None:
    import time

    now = time.time()
    claims = pyjwt_decode(rasa_jwt("s3cret", now), "s3cret")
    assert claims["user"] == {"username": "gateway", "role": "admin"} and claims["exp"] == int(now + 300)
    assert pyjwt_decode(rasa_jwt("s3cret", now), "other") == {"refused": "InvalidSignatureError"}
    assert pyjwt_decode(rasa_jwt("s3cret", now - 3600), "s3cret") == {"refused": "ExpiredSignatureError"}


def test_headers_are_reused_for_a_while_then_renewed_and_absent_without_a_secret() -> None:
    clock = [1000.0]
    auth = RasaAuth("s3cret", clock=lambda: clock[0])
    first = auth.headers()
    assert first["Authorization"].startswith("Bearer ") and auth.headers() == first
    clock[0] += RENEW_S
    assert auth.headers() != first
    assert RasaAuth("").headers() == {}
