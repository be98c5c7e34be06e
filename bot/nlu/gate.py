"""The boundary gate: a sentence with no word of this skill's domain is not a finance, offer, consent
or confirmation turn, whatever the classifier guessed (issue 18).

The intent classifier only knows the intents it was trained on and is over-confident on sentences
far from all of them (「这周会下雪吗」 → ask_cost_details, 「明天早上几度」 → ask_energy_usage). After it,
this gate looks for words of the domain (电费, 分期, 保修, 积分, 授权, 审批, 订阅 …): a sentence naming
none of them is not the skill's —

- with the shape of a device or media command (打开, 调到, 暂停, 闹钟, a duration before 后, a device's
  state asked: 灯开着吗, 冰箱现在几度) it is ``device_control``;
- asking about the world (天气, 几度, 几号, 多高 …) or chatting (jokes, feelings, praise:
  :mod:`bot.nlu.chatter`) without naming an appliance, it is ``out_of_scope``;
- otherwise it is ``out_of_scope`` too when it names no appliance (the domain's vocabulary, listed
  from the training data of every finance, offer and consent intent, is what makes a sentence ours,
  not a question's shape), while a question about a named appliance (「热水器是什么时候买的」) keeps
  the classifier's answer.

A bare answer (``affirm``, ``deny``, ``inform``) has no domain word by nature; it keeps its intent only
with words of its own (好的, 不用, a value the NLU found or a room). A sentence with a domain word is
never touched, so 「空调这个月用了多少电」 stays ours and 「把空调调到26度」 does not. A greeting, a
farewell, a question about the assistant's nature, a complaint or a request to repeat or slow down
without any of its own words (你好, 再见, 机器人, 投诉, 再说一遍 …) is not one either: the shape
decides, else ``out_of_scope``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final

from bot.nlu.chatter import sounds_social

GATED: Final = frozenset(
    {"ask_energy_usage", "ask_energy_saving", "ask_installment", "ask_cost_details", "ask_warranty",
     "ask_insurance", "ask_trade_in", "ask_green_points", "ask_device_status", "ask_why_offer",
     "consent_grant", "consent_revoke", "stop_offers", "cancel_application", "affirm", "deny", "inform",
     "ask_application_status", "ask_subscription", "redeem_points", "explain_term"}
)  # fmt: skip
"""Intents the gate may overrule: everything that offers, commits, or answers a pending question."""
NOT_OURS: Final = frozenset({"device_control", "out_of_scope"})
"""The intents of what is not the skill's: a device command, and chatter or the world."""
DOMAIN_ENTITIES: Final = frozenset({"product", "periods", "years", "amount"})
"""Entities that are the skill's values (the NLU never reads a duration or a set point as one)."""
ANSWERS: Final = frozenset({"affirm", "deny", "inform"})
"""Gated intents that are bare answers: no domain word by nature, so they need words of their own."""

