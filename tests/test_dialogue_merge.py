from __future__ import annotations

from bot.conversation.dialogue import Reply, merge_messages


def test_card_sent_after_its_text_is_attached_to_it() -> None:
    card = {"type": "energy_usage", "title": "空调本月用电"}
    replies = merge_messages(
        [{"recipient_id": "x", "text": "空调本月用电22度"}, {"recipient_id": "x", "custom": card}]
    )
    assert replies == [Reply("空调本月用电22度", card)]


def test_card_without_text_before_it_stands_alone() -> None:
    card = {"type": "consent_request", "title": "授权"}
    assert merge_messages([{"custom": card}]) == [Reply("", card)]


def test_second_card_does_not_overwrite_the_first() -> None:
    a, b = {"type": "a", "title": "A"}, {"type": "b", "title": "B"}
    replies = merge_messages([{"text": "一"}, {"custom": a}, {"custom": b}, {"text": "二"}])
    assert replies == [Reply("一", a), Reply("", b), Reply("二")]
