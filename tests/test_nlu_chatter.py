"""Everyday chatter against questions and errands about the world (the reasons chitchat and
out_of_scope of a turn that is not the skill's)."""

from __future__ import annotations

import pytest

from bot.nlu.chatter import is_chatter


@pytest.mark.parametrize(
    "text",
    ["给我讲个笑话", "讲个故事哄孩子睡觉", "唱一首生日歌", "陪我聊会天", "你叫什么呀", "你平时喜欢干嘛",
     "我该怎么称呼你", "你觉得我胖吗", "我今天好累", "心情不太好", "哈哈 真逗", "你真厉害", "笨蛋",
     "今天好热啊", "天气真不错", "谢谢你 辛苦了", "我要睡了 晚安"],
)  # fmt: skip
def test_chatter_with_the_assistant_is_chitchat(text: str) -> None:
    assert is_chatter(text)


@pytest.mark.parametrize(
    "text",
    ["今天天气怎么样", "明天会不会下雨", "你知道明天会下雨吗", "你帮我查一下航班", "现在几点", "今天几号",
     "一米是几尺", "三加五等于几", "附近有没有药店", "帮我订个酒店", "红烧肉怎么做", "肚子疼吃什么药",
     "今天热不热", "最近有什么好看的电影", "给爸爸打电话"],
)  # fmt: skip
def test_questions_and_errands_about_the_world_are_not_chatter(text: str) -> None:
    assert not is_chatter(text)