_NUM = r"[零一二两三四五六七八九十百半\d]"
_DOOR = r"(?<![出进部专热])门(?![锁口票诊店面牌])"
"""A door of the home (not 出门, 门票, 门诊)."""
_THING = (
    rf"(灯|帘|{_DOOR}|窗|空调|冰箱|冷藏|冷冻|暖气|地暖|风扇|电扇|加湿器|除湿|新风|净化器|热水器|水温|烤箱|烘干|鱼缸|浴霸"
    r"|客厅|卧室|主卧|次卧|厨房|书房|房间|屋里|屋子|室内|家里)"
)
"""A device or a room of the home: a temperature asked of it is a device's state, not the weather."""
_DOMAIN = re.compile(
    # energy: use, cost, saving, tariffs
    r"电费|用电|耗电|费电|省电|省点电|能省|省(多少|下|了多少|钱)|度电|多少电|电量|能效|能耗|节能|结能|功率|电价|阶梯|峰谷|谷电|电表|走字"
    r"|用了多少度|用了几度|耗了多少|多少度电|几度电|(比|跟|和)(上|去|前)(个?月|年|周|星期)"
    # installments and costs
    r"|分期|分[其七]|\d+期|[一二两三四五六七八九十]+期|几期|期数|每期|月供|首付|利率|利息|年化|APR|IRR|免息"
    rf"|分[几{_NUM[1:-1]}]+个?[月年]|每个?月(还|付|交|出|多少|要)|每个月|[一每]个?月(多少|还|付|交|出)|月付|按月"
    r"|还清|慢慢还|分着|分开[付还]|[付结]清|交多少|要交|[一总]共(要|多少)|算下来"
    r"|手续费|费率|收费|收.{0,3}费|(别的|其他|其它|额外|什么|啥)费|费用|成本|多花|多付|逾期|罚息|违约|合同"
    r"|条款|陷阱|上当|隐藏|一次性付|付款|全款|多少钱|价格|价钱|钱|块(?!儿)|贵|便宜|还款|贷款|放款|金融机构"
    # applications, orders, their review
    r"|申请|订单|下单|购买|撤了|不要了|办得|办好了|办下来|办理|办成|进度|[上那]回那个|上次那个|[这那]单|撤单|退单|退订|审批|审核|批了|批下|批没批|批准|同意了[没吗]|结果(出来|下来)"
    # warranty, insurance, trade-in, points, subscriptions
    r"|保修|延保|质保|保险|(?<![危冒惊])险|保线|严保|盐包|以旧换新|换新|回收|旧机|折价|抵扣|补贴|积分|鸡分|兑换|分能换|能换(什么|啥)|多少分|分数|攒|换[个点]?啥|礼品|旧的|收不收|抵多少|订阅|耗材"
    r"|包年|包月|续费|年卡"
    # consent, data, offers
    r"|授权|受权|数据|隐私|权限|个人信息|允许|同意|推荐|推销|推[这那给了点]|给我推|为[啥什么].{0,6}(找我|跟我说|推|说这个)|老跟我说|别[跟和]?我?说这些|不想听这些|别推|少推|不要再推|卖东西"
    r"|买不买|[这那]个?方案|需要这个|觉得我(需要|要|该)|我[该要]换|要我换|广告|营销|推送"
    # device health and age (a question about an appliance the skill knows)
    r"|故障|坏|维修|修理|报修|几年|多少年|[买装]的|年限|寿命|过保|多久"
    # service, complaints, terms
    r"|服务|会员|保养|清洗|投诉|客服|人工|赔|毛病|报错|报了什么错|出错|异常|回本|划算|值不值|值得"
    r"|冷静期|解释|什么意思|啥意思|没懂|听懂",
    re.IGNORECASE,
)
"""Words of the skill's domain: any one of them keeps the classifier's intent."""
_NOT_DOMAIN = re.compile(
    r"还(要|剩|有|得|需要)?.{0,3}多久|还剩|多久(能|会)?(好|完|到)"  # how long a programme or timer runs
    # a mode of a device
    r"|(打开|开启|开|关闭|关掉|关|切换?到|切成|换成|调成|调到|用)[^，。,]{0,6}(省电|节能|ECO|隐私)模式"
    r"|(坐|乘|开车|走路|骑车|飞|到|去)[^，。,]{0,6}多久"  # how long a journey takes
    r"|(打车|车费|门票|机票|车票|火车票|一斤|几斤|公斤|快递费|外卖|美元|欧元|日元|港币|汇率|金价|油价|房价|股价"
    r"|菜价|猪肉|鸡蛋|水果|蔬菜).{0,8}(钱|价|贵|便宜|块)"  # prices of the world
    r"|(钱|块)[^，。,]{0,4}(换|兑).{0,4}(美元|欧元|日元|港币)",
    re.IGNORECASE,
)
"""Phrases whose domain-looking words belong to the host assistant or the world: 「洗衣机还要洗多久」,
「空调开省电模式」, 「打车到机场多少钱」. They are blanked before the domain is looked for."""
_COMMAND = re.compile(
    r"打开|关掉|关闭|关上|关了|开一下|开开|调到|调成|调高|调低|调大|调小|调暗|调亮|升高|降低|暂停|继续播放"
    r"|播放|放一首|放首|放一段|来一首|换一首|听歌|听音乐|听首|听一首|想听|要听|听广播|听新闻|听书|切换|切到|切回|换台|换到|投到|开锁|上锁|解锁|锁上|反锁"
    r"|锁好|锁一下|拖地|拖一下|扫一下|去扫|开始扫|清扫|别扫|继续扫|回充|脱水|开始洗|煮|加热|烧水|烤"
    r"|定时|计时|倒计时|番茄钟|闹钟|叫醒|叫我|提醒我|静音|音量|声音[^，。,真好]|大点声|小点声|频道|模式|场景|灯|窗帘|帘"
    r"|TV|恢复|下一[首曲集个]|上一[首曲集个]|启动|开启|停止|别吹|开到|打到|设到|开制|开自动|调慢|调快|摇头"
    r"|断电|降下来|升上去|放下来|关一下|后关|屏幕|快洗|漂洗|烘干|速冻|速热|即热|预热|保温|洗一下|热一下|蒸一下"
    r"|设成|设为|设置|设定|改成|改为|开大|开小|开高|开低|调[一两]?[点些]"
    rf"|[炸蒸煮烤热烘烧洗][^，。,]{{0,2}}{_NUM}+(秒|分钟?|小时|个小时|个钟头?|钟头)"
    # media: what to put on, and moving through it
    r"|(来|放|播|听)[点首段个几支曲][^，。,]{0,8}(歌|曲|乐|相声|评书|小品|广播|电台|节目|戏|儿歌)"
    r"|单曲循环|随机播放|循环播放|顺序播放|收藏|快进|快退|倒回|往回|重播|重新播放|跳过|接着[放播看听]|继续[放播看听]"
    r"|[放播看]下一|换[一个]?(台|首|集|个台)|[放播]一?[点个首段集部]|重新[放播]|[放播]一遍|大声|小声|倒数"
    r"|[这那首个]歌.{0,4}(叫什么|谁唱|名字)|谁唱的"
    # timers and alarms: a duration or a time of day with what happens then
    rf"|{_NUM}+(秒|分钟?|小时|个小时|个钟头?|钟头)[^，。,]{{0,2}}(后|以后|之后|再)"
    rf"|(过|等|定|设)[个一]?{_NUM}+(秒|分钟?|小时|个小时|个钟头?|钟头)|[高低升降]{_NUM}+度|再[高低]|{_NUM}+点[^，。,]{{0,4}}(叫|喊|响|提醒|闹)|喊我|贪睡|响一下"
    # a device's state asked: on or off, done, how warm, how long it still runs
    r"|[开关锁亮][着好]?了?(吗|没|没有)|(开|关|锁)没[开关锁]|[开关亮锁]着的?[吗呢没]|吸尘|脚本"
    r"|[洗扫烧煮烤烘充蒸热][完好]了?(吗|没)|还(要|剩|得|需要).{0,3}多久|还剩"
    rf"|{_THING}[^，。,]{{0,6}}(几度|多少度|温度|湿度)",
    re.IGNORECASE,
)
"""The shape of a device or media command, or of a question about a device's state."""
_WORLD = re.compile(
    r"天气|下雨|下雪|打雷|刮风|气温|冷不冷|热不热|几号|星期|周几|几点|日子|节日|节是|农历|多远|多高|多长"
    r"|多大|几岁|沸点|等于|乘|除以|怎么做|怎么办|吃什么|药|医院|酒店|机票|火车|高铁|外卖|快递|新闻|股市"
    r"|汇率|比赛|电影|笑话|故事|唱|诗|哪里|在哪|订个|订一|叫一辆|打车|外面|多少度|雾霾|限号|限行|国庆|春节"
    r"|脑筋|游戏|英语|翻译|多少米|国家|美元|下一句|综艺|电话|微信|消息|跳舞|做什么|买菜|穿什么|喜欢|开心"
    r"|累|困|饿|晚安|超市|世界杯|什么时候开始|聊天|无聊"
    # temperature and the sky, the calendar, lists and calls
    r"|几度|降温|升温|温度|湿度|紫外线|防晒|带伞|空气|PM|风大|太阳|月亮|几月|哪天|哪一天|几天|什么年|闰年"
    r"|生肖|节气|放假|假期|礼拜|清单|购物|短信|拨|视频|记一下|记下|备忘|日程|日历|记到|[暴大中小阵]雨|雷阵雨|台风|冰雹|下冰|雾|晴天|阴天",
    re.IGNORECASE,
)
"""A question about the world or everyday chatter."""
_APPLIANCE = re.compile(
    r"空调|冰箱|洗衣机|热水器|新风|扫地|净化器|门锁|指纹锁|摄像头|监控|电视|洗碗机|音箱|挂机|柜机|家电|电器"
    r"|设备"
)
"""An appliance the skill may know: a question about it (its age, its state) keeps the classifier's intent."""
_HOST_DEVICE = re.compile(
    rf"灯|帘|{_DOOR}|窗|暖气|地暖|风扇|电扇|机器人|加湿器|除湿|吸尘|投影|晾衣|烤箱|微波炉|电饭|锅|油烟机|插座"
    r"|开关|水壶|浴霸|马桶|鱼缸|计时|闹钟"
)
"""Devices of the home the skill knows nothing about: a question about one is the host's."""
_WORLD_FIRST = re.compile(r"(离|距离|距)[^，。,]{1,8}还(有|剩|差|要)")
"""A countdown to a day (离过年还有几天): the calendar, though 还剩 is also a timer's word."""
_DEVICE = re.compile(
    rf"门锁|指纹锁|智能锁|密码锁|灯|帘|{_DOOR}|窗|空调|冰箱|洗衣机|烘干机|热水器|暖气|地暖|风扇|电扇|新风|扫地|拖地|机器人|扫拖|净化器|加湿器"
    r"|除湿|吸尘|摄像头|监控|电视|投影|洗碗机|音箱|音响|晾衣|烤箱|微波炉|电饭|锅|油烟机|插座|开关|热水壶|水壶|浴霸"
    r"|马桶|鱼缸|洗澡水|热水|音乐|歌|广播|电台|挂机|柜机"
)
"""A device of the home, or what it plays."""
_OPERATE = re.compile(
    r"开|关|启|停|继续|暂停|换成|改成|切|去|回|出来|起来|工作|运行|投|放|拉|收|降|升|调|设|扫|拖|洗|煮|烧|热"
    r"|冻|充|转|吹|照|锁|看|播|唱|甩|吸|预约|[大小高低亮暗快慢强弱热冷暖凉]一?[点些]"
)
"""What one does to a device: switch, start, stop, move, set, send."""
QUESTION: Final = re.compile(
    r"吗|呢|几|多少|什么|啥|怎么|怎样|咋|哪|谁|是否|是不是|有没有|能不能|会不会|要不要|可不可以|[?？]"
    r"|多[长高远大久重]|(?<!不)(.)不\1|[^我你他她它不]不[?？]?$"
)
"""The shape of a question (吗, 几, 什么, 会不会, a final 不 …): a bare answer is none, nor a command."""

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
        r"机器|真人|人工|AI|程序|人吗|是人|人类|活人|(?<!我)是谁|谁在|什么东西|电脑|录音|自动|助手|智能|意识|名字",
        re.IGNORECASE,
    ),
    "complain": re.compile(
        r"投诉|人工|客服|真人|售后|不满|反映|反馈|意见|领导|服务|太差|不行|问题|差劲|垃圾|骗", re.IGNORECASE
    ),
    "repeat": re.compile(
        r"再|重复|重说|没听|听不|刚才|刚刚|一遍|一次|说啥|说什么|讲的什么|说的什么|讲什么|走神|没记住"
    ),
    "speak_slower": re.compile(r"慢|快|语速|速度|听不清|跟不上|听不过来"),
}
"""Words a greeting, a farewell, a question about the assistant's nature, a complaint or a request to
repeat or to slow down cannot do without: the classifier also files chatter and commands under these
(「跳过这首」 → goodbye, 「你家在哪儿」 → greet, 「你长什么样子」 → repeat), which would keep the host
assistant from hearing them."""
_OWN_ANSWER: Final = {
    "affirm": re.compile(
        r"^(好|行|对|是|嗯|中|成|可以|当然|确认|确定|同意|继续|OK)|好[的啊呀吧滴嘞]|[行成][啊吧呀]|也行|可以|对[的啊呀对]"
        r"|没错|是[的啊呀这]|就是|确认|确定|确人|同意|没问题|要的|当然|就这么|就按|按[这你]|就它|照这|定了"
        r"|就这样|这样办|继续|接着办|提交|麻烦了",
        re.IGNORECASE,
    ),
    "deny": re.compile(
        r"^不|不[用要需想了必行对是考虑同意感着]|别|甭|没兴趣|没必要|算了|拒绝|否|错了|免了|以后再说|改天|再说吧"
    ),
    "inform": re.compile(
        r"客厅|卧室|主卧|次卧|厨房|阳台|书房|卫生间|浴室|餐厅|儿童房|老人房|[这那][台个款种部]|[这那]一?[台个款]"
    ),
}
"""Words a bare answer keeps its intent with (besides, for ``inform``, a value the NLU found). A
question is never a bare answer."""
_PREDICATE = re.compile(r"(?<!不)太|很|真|挺|有点|特别|非常")
"""Words of a remark, not of a bare answer (「客厅太黑了」 is no room chosen)."""
_NOT_AN_ANSWER = re.compile(r"[你您]好|(?<!不)(.)不\1")
"""What only looks like an answer's words: a greeting (你好啊), a question's 会不会."""


