"""Speech subcommands: ``bot transcribe``, ``bot speak``, ``bot voice`` and ``bot models …``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bot.cli.progress import progress_view
from bot.cli.voice_client import (
    AudioTurn,
    TextTurn,
    Transport,
    ensure_speaker,
    play,
    record_utterance,
    wait_for_wake_on_mic,
)
from bot.config import Config
from bot.errors import InputError
from bot.nlu.normalize import normalize
from bot.speech import registry as sm
from bot.speech.settings import SpeechSettings
from bot.speech.stt.stream import transcribe_wav
from bot.speech.stt.vosk_engine import VoskSpeechToText
from bot.speech.tts.pyttsx3_engine import Pyttsx3TextToSpeech
from bot.speech.wake import WakeSpotter


def register(subparsers: Any) -> None:
    """Add the speech subcommands."""
    tr = subparsers.add_parser("transcribe", help="speech to text of a WAV file (offline, Vosk)")
    _stt_options(tr)
    tr.add_argument("--json", action="store_true", help='print {"text": ...}')
    tr.add_argument("file", type=Path, help="WAV file (any common rate, channels, bit depth)")
    tr.set_defaults(handler=_transcribe)

    sp = subparsers.add_parser("speak", help="text to speech (Mandarin, espeak-ng)")
    sp.add_argument("--out", type=Path, help="write a WAV file (default: speaker, or stdout when piped)")
    sp.add_argument("text", nargs="+", help="what to say")
    sp.set_defaults(handler=_speak)

    vo = subparsers.add_parser("voice", help="one spoken turn against the running gateway")
    source = vo.add_mutually_exclusive_group(required=True)
    source.add_argument("--in", dest="input", type=Path, help="WAV file with the question")
    source.add_argument("--mic", action="store_true", help="record from the microphone")
    sink = vo.add_mutually_exclusive_group(required=True)
    sink.add_argument("--out", type=Path, help="write the spoken answer to a WAV file")
    sink.add_argument("--speaker", action="store_true", help="play the answer")
    vo.add_argument("--token", default="demo-zhang-speaker", help="device token")
    vo.add_argument("--url", help="gateway URL (default from config)")
    vo.add_argument("--json", action="store_true", help="print transcript and replies as JSON")
    vo.add_argument(
        "--wake", metavar="PHRASE", help="with --mic: wait for this wake phrase first (spotted locally)"
    )
    _stt_options(vo)
    vo.set_defaults(handler=_voice)

    _register_models(subparsers)


def _stt_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="Vosk model folder or registry name (default: provisioned Chinese)")
    parser.add_argument("--grammar", type=Path, help="JSON list of phrases: grammar mode")
    parser.add_argument("--trailing-silence-ms", type=int, help="silence that ends an utterance")


def _register_models(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="speech models: list, verify, download, path")
    actions = models.add_subparsers(dest="models_action", required=True, metavar="ACTION")
    actions.add_parser("list", help="known models and where they are").set_defaults(handler=_models_list)
    for name, handler, text in (
        ("verify", _models_verify, "check a model's files (and checksums when recorded)"),
        ("path", _models_path, "print the folder of a model"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("name", help="registry name or folder")
        sub.set_defaults(handler=handler)
    dl = actions.add_parser("download", help="fetch and verify a model into models/stt/<name>")
    dl.add_argument("name", help="registry name")
    dl.add_argument("--url", help="mirror URL of the zip archive")
    dl.add_argument("--sha256", help="expected SHA-256 of the archive (required when not recorded)")
    dl.set_defaults(handler=_models_download)


def _settings(args: argparse.Namespace, config: Config) -> SpeechSettings:
    return SpeechSettings.from_config(
        config,
        model=getattr(args, "model", None),
        trailing_silence_ms=getattr(args, "trailing_silence_ms", None),
    )


def _engine(settings: SpeechSettings, config: Config) -> VoskSpeechToText:
    model = sm.resolve(settings.model, config.models_dir)
    return VoskSpeechToText(model.path, model.language, model.name)


def read_grammar(path: Path | None) -> list[str] | None:
    """A grammar file: a JSON list of phrases (or ``{"phrases": [...]}``)."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read grammar file {path}: {err}", code="bad_grammar") from err
    phrases = data.get("phrases") if isinstance(data, dict) else data
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
        raise InputError(
            f"grammar file {path} must hold a non-empty JSON list of strings", code="bad_grammar"
        )
    return phrases


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}", code="file_unreadable") from err


