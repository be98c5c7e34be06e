"""What a destructive request names as its object: an application (分期, 申请, 订单) or the
household's data consent (授权, 数据), and whether its verb (撤销, 取消…) names any object at all.

Consent withdrawal and cancelling an application share their verbs (撤销授权 / 撤销订单), so the
verb alone never says which one is meant: 「我不想分期了 帮我撤销」 must not withdraw consent. The
actions ask a short question instead of acting when the object is missing or is the other one.
"""

from __future__ import annotations

import re
from typing import Final

APPLICATION: Final = "application"
CONSENT: Final = "consent"
DEVICE: Final = "device"

_APPLICATION = re.compile(r"分期|申请|订单|贷款|延保|保险|购买|那单|这单|退单|以旧换新|保单|合同|月供|兑换")
_CONSENT = re.compile(r"授权|数据|同意|隐私|个人信息|记录|权限|用电")
_DEVICE = re.compile(
    r"灯|窗帘|计时|闹钟|提醒|音乐|歌|播放|TV|音量|声音|静音|模式|场景|风扇|上锁|开锁|解锁"
    r"|温度|暖气|地暖|插座|频道|下一[首曲集个]|上一[首曲集个]",
    re.IGNORECASE,
)
"""Words of a device or media command (not the catalog's categories: 「好的 电视那台」 is a yes)."""
_VERB = re.compile(r"撤销|撤回|撤了|取消|删除|删掉|删了|清空|清除|退掉|退了|作废|注销|收回|不要了|退订")
_AFTER, _BEFORE = 12, 4
"""How far from its verb an object may stand (取消刚才的分期申请 / 刚才提交的申请帮我取消)."""


def named_objects(text: str) -> frozenset[str]:
    """Which of application, consent and device the text names."""
    found = {APPLICATION} if _APPLICATION.search(text) else set()
    if _CONSENT.search(text):
        found.add(CONSENT)
    if _DEVICE.search(text):
        found.add(DEVICE)
    return frozenset(found)


def asks_to_withdraw(text: str) -> bool:
    """A withdrawing verb (撤销, 取消, 删掉…) in a sentence that is no device command."""
    return bool(_VERB.search(text)) and DEVICE not in named_objects(text)


def verb_without_object(text: str) -> bool:
    """A withdrawing verb with no application or consent word right around it (「…帮我撤销」)."""
    for match in _VERB.finditer(text):
        around = text[max(0, match.start() - _BEFORE) : match.end() + _AFTER]
        if not (_APPLICATION.search(around) or _CONSENT.search(around)):
            return True
    return False