def gate(intent: str, text: str, entities: Collection[str] = ()) -> str | None:
    """``device_control`` or ``out_of_scope`` when ``intent`` must not stand for ``text``; else None.
    ``entities`` are the names of the entities the NLU found (an ``inform`` names a value)."""
    if intent in NOT_OURS:
        return _other_reason(intent, text)
    ritual = _RITUAL.get(intent)
    if ritual is not None:
        if names_the_domain(text):
            return None
        if ritual.search(text) and not (intent == "greet" and sounds_social(text)):
            return None  # 「你好漂亮」 is praise, not a greeting
        return shape(text) or "out_of_scope"
    if intent not in GATED or names_the_domain(text) or not DOMAIN_ENTITIES.isdisjoint(entities):
        return None  # a product of the catalog, a number of instalments or an amount is the skill's
    shaped = shape(text)
    if shaped is not None:
        return shaped
    if intent in ANSWERS:
        plain = _NOT_AN_ANSWER.sub(" ", text)
        own = _OWN_ANSWER[intent].search(plain) or (intent == "inform" and entities)
        bare = not (QUESTION.search(text) or _PREDICATE.search(text))
        return None if own and bare else "out_of_scope"
    return None if _APPLIANCE.search(text) else "out_of_scope"


def _other_reason(intent: str, text: str) -> str | None:
    """Between the two intents that are not ours, the sentence's words overrule the classifier when
    they clearly say the other: chatter or a question about the world without a command's shape is no
    device command (「你好漂亮」), a command that is not chatter no question (「继续看昨天那集电视剧」)."""
    shaped, social = shape(text), sounds_social(text)
    if intent == "device_control" and shaped == "out_of_scope" and (social or not _DEVICE.search(text)):
        return shaped
    if intent == "out_of_scope" and shaped == "device_control" and not (social or _WORLD.search(text)):
        return shaped
    return None


