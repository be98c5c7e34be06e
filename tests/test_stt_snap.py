"""Snapping a grammar session's n-best list to a listed phrase (or nothing): the scoring itself."""

from __future__ import annotations

from bot.speech.stt.snap import Alternative, matching_phrase, similarity, snap, weights

PHRASES = ["불 켜 줘", "불 꺼 줘", "다음 달", "분 십이 기"]


def test_similarity_ignores_spaces_and_unknown_markers() -> None:
    assert similarity("불 켜 줘", "불켜줘 [unk]") == 1.0
    assert similarity("불 켜 줘", "불 꺼 줘") == 1 - 1 / 3
    assert similarity("", "") == 1.0
    assert similarity("가", "") == 0.0


def test_weights_are_a_softmax_of_the_decoder_scores() -> None:
    w = weights([Alternative("a", 10.0), Alternative("b", 10.0), Alternative("c", -50.0)])
    assert abs(w[0] - 0.5) < 1e-9 and abs(sum(w) - 1) < 1e-9 and w[2] < 1e-20


def test_a_repeated_word_snaps_to_its_phrase() -> None:
    result = snap([Alternative("불 켜 줘 줘", 100.0)], PHRASES)
    assert result is not None and result.phrase == "불 켜 줘" and 0.6 <= result.confidence < 1


def test_the_n_best_list_votes() -> None:
    heard = [
        Alternative("다음 줘 다음 달", 131.0),
        Alternative("다음 달", 130.8),
        Alternative("불 켜 줘", 120.0),
    ]
    result = snap(heard, PHRASES)
    assert result is not None and result.phrase == "다음 달"


def test_nothing_or_a_weak_match_is_no_phrase() -> None:
    assert snap([], PHRASES) is None
    assert snap([Alternative("[unk]", 1.0)], PHRASES) is None
    assert snap([Alternative("안녕하세요 감사합니다", 1.0)], PHRASES) is None
    assert snap([Alternative("불 켜 줘", 1.0)], []) is None
    assert snap([Alternative("다음 줘", 1.0)], PHRASES, threshold=0.9) is None


def test_exact_match_for_endpointing() -> None:
    assert matching_phrase("다음 달 [unk]", PHRASES) == "다음 달"
    assert matching_phrase("다음", PHRASES) is None
    assert matching_phrase("", PHRASES) is None
