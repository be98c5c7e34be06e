"""Everyday chatter: which of the sentences that are not the skill's are social talk with the
assistant rather than a question or an errand about the world (issue 18's reason ``chitchat``).

The NLU has one intent for everything that is neither ours nor a device command (``out_of_scope``,
CONTRACTS.md §1); the host assistant beside the skill is told more precisely why a turn was handed
back (CONTRACTS.md §5): ``chitchat`` for jokes, stories and songs, the speaker's feelings, remarks on
the day, compliments and questions about the assistant itself (「你几岁了」); ``out_of_scope`` for
what asks something of the world (weather, date and time, facts, sums, errands). A question framed
to the assistant but about the world (「你知道明天会下雨吗」) is not chatter.
"""

from __future__ import annotations

import re
from typing import Final

_PLAY: Final = re.compile(
    r"笑话|段子|故事|童话|脑筋急转弯|谜语|绕口令|唱.{0,5}歌|唱歌|念.{0,2}诗|背.{0,2}诗|聊天|聊聊|聊会|说说话"
    r"|陪我|玩.{0,2}游戏|逗我|猜猜|你猜|说[句点几].{0,4}(好听|话)"
)
"""Entertainment with the assistant: jokes, stories, riddles, a song, a game, company."""
_FEELING: Final = re.compile(
    r"我.{0,4}(累|困|饿|渴|无聊|孤单|寂寞|开心|高兴|难过|伤心|郁闷|烦|生气|紧张|害怕|想哭|睡不着|失眠|不舒服)"
    r"|(好|太|真|有点)(无聊|郁闷|烦|累|困|饿|孤单|寂寞|开心|难过)|[好真]想|心情|烦死|郁闷|考砸|失恋|被.{0,4}骂"
    r"|哈哈|嘿嘿|嘻嘻|呵呵|好笑|笑死|哎呀|肚子.{0,3}[叫饿]|么么|爱你|想你|谢谢你|辛苦了|早点睡|晚安"
)
"""The speaker's own state, laughter and sighs, affection and thanks."""
_PRAISE: Final = re.compile(
    r"聪明|厉害|真棒|太棒|好棒|可爱|漂亮|真帅|笨|傻|讨厌|会说话|朋友|对象|结婚|爱我|喜欢我|想我|好玩"
)
"""Compliments and insults, friendship and affection."""
_REMARK: Final = re.compile(r"(好|真|太|特别|有点)(热|冷|闷|晒|舒服)|天气(真|挺|不错|很好|太)")
"""A remark on the day (「今天好热啊」), chatter unless it asks something."""
_QUESTION: Final = re.compile(
    r"吗|几|多少|什么|怎么|哪|谁|如何|要不要|会不会|是不是|能不能|有没有|可不可以|多[长高远大久重]|[?？]"
)
_ERRAND_FRAME: Final = re.compile(
    r"[你您](知道|能不能|能|可以|可不可以|会不会帮|帮|给我|替我|告诉|查|说说|说|看看|觉得.{0,6}(天气|会不会|要不要))"
)
"""A request framed to the assistant (「你知道…」, 「你帮我…」): about what follows, not the assistant."""
_YOU: Final = re.compile(r"[你您]")


def is_chatter(text: str) -> bool:
    """Whether a sentence that is not the skill's is everyday chatter rather than about the world."""
    return sounds_social(text) or bool(_YOU.search(_ERRAND_FRAME.sub("", text)))


def sounds_social(text: str) -> bool:
    """Play, feelings, praise or a remark on the day: chatter whoever it is said to. (Unlike a
    question about the assistant, never the shape of a request to the skill: the boundary gate uses
    it on sentences with no word of the domain.)"""
    if _PLAY.search(text) or _FEELING.search(text) or _PRAISE.search(text):
        return True
    return bool(_REMARK.search(text)) and not _QUESTION.search(text)