def shape(text: str) -> str | None:
    """``device_control`` or ``out_of_scope`` for a sentence with no word of the domain that has the
    shape of a command or of a question about the world; None for anything else."""
    if names_the_domain(text):
        return None
    if _WORLD_FIRST.search(text):
        return "out_of_scope"
    if _COMMAND.search(text) or _imperative(text):
        return "device_control"
    social = sounds_social(text)
    if QUESTION.search(text) and _HOST_DEVICE.search(text) and not (social or _WORLD.search(text)):
        return "device_control"  # a question about a device the skill does not know: 「窗帘拉上了吗」
    if (_WORLD.search(text) or social) and not _APPLIANCE.search(text):
        return "out_of_scope"
    return None


def _imperative(text: str) -> bool:
    """A device named with what to do to it, and no question: 「客厅空调换成暖风」, 「热水器先烧起来」."""
    device = _DEVICE.search(text)
    return bool(device and _OPERATE.search(_DEVICE.sub(" ", text)) and not QUESTION.search(text))


def names_the_domain(text: str) -> bool:
    """Whether the sentence has a word of the skill's domain (电费, 分期, 保修, 积分, 授权 …), once the
    phrases that only look like it are blanked (洗衣机还要洗多久, 打车多少钱)."""
    return bool(_DOMAIN.search(_NOT_DOMAIN.sub(" ", text)))
