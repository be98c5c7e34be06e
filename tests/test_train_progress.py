"""``bot train`` progress: stages and fractions read from Rasa's output, drawn as a bar or as lines."""

from __future__ import annotations

import io

from bot.cli.progress import ProgressView, elapsed
from bot.rasa.progress import OutputReader, Stage, TrainProgress, at

RASA_OUTPUT = (
    "14:00:01 INFO rasa.engine.training.hooks - Starting to train component 'SpacyNLP'.\n"
    "14:00:02 INFO rasa.engine.training.hooks - Starting to train component 'DIETClassifier'.\n"
    "Epochs:   0%|          | 0/100 [00:00<?, ?it/s]\r"
    "Epochs:  45%|████▌     | 45/100 [00:10<00:12, 4.40it/s, t_loss=1.2, i_acc=0.9]\r"
    "Epochs: 100%|██████████| 100/100 [00:22<00:00, 4.40it/s, t_loss=0.3, i_acc=1]\n"
    "14:00:29 INFO rasa.engine.training.hooks - Starting to train component 'EntitySynonymMapper'.\n"
    "14:00:30 INFO rasa.engine.training.hooks - Starting to train component 'RulePolicy'.\n"
    "14:00:31 INFO rasa.engine.training.hooks - Starting to train component 'MemoizationPolicy'.\n"
    "Your Rasa model is trained and saved at 'models/skill-x.tar.gz'.\n"
)


def events_of(text: str, chunk: int) -> list[TrainProgress]:
    reader = OutputReader()
    out: list[TrainProgress] = []
    for i in range(0, len(text), chunk):
        out += reader.feed(text[i : i + chunk])
    return out


def test_stages_come_in_order_and_the_fraction_only_grows() -> None:
    events = events_of(RASA_OUTPUT, 7)
    stages = [e.stage for e in events]
    assert stages[0] is Stage.NLU and Stage.POLICIES in stages and stages[-1] is Stage.DONE
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    epoch = next(e for e in events if "45/100" in e.detail)
    assert at(Stage.NLU, 0.45).fraction == epoch.fraction
    mapper = next(e for e in events if e.detail == "EntitySynonymMapper")
    assert mapper.fraction == at(Stage.NLU, 1.0).fraction, "a component after DIET keeps the place"


def test_output_split_anywhere_gives_the_same_events() -> None:
    assert events_of(RASA_OUTPUT, 1) == events_of(RASA_OUTPUT, 4096)


def test_a_terminal_gets_one_redrawn_bar_with_elapsed_time() -> None:
    out = io.StringIO()
    view = ProgressView(out, tty=True, clock=0.0)
    view(at(Stage.NLU, 0.5, "DIET 50/100 轮"), now=83.0)
    view(at(Stage.DONE, 1.0), now=150.0)
    text = out.getvalue()
    assert text.startswith("\r\033[K") and "NLU 训练" in text and "1:23" in text and "DIET 50/100 轮" in text
    assert "█" in text and "░" in text and text.endswith("\n") and text.count("\n") == 1


def test_without_a_terminal_plain_lines_a_few_per_run() -> None:
    out = io.StringIO()
    view = ProgressView(out, tty=False, clock=0.0)
    for done in range(101):
        view(at(Stage.NLU, done / 100, f"DIET {done}/100 轮"), now=float(done))
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 12 and all("\r" not in line and "█" not in line for line in lines)
    assert lines[0].startswith("[0:00] NLU 训练")


def test_elapsed_reads_minutes_and_seconds() -> None:
    assert elapsed(0) == "0:00" and elapsed(83.9) == "1:23" and elapsed(3600) == "60:00"
