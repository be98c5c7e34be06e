"""The boundary gate: a sentence with no word of this skill's domain is not a finance, offer, consent
or confirmation turn, whatever the classifier guessed (issue 18).

The intent classifier only knows the intents it was trained on and is over-confident on sentences
far from all of them (「这周会下雪吗」 → ask_cost_details). After it, this gate looks for words of the
domain (电费, 分期, 保修, 积分, 授权 …): a sentence naming none of them that has the shape of a device
or media command (打开, 调到, 暂停, 闹钟 …) is ``device_control``; one that asks about the world
(天气, 几号, 多高, 怎么办 …) or is everyday chatter (jokes, feelings, praise: :mod:`bot.nlu.chatter`)
and names no appliance is ``out_of_scope``. A sentence with a domain word is never touched, so
「空调这个月用了多少电」 stays ours and 「把空调调到26度」 does not. A greeting, a farewell or a question
about the assistant's nature without any of its own words (你好, 再见, 机器人 …) is not one either:
the shape decides, else ``out_of_scope``.
"""

from __future__ import annotations

import re
from typing import Final

from bot.nlu.chatter import sounds_social

GATED: Final = frozenset(
    {"ask_energy_usage", "ask_energy_saving", "ask_installment", "ask_cost_details", "ask_warranty",
     "ask_insurance", "ask_trade_in", "ask_green_points", "ask_device_status", "ask_why_offer",
     "consent_grant", "consent_revoke", "stop_offers", "cancel_application", "affirm", "deny", "inform",
     "ask_application_status", "ask_subscription", "redeem_points", "explain_term"}
)  # fmt: skip
"""Intents the gate may overrule: everything that offers, commits, or answers a pending question."""

_DOMAIN = re.compile(
    r"电费|用电|耗电|省电|度电|多少电|电量|能效|节能|功率|分期|\d+期|[一二两三四五六七八九十]+期|期数|每期"
    r"|月供|首付|利率|利息|年化|手续费|费用|多少钱|价格|价钱|钱|块|贵|便宜|还款|贷款|保修|延保|质保|保险|险"
    r"|以旧换新|换新|回收|旧机|补贴|积分|授权|数据|隐私|申请|订单|推荐|推销|广告|故障|坏|维修|修理|报修"
    r"|几年|多久|寿命|过保|服务|会员|保养|清洗|投诉|客服|人工|赔|毛病|报错|报了什么错|出错|异常|营销|推送"
    r"|回本|划算|值不值|值得|电表|走字|用了多少度|用了几度|多少度电|几度电|解释|什么意思|啥意思|没懂|听懂"
    r"|订阅|续费|年卡|包年|退订"
)
"""Words of the skill's domain: any one of them keeps the classifier's intent."""
_COMMAND = re.compile(
    r"打开|关掉|关闭|关上|关了|开一下|开开|调到|调成|调高|调低|调大|调小|调暗|调亮|升高|降低|暂停|继续播放"
    r"|播放|放一首|放首|放一段|来一首|来段|换一首|听歌|听音乐|听首|听一首|想听|要听|听广播|听新闻|听书|切换|切到|切回|换台|换到|投到|开锁|上锁|解锁|锁上|反锁"
    r"|锁好|锁一下|拖地|拖一下|扫一下|去扫|开始扫|清扫|别扫|继续扫|回充|脱水|开始洗|煮|加热|烧水|烤"
    r"|定时|计时|倒计时|番茄钟|闹钟|叫醒|叫我|提醒我|静音|音量|声音|大点声|小点声|频道|模式|场景|灯|窗帘|帘"
    r"|TV|恢复|下一[首曲集个]|上一[首曲集个]|启动|开启|停止|别吹|开到|打到|设到|开制|开自动|调慢|调快|摇头"
    r"|断电|降下来|升上去|放下来|关一下|后关|屏幕|快洗|漂洗|烘干|速冻|速热|即热|预热|保温|洗一下|热一下|蒸一下",
    re.IGNORECASE,
)
"""The shape of a device or media command."""
_WORLD = re.compile(
    r"天气|下雨|下雪|打雷|刮风|气温|冷不冷|热不热|几号|星期|周几|几点|日子|节日|节是|农历|多远|多高|多长"
    r"|多大|几岁|沸点|等于|乘|除以|怎么做|怎么办|吃什么|药|医院|酒店|机票|火车|高铁|外卖|快递|新闻|股市"
    r"|汇率|比赛|电影|笑话|故事|唱|诗|哪里|在哪|订个|订一|叫一辆|打车|外面|多少度|雾霾|限号|限行|国庆|春节"
    r"|脑筋|游戏|英语|翻译|多少米|国家|美元|下一句|综艺|电话|微信|消息|跳舞|做什么|买菜|穿什么|喜欢|开心"
    r"|累|困|饿|晚安|超市|世界杯|什么时候开始|聊天|无聊"
)
"""A question about the world or everyday chatter."""
_APPLIANCE = re.compile(
    r"空调|冰箱|洗衣机|热水器|新风|扫地|净化器|门锁|指纹锁|摄像头|监控|电视|洗碗机|音箱|挂机|柜机|家电|设备"
)


_RITUAL: Final = {
    "greet": re.compile(
        r"你好|您好|嗨|哈喽|哈罗|早上好|中午好|下午好|晚上好|早啊|早安|在吗|在不在|有人吗|小居|喂|招呼"
        r"|hello|hi",
        re.IGNORECASE,
    ),
    "goodbye": re.compile(
        r"再见|拜拜|^拜|晚安|没事了|这样吧|先这样|就这样|下次|回头见|明天见|不聊|聊到|走了|退出|结束|到这"
        r"|到此|就这些|没别的|休息|886|bye|不说了|下回|关闭",
        re.IGNORECASE,
    ),
    "bot_challenge": re.compile(
        r"机器|真人|人工|AI|程序|人吗|是人|人类|活人|谁|什么东西|电脑|录音|自动|助手|智能|意识|名字",
        re.IGNORECASE,
    ),
}
"""Words a greeting, a farewell or a question about the assistant's nature cannot do without: the
classifier also files chatter and commands under these (「跳过这首」 → goodbye, 「你家在哪儿」 →
greet), which would keep the host assistant from hearing them."""


def gate(intent: str, text: str) -> str | None:
    """``device_control`` or ``out_of_scope`` when ``intent`` must not stand for ``text``; else None."""
    ritual = _RITUAL.get(intent)
    if ritual is not None:
        if ritual.search(text) or names_the_domain(text):
            return None
        return shape(text) or "out_of_scope"
    return shape(text) if intent in GATED else None


def shape(text: str) -> str | None:
    """``device_control`` or ``out_of_scope`` for a sentence with no word of the domain that has the
    shape of a command or of a question about the world; None for anything else."""
    if names_the_domain(text):
        return None
    if _COMMAND.search(text):
        return "device_control"
    if (_WORLD.search(text) or sounds_social(text)) and not _APPLIANCE.search(text):
        return "out_of_scope"
    return None


def names_the_domain(text: str) -> bool:
    """Whether the sentence has a word of the skill's domain (电费, 分期, 保修, 积分, 授权 …)."""
    return bool(_DOMAIN.search(text))
