"""``make stories-check`` reads the outcome tests' pytest output: counts and what was actually said."""

from __future__ import annotations

from bot.rasa.stories_check import parse_outcome

FAILED_RUN = """\
E       AssertionError: FAILED: quote states the APR before the monthly payment (binding.yml)
E           user: 新风机分十二期每个月多少钱
E           expected: card installment_quote.apr_text is '12.03%' (got '13.03%')
E           actual reply: 海尔新风机分12期，年化利率13.03%，月供1072.00元。
E       assert False
=========================== short test summary info ============================
FAILED tests/test_conversations.py::test_conversation[quote states the APR before the monthly payment]
1 failed, 48 passed, 1 deselected in 167.97s (0:02:47)
"""


def test_a_failed_case_is_reported_with_the_actual_reply() -> None:
    run = parse_outcome(1, FAILED_RUN)
    assert not run.ok and (run.passed, run.failed) == (48, 1)
    assert run.details == [
        "FAILED: quote states the APR before the monthly payment (binding.yml)",
        "user: 新风机分十二期每个月多少钱",
        "expected: card installment_quote.apr_text is '12.03%' (got '13.03%')",
        "actual reply: 海尔新风机分12期，年化利率13.03%，月供1072.00元。",
    ]


def test_a_clean_run_passes() -> None:
    run = parse_outcome(0, "." * 49 + "\n49 passed, 1 deselected in 210.00s\n")
    assert run.ok and (run.passed, run.failed, run.details) == (49, 0, [])


def test_a_run_that_crashed_without_a_summary_fails() -> None:
    assert not parse_outcome(2, "ImportError: boom\n").ok