def _transcribe(args: argparse.Namespace, config: Config) -> int:
    settings = _settings(args, config)
    engine = _engine(settings, config)
    grammar = read_grammar(args.grammar)
    try:
        handle = args.file.open("rb")
    except OSError as err:
        raise InputError(f"cannot read {args.file}: {err.strerror}", code="file_unreadable") from err
    started = time.perf_counter()
    with handle:
        result = transcribe_wav(engine, handle, grammar, settings.vad())
    utterances = [normalize(u) for u in result.utterances]
    if args.json:
        out = {
            "text": " ".join(utterances),
            "utterances": utterances,
            "audio_s": round(result.audio_ms / 1000, 2),
            "elapsed_s": round(time.perf_counter() - started, 2),
            "model": engine.info.name,
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(" ".join(utterances))
    return 0


def _speak(args: argparse.Namespace, config: Config) -> int:
    to_speaker = args.out is None and sys.stdout.isatty()
    if to_speaker:
        ensure_speaker()
    tts = Pyttsx3TextToSpeech(_settings(args, config).voice_settings())
    try:
        wav = tts.synthesize(" ".join(args.text))
    finally:
        tts.close()
    if to_speaker:
        play(wav)
    elif args.out:
        args.out.write_bytes(wav)
    else:
        sys.stdout.buffer.write(wav)
    return 0


def _transport(args: argparse.Namespace, config: Config, settings: SpeechSettings) -> Transport:
    url = args.url or f"http://{config.host}:{config.port}"
    if not (args.model or args.grammar):
        return AudioTurn(url, args.token)
    return TextTurn(url, args.token, _engine(settings, config), read_grammar(args.grammar), settings.vad())


def _voice(args: argparse.Namespace, config: Config) -> int:
    settings = _settings(args, config)
    if args.speaker:
        ensure_speaker()
    transport = _transport(args, config, settings)
    if args.wake and args.mic:
        spotter = WakeSpotter(_engine(settings, config), args.wake)
        print(f"等待唤醒词「{args.wake}」…", flush=True)
        wait_for_wake_on_mic(spotter)
    wav = _read_bytes(args.input) if args.input else record_utterance(settings.vad())
    outcome = transport.send(wav)
    tts = Pyttsx3TextToSpeech(settings.voice_settings())
    try:
        answer = tts.synthesize(outcome.reply_text) if outcome.reply_text else None
    finally:
        tts.close()
    if args.json:
        print(json.dumps({"transcript": outcome.transcript, "replies": outcome.replies}, ensure_ascii=False))
    else:
        print(f"你: {outcome.transcript}")
        print(f"助手: {outcome.reply_text or '（没有语音回复）'}")
    if answer is not None and args.out:
        args.out.write_bytes(answer)
    elif answer is not None:
        play(answer)
    return 0


def _models_list(args: argparse.Namespace, config: Config) -> int:
    for spec in sm.REGISTRY.values():
        path = sm.model_path(spec, config.models_dir)
        state = "provisioned" if path.is_dir() else "missing"
        grammar = "grammar" if spec.grammar else "no-grammar"
        print(f"{spec.name:<30} {spec.language:<3} ~{spec.size_mb:>5} MB  {grammar:<10} {state:<11} {path}")
    return 0


def _spec_and_path(name: str, config: Config) -> tuple[sm.ModelSpec | None, Path]:
    if Path(name).is_dir():
        return sm.REGISTRY.get(Path(name).name), Path(name)
    spec = sm.find_spec(name)
    return spec, sm.model_path(spec, config.models_dir)


def _models_verify(args: argparse.Namespace, config: Config) -> int:
    spec, path = _spec_and_path(args.name, config)
    problems = sm.verify(path, spec)
    if problems:
        hint = f"; {sm.provision_hint(spec, config.models_dir)}" if spec else ""
        raise sm.ModelError(f"{path}: {'; '.join(problems)}{hint}", code="speech_model_invalid")
    print(f"ok: {path}")
    return 0


def _models_path(args: argparse.Namespace, config: Config) -> int:
    _spec, path = _spec_and_path(args.name, config)
    print(path)
    return 0


def _models_download(args: argparse.Namespace, config: Config) -> int:
    spec = sm.find_spec(args.name)
    with progress_view() as view:
        path = sm.download(spec, config.models_dir, url=args.url, sha256=args.sha256, report=view)
    print(f"ok: {spec.name} at {path}")
    return 0
