"""Synthetic customer complaints in Chinese and English, labelled with their case category.

They feed the demo's cases and the tests of the category suggester, so they are built to
be learnt from the way real ones are: a complaint is put together from an opening, one or
two of its category's sentences (each with alternative wordings inside ``[a|b]``), details
such as times, amounts and products, and a closing. As in real cases, some mention a second
problem of another kind, some only say that something went wrong, and some sentences are
honestly ambiguous (a mouldy loaf bought at a high price, a slow cashier, a delivery that
arrived thawed), so no classifier reaches 100 %. Chinese is written as customers write it,
without spaces between words.
"""

import re
from collections.abc import Sequence
from typing import Final

import numpy as np

from regulars.cases.models import CaseCategory

LANGUAGES: Final = ("zh-CN", "en")

# How often each category is complained about: queues, freshness, rude staff and empty
# shelves are the everyday ones; a case nobody can file under a category is rare.
CATEGORY_SHARES: Final[dict[CaseCategory, float]] = {
    CaseCategory.CHECKOUT_WAIT: 0.17,
    CaseCategory.FRESHNESS: 0.17,
    CaseCategory.STAFF_ATTITUDE: 0.14,
    CaseCategory.OUT_OF_STOCK: 0.13,
    CaseCategory.PRODUCT_QUALITY: 0.10,
    CaseCategory.PRICE_ERROR: 0.09,
    CaseCategory.POINTS_OR_COUPON: 0.08,
    CaseCategory.STORE_ENVIRONMENT: 0.06,
    CaseCategory.DELIVERY: 0.04,
    CaseCategory.OTHER: 0.02,
}

_ZH = """
# opening
你好，|您好，|我要投诉，|我想反映一个问题，|店长你好，|客服你好，|麻烦处理一下，
实在忍不住要说一下，|作为你们的老会员，|说句实话，|不好意思打扰一下，
# context
我{when}去{store}购物，|{when}在{store}，|{when}带孩子去{store}，|{when}下班顺路去{store}，
# detail
小票我还留着。|照片已经拍下来了。|这已经不是第一次了。|我是你们的老顾客了。|当时人特别多。
家里老人也遇到过。|我朋友也说过同样的问题。|我有录像可以证明。
# vague
体验非常差。|太让人失望了。|这个问题必须解决。|我很不满意。|希望你们改进一下。|这也太过分了。|你们到底管不管？
# closing
希望尽快给个答复。|请尽快处理！|太失望了。|以后还怎么放心来买？|希望你们重视一下。|麻烦核实一下。
请给我一个合理的解释。|要求退款。|谢谢。|真的很无语。|再这样我就不来了。|等你们回复。
# when
今天上午|昨天晚上|刚才|上周六|前天下午|周末|今天中午|周日早上
# store
你们万达店|人民路店|东门那家店|新开的那家店|这家店|火车站旁边的店
# fresh
牛奶|酸奶|猪肉|五花肉|鸡胸肉|三文鱼|鲈鱼|草莓|苹果|香蕉|葡萄|西红柿|黄瓜|豆腐|鸡蛋|面包|蛋糕
饺子|牛排|虾仁
# packaged
大米|食用油|洗衣液|纸巾|方便面|薯片|饼干|可乐|矿泉水|奶粉|酱油|咖啡|巧克力|洗发水|牙膏|坚果
罐头|猫粮
# freshness
买回家的{p}一打开就[发霉了|长毛了|有一股臭味|已经变质了|是酸的]。
买的{p}[已经过期|过期了]{d}天还摆在货架上卖。
{p}的[保质期|生产日期]标签被换过，明显是[旧货|临期的货|过期的]。
[蔬菜|青菜|生菜|菠菜]叶子都[蔫了|黄了|烂了]，根本不新鲜。
肉柜里的{p}[颜色发暗|有异味|黏糊糊的]，怀疑放了好几天。
鱼[不新鲜|眼睛都浑了|有很重的腥臭味]，说是今天到的货根本不可能。
[草莓|葡萄|桃子|芒果]底下一层全是[烂的|发霉的|压坏的]，上面摆几个好的糊弄人。
[牛奶|酸奶][还没到保质期就|打开就][结块|变酸]了。
{p}闻起来[馊了|有股怪味]，孩子吃了[拉肚子|肚子不舒服]。
面包[过期|长了霉点]还在[打折|促销]卖，[{amt}元|原价]买的。
花了{amt}元买的{p}，[切开|打开]里面[全是烂的|都坏了]，这个价钱就买到这种东西？
[临期|快过期]的{p}没有[标注|单独放]，我买回家第二天就过期了。
# product_quality
{p}[包装袋是破的|包装漏气了|罐子是瘪的|瓶盖没封好]。
在{p}里面吃出了[头发|小石子|塑料片|虫子]。
买的[雨伞|收纳箱|平底锅][质量太差|做工粗糙|用一次就坏了]。
{p}[里面的分量明显不够|净含量跟标的不一样|少了好几片]。
[纸巾|洗衣液|垃圾袋|保鲜膜]质量[很差|一扯就破|一用就漏]。
{p}[疑似假货|跟正品不一样|味道跟以前完全不同]，[怀疑是假冒的|是不是换了供应商]。
[自有品牌|你们超市自己牌子]的{p}[有质量问题|不合格|有一股化学味]。
[电水壶|插线板|吹风机]买回去[不能用|通电就冒烟|用了两天就坏了]。
[饼干|薯片|方便面]打开[全是碎的|已经受潮软了]。
{p}[有异物|里有不明黑点]，吃了不放心，要求[检测|给个说法]。
# price_error
货架上标的是{amt}元，结账的时候却收了{amt2}元。
{p}的[标价|价签]写的{amt}，[小票上|收银台]扫出来是{amt2}。
[买一送一|第二件半价|满减]活动[结账时没有算|没给减|根本没生效]。
[价签|标签]和实际价格不一致，[明显是误导消费者|这不是欺诈吗]？
[同一件|一样的]{p}被[扫了两次|重复收费]，多收了{amt}元。
称重的{p}[重量不对|多算了]，回家一称少了[半斤|二两|一百多克]。
[打折|特价]的标签还挂着，[收银员说活动早结束了|系统里却是原价]。
[会员价|会员专享价]没有[生效|显示]，按原价收了我{amt2}元。
[小票|账单]上多了一样我没买的东西，[多扣了|白付了]{amt}元。
[找零|找钱]少找了我{amt}元。
# staff_attitude
[收银员|理货员|保安|促销员|服务台的员工][态度很差|很不耐烦|爱理不理]。
问[员工|店员]{p}放在哪里，[她|他][头也不抬|白了我一眼|说不知道自己找]。
[保安|工作人员]当着别人的面[翻我的包|怀疑我偷东西]，[太不尊重人了|让我很难堪]。
服务台的[小姑娘|工作人员|经理][说话很冲|跟我吵起来了|对我大声嚷嚷]。
员工在[货架旁边|收银台][聊天|玩手机]，[叫了好几声都没人理|根本不管顾客]。
[退货|换货]的时候[店员|客服][一直推脱|态度恶劣|说是我自己弄坏的]。
[员工|店员]说话[带脏字|骂人]，[这种素质|这样的服务]怎么能上岗？
我[礼貌地|客气地]问了一句，[对方|那个员工]就[翻白眼|甩脸色|冷嘲热讽]。
称重的[阿姨|师傅][不耐烦|凶巴巴的]，把{p}[扔|摔]给我。
[经理|主管]来了也[不道歉|护着员工|敷衍了事]。
# checkout_wait
[结账|排队|付款]等了[{n}分钟|快半个小时|整整{n}分钟]。
只开了{lanes}个[收银台|收银通道]，[队伍排到|人排到了][货架那边|门口]。
[自助收银|自助结账]机[坏了好几台|总是出错|扫不了码]，[排队|等]的人越来越多。
[高峰期|周末|下班时间]收银台[太少|不够]，[能不能多开几个|为什么不多开]？
[收银员|收银]速度[太慢|慢吞吞的]，[一边扫一边聊天|扫一件停半天]。
[快速通道|少量商品通道][被大推车占了|也排长队|形同虚设]。
[扫码支付|手机支付|微信付款]一直[失败|转圈]，后面的人等了[好久|{n}分钟]。
排了[{n}分钟|好久]轮到我，[收银员说要交班|收银台突然关了]，让我[换一队|重新排]。
[等|排]了这么久，[冰淇淋|冻品]都[化了|软了]。
[人工收银|收银台]的队伍[太长|长得离谱]，[老人|带孩子的]根本站不住。
# store_environment
[地面|过道|门口][很滑|有一滩水|脏兮兮的]，[差点摔倒|有个老人摔了一跤]。
[卫生间|厕所][很脏|有异味|没有纸|一直没人打扫]。
[店里|卖场里][空调不冷|太热了|冷得像冰窖]。
[购物车|推车][轮子坏了|很脏|黏糊糊的]，[找不到一辆好的|推都推不动]。
[海鲜区|水产区|生鲜区][味道很大|很腥臭|苍蝇乱飞]。
[过道|通道]被[纸箱|货物|堆头]堵住了，[推车过不去|轮椅根本过不去]。
[广播|音乐][声音太大|太吵了]，[头都疼|说话都听不见]。
[灯|照明][坏了好几盏|很暗]，看不清[价签|东西]。
[停车场|地下车库][很乱|没人指挥|太黑了]。
看到[老鼠|蟑螂]在[货架|仓库门口]跑。
# out_of_stock
{p}[已经断货|一直缺货|好几天没货了]。
[连续|跑了]{d}[次|趟]都没买到{p}，[什么时候补货|每次都说明天到]？
[广告|海报|APP]上的[特价|促销]{p}[到店就没了|根本没货|一早就卖光了]。
货架上[空空的|全是空位]，[问店员说仓库也没有|找不到]{p}。
[APP|小程序]显示{p}有货，到店[却没有|发现货架是空的]。
[常买的|经常买的]{p}[下架了|不卖了]，[能不能重新进货|希望恢复]。
{p}[只剩|就剩][几个|一点点][压坏的|快过期的]，[好的早就没了|补货太慢]。
想买的{p}[缺货|没货]，[能不能帮我调货|别的店有吗]？
[周末|节假日]{p}[总是|每次都][卖断货|缺货]。
# delivery
[外卖|配送|送货上门]的订单[迟到了|晚了][{n}分钟|一个多小时]。
[骑手|配送员|快递员][送错地址了|没打电话就走了|把东西放门口就不管了]。
[到家|收到货]发现[少了|漏送了]{p}，[订单上明明有|钱已经付了]。
[配送|送来]的{p}[压坏了|袋子破了|洒了一地]。
[冷链|冷冻]的东西送到时[已经化了|都不冰了]。
预约[今天下午|晚上六点|上午十点]送达，[结果|但是][一直没送到|第二天才送到]。
[线上|APP]下单后[订单一直显示配送中|显示已送达但我没收到]。
送来的{p}[被替换成别的|换成了别的牌子]，没有[提前|打电话]跟我确认。
[配送费|运费]收了，[东西却|货]迟迟不到。
# points_or_coupon
[这次|上次]消费的积分[没有到账|一直没加上|少了]。
[优惠券|满减券|代金券][用不了|结账时用不上|显示已失效]。
[会员卡|会员码][扫不出来|绑定不了|积分清零了]。
[积分|我的积分][莫名其妙|突然][少了|被扣了]{pts}分。
[兑换|换]的[礼品|券]一直[没收到|不到账]。
[生日券|新人券|会员券][没发|领不到|找不到]。
[积分兑换|积分抵现][系统出错|失败了|扣了积分没给东西]。
[优惠券|券]明明在有效期内，[收银员|系统]说[不能用|不适用这个商品]。
[积分规则|会员等级]改了也不通知，[我的等级降了|积分作废了]。
买了{amt}元[只给了|只积了]{pts}分，[应该是双倍积分日|算得不对]。
# other
[能不能|希望][延长营业时间|早点开门|晚点关门]？
[停车|停车费][太贵|不能抵扣|抵扣规则不清楚]。
[发票|电子发票][开不了|一直没收到|开错了]。
[寄存柜|储物柜][打不开了|东西丢了]。
在[店里|收银台附近][丢了|落下了][钱包|雨伞|手机]，[有没有人捡到|能不能帮忙查监控]？
[建议|希望][增加|多放][休息的座椅|母婴室|免费购物袋]。
[购物袋|塑料袋]收费[太贵|不合理]。
店里的[WiFi|网络]连不上。
请问[怎么|能不能][注销账号|修改手机号|删除个人信息]？
你们的[公众号|APP]老是[推送广告|发短信骚扰]。
"""

_EN = """
# opening
Hi.|Hello.|I want to make a complaint.|Not happy at all.|Good afternoon.|Sorry, but I must complain.
As a regular customer I have to say this.|Just a quick note.|I need to report a problem.
# context
I was at {store} {when}.|I went shopping at {store} {when}.|I popped into {store} {when}.
# detail
I still have the receipt.|I took photos.|This is not the first time.|I shop with you every week.
It was very busy at the time.|My neighbour had the same problem.|I can send the receipt.
# vague
Terrible experience.|Very unhappy with my visit.|This has to be fixed.|Not good enough.
You have really gone downhill.|Something needs to change.|What is going on at your store?
# closing
Please sort this out.|I expect a reply.|Very disappointed.|I'd like a refund.|Please look into it.
Not the first time either.|Thanks.|I may shop elsewhere from now on.|Really not acceptable.
# when
this morning|yesterday evening|last Saturday|earlier today|on Sunday|two days ago
# store
your Riverside store|the High Street branch|the new store|your town centre shop
# fresh
milk|yoghurt|pork belly|chicken breast|salmon fillet|sea bass|strawberry punnet|bag of apples
bunch of bananas|bag of grapes|tray of tomatoes|cucumber|tofu|tray of eggs|loaf of bread
birthday cake|bag of dumplings|steak|bag of prawns
# packaged
rice|cooking oil|washing liquid|pack of tissues|pot noodle|bag of crisps|packet of biscuits
cola|bottle of water|formula milk|soy sauce|coffee|chocolate bar|shampoo|toothpaste|bag of nuts
tin of tomatoes|cat food
# freshness
The {p} I bought {when} was [mouldy|rotten|off|sour] when I opened it.
The {p} on the shelf was [past its use-by date|expired|out of date] by {d} days.
The [lettuce|spinach|salad|herbs] [was wilted|was slimy|had gone yellow], [not fresh at all|old].
The {p} [smelled bad|smelled odd|tasted sour], [my kid got sick|we threw it away].
The [strawberries|grapes|peaches|blueberries] had [mould|rotten ones] [at the bottom|underneath].
The [milk|yoghurt] [went sour|curdled] [two days|a day] before the [best-before|expiry] date.
Paid {amt} for the {p} and it was [going off|rotten inside], [not worth the price|what a waste].
The fish [was not fresh|smelled very fishy|had cloudy eyes], [not today's delivery|days old].
The frozen {p} had [thawed and refrozen|ice crystals all over|stuck together in a block].
[Short-dated|Nearly expired] {p} [was mixed in with|was hidden behind] fresh stock.
The meat [looked grey|was discoloured|was sticky] and [smelled off|didn't smell right].
# product_quality
The {p} [packaging was torn|bag was split|tin was dented|lid was not sealed].
Found [a hair|a piece of plastic|a small stone|an insect] in my {p}.
The [storage box|umbrella|frying pan] [broke after one use|is badly made|fell apart in a week].
The {p} [is underweight|had less than the label says|was half empty].
The [kitchen roll|bin bags|cling film|washing liquid] [tears too easily|leaks|is poor quality].
I think the {p} is [counterfeit|a fake|not the real brand], [it tastes different|the label is odd].
Your own-brand {p} [has a chemical smell|is really poor quality|tastes of nothing].
The [kettle|extension lead|toaster] [stopped working|sparked|smoked] [on first use|after two days].
The [crisps|biscuits|crackers] were [all crushed|soft and damp] inside the pack.
There were [black specks|something foreign] in the {p}, I want it [tested|investigated].
# price_error
The shelf said {amt} but I was charged {amt2} at the till.
The [label|price tag|sign] on the {p} showed {amt}, the receipt says {amt2}.
The [buy one get one free|half-price second item|multi-buy] offer [was not applied|didn't work].
The {p} was [scanned twice|charged twice|double charged], I paid {amt} too much.
The [weighed|loose] {p} was [overweighed|overcharged], it was [100g|half a pound] less at home.
The [sale|discount] sign was up but [I paid full price|the cashier said the deal had ended].
The [member price|members' price] [didn't apply|wasn't given], I paid the full {amt2}.
My receipt had an item I [never bought|didn't buy], {amt} [overcharged|extra].
The [prices are labelled wrong|price tags are confusing], [it misleads people|which one applies]?
The [price|barcode] on the shelf [doesn't match|is for a different product than] the {p}.
# staff_attitude
The [cashier|shelf stacker|security guard|desk clerk] was [very rude|dismissive|impolite] to me.
I asked [staff|an assistant] where the {p} was and [got ignored|she rolled her eyes|he shrugged].
[Security|A guard] [searched my bag|accused me of stealing] in front of [everyone|other customers].
The [woman|man|manager] at the service desk [shouted at me|argued with me|was very aggressive].
Staff were [chatting|on their phones] [by the shelves|at the tills] and [ignored us|wouldn't help].
When I [returned|tried to swap] the {p} the [staff|assistant] [was rude|blamed me|didn't listen].
An [employee|assistant] [swore at me|used bad language], [unprofessional|totally unacceptable].
I asked [politely|nicely] and [the employee|she|he] [was sarcastic|snapped at me|pulled a face].
The [deli counter|weighing counter] staff [threw|slammed] my {p} [at me|on the counter].
The [manager|supervisor] [didn't apologise|took the employee's side|just brushed me off].
# checkout_wait
[Queued|Waited|Stood in line] [{n} minutes|almost half an hour] to pay.
Only {lanes} [tills|checkouts] open [on a Saturday|at rush hour], the queue was [huge|endless].
The [self-checkouts|self-service tills] [kept breaking|were out of order], [huge queues|no help].
[At peak times|At weekends|After work] there are [not enough|too few] [tills|cashiers] open.
The cashier was [so slow|painfully slow], [chatting|stopping] [between items|with colleagues].
The [express lane|basket-only lane] [was full of big trolleys|had a long queue too|is pointless].
[Mobile payment|Card payment|The QR code] [kept failing|didn't work], we [waited|stood] {n} minutes.
After [{n} minutes|ages] in the queue [the till closed|the cashier went on break].
The queue was so long my [ice cream|frozen food] [melted|went soft].
The [checkout line|queue] was [ridiculously|way too] long, [old people|parents] can't wait so long.
# store_environment
The [floor|aisle|entrance] was [wet|slippery|filthy] and [I nearly fell|an old man slipped].
The [toilets|restrooms] were [dirty|smelly|out of paper|not cleaned all day].
The store was [freezing|far too hot|stuffy], the [air con|heating] [isn't working|is broken].
The [trolleys|baskets] were [sticky|broken|dirty], [no decent one left|the wheels jammed].
The [fish counter|seafood area|fresh section] [stinks|smelled terrible|had flies everywhere].
The aisles were blocked by [boxes|pallets|cartons], [no way through|a wheelchair can't pass].
The [music|announcements] [is far too loud|blares all the time], [gave me a headache|so noisy].
[Several lights|The lights] were out, the [shelves|labels] were [too dark|hard to see].
Saw [a mouse|a rat|cockroaches] [near the shelves|by the bakery].
The [car park|parking area] was [chaotic|unlit|full of rubbish].
# out_of_stock
The {p} [has been out of stock|is sold out|is missing from the shelf] [for days|again|all week].
Came [{d} times|three times this week] and the {p} was [never there|still missing].
When will the {p} be [back|restocked]? [Staff keep saying tomorrow|It's always gone].
The {p} in the [leaflet|app|advert] offer was [already gone|never in stock|sold out by 9am].
[Empty shelves|Gaps on the shelves] everywhere, [the stockroom is empty too|and no {p}].
The app [said|showed] the {p} was in stock but [the shelf was empty|there was none in store].
You [stopped selling|no longer carry] the {p} I buy every week, please [bring it back|restock it].
The only {p} left [was damaged|was short-dated], [restocking is too slow|the good ones were gone].
Could you [order|transfer] the {p} from another store? [It's always out|It's been gone for weeks].
At [weekends|holidays] the {p} [always runs out|is never available].
# delivery
My [home delivery|online order|delivery] arrived [{n} minutes|over an hour] late.
The [driver|courier|rider] [went to the wrong address|left without calling|left the bags outside].
The delivery was [missing|short of] the {p} even though [I paid for it|it was on the order].
The {p} [arrived crushed|was squashed in the bag|leaked all over the other shopping].
The [frozen|chilled] items [arrived warm|had thawed|were not cold at all] when delivered.
I booked a [delivery slot|time slot] for [Saturday|6 pm] but [nobody came|it came the next day].
The [app|order] [says delivered|still says out for delivery] but [nothing arrived|I got nothing].
The {p} was [substituted|swapped] for [another brand|something else] without [asking|a call].
I paid the [delivery fee|delivery charge] and [it still hasn't come|it was two hours late].
# points_or_coupon
My points for [this|last week's] [shop|purchase] [never showed up|were not added|are missing].
The [coupon|voucher|money-off coupon] [wouldn't scan|didn't work at the till|says expired].
My [membership card|member code] [won't scan|can't be linked|shows zero points].
[{pts} points|My points] [disappeared|were deducted] [without explanation|for no reason].
The [reward|gift] I [redeemed|exchanged points for] [never arrived|hasn't come through].
I [never got|can't find] my [birthday coupon|welcome voucher|member coupon].
[Redeeming points|Paying with points] [failed|took my points but gave nothing].
The [voucher|coupon] is [still valid|in date] but [the cashier|the till] said [no|it can't be used].
[The points rules|My tier] changed [without notice|silently], [I was downgraded|my points expired].
Spent {amt} and [only got|received only] {pts} points, [it was double points day|that's wrong].
# other
Could you [open earlier|stay open later|extend opening hours]?
[Parking|The car park fee] is [too expensive|not refunded with a receipt|confusing].
[I can't get|I still haven't received] [an invoice|a VAT receipt|my e-invoice].
[The lockers|A locker] [wouldn't open|ate my token], [my things are stuck|nobody helped].
I [lost|left] my [wallet|umbrella|phone] [in the store|near the tills], [was it handed in|any CCTV]?
[Please add|It would be nice to have] [more seating|a baby changing room|free bags].
[Charging for bags|The bag charge] is [silly|too much].
[I can't connect to|There is no] [Wi-Fi|signal] in the store.
How do I [change|delete] my [phone number|personal details|account]?
Your [app|account] keeps [sending me adverts|spamming me with messages].
"""

_NUMERALS: Final = {"zh-CN": ("两", "三", "好几"), "en": ("two", "three", "four")}
_LANES: Final = {"zh-CN": ("一", "两", "三"), "en": ("one", "two", "three")}
_CHOICE: Final = re.compile(r"\[([^\[\]]*)\]")


def _sections(text: str) -> dict[str, tuple[str, ...]]:
    """Sections by their ``# name``; ``|`` separates phrases, but inside a sentence with
    ``[...]`` it separates the wordings a bracket chooses from."""
    sections: dict[str, list[str]] = {}
    name = ""
    for line in text.strip().splitlines():
        if line.startswith("# "):
            name = line[2:]
        else:
            sections.setdefault(name, []).extend([line] if "[" in line else line.split("|"))
    return {name: tuple(lines) for name, lines in sections.items()}


_PHRASES: Final = {"zh-CN": _sections(_ZH), "en": _sections(_EN)}


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _language(language: str) -> str:
    if language in ("zh", "zh-CN"):
        return "zh-CN"
    if language == "en" or language.startswith("en-"):
        return "en"
    raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")


def _slots(
    language: str, category: CaseCategory, rng: np.random.Generator, product: str | None
) -> dict[str, str]:
    phrases = _PHRASES[language]
    if product is None:
        pool = {CaseCategory.FRESHNESS: "fresh", CaseCategory.PRODUCT_QUALITY: "packaged"}
        kind = pool.get(category)
        product = _pick(phrases[kind] if kind else phrases["fresh"] + phrases["packaged"], rng)
    price = round(float(rng.uniform(3, 80)), 1)
    charged = price + float(rng.choice([0.5, 1, 2, 5, 10, price]))
    money = "{:.1f}" if language == "zh-CN" else "¥{:.2f}"
    return {
        "p": product,
        "when": _pick(phrases["when"], rng),
        "store": _pick(phrases["store"], rng),
        "n": str(int(rng.integers(12, 61))),
        "d": _pick(_NUMERALS[language], rng),
        "lanes": _pick(_LANES[language], rng),
        "pts": str(int(rng.integers(1, 40)) * 50),
        "amt": money.format(price),
        "amt2": money.format(charged),
    }


def complaint_text(
    category: CaseCategory | str,
    language: str,
    rng: np.random.Generator,
    product: str | None = None,
) -> str:
    """A customer's complaint about ``category`` in ``language`` ("zh-CN" or "en").

    ``product`` names the product the complaint is about where the wording mentions one
    (the demo passes the product on the case's receipt); without it one is drawn from a
    list that suits the category, fresh food for freshness, packaged goods for quality.
    """
    category, language = CaseCategory(category), _language(language)
    phrases = _PHRASES[language]
    sentences = phrases[category.value]
    parts: list[str] = []
    if rng.random() < 0.7:
        parts.append(_pick(phrases["opening"], rng))
    if rng.random() < 0.3 and category != CaseCategory.DELIVERY:
        parts.append(_pick(phrases["context"], rng))
    if rng.random() < 0.05:  # says only that something went wrong: nobody can tell what
        parts.append(_pick(phrases["vague"], rng))
    else:  # sometimes two grievances of the same kind, never the same sentence twice
        start, count = len(parts), 2 if rng.random() < 0.35 else 1
        parts.extend(sentences[i] for i in rng.choice(len(sentences), count, replace=False))
        if rng.random() < 0.15:  # a problem of another kind too: the case is filed under one
            others = [c for c in CATEGORY_SHARES if c not in (category, CaseCategory.OTHER)]
            at = start if rng.random() < 0.5 else len(parts)
            parts.insert(at, _pick(phrases[_pick(others, rng)], rng))
    if rng.random() < 0.35:
        parts.append(_pick(phrases["detail"], rng))
    if rng.random() < 0.65:
        parts.append(_pick(phrases["closing"], rng))
    slots = _slots(language, category, rng, product)
    said = [
        _CHOICE.sub(lambda m: _pick(m.group(1).split("|"), rng), part).format_map(slots)
        for part in parts
    ]
    if language == "zh-CN":
        return "".join(said)
    return " ".join(s[:1].upper() + s[1:] for s in said)


def labelled_complaints(
    n: int, rng: np.random.Generator, chinese_share: float = 0.7
) -> list[tuple[str, CaseCategory]]:
    """``n`` complaints with their true category, in the mix a supermarket's desk sees.

    ``chinese_share`` of them are in Chinese, the rest in English.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, not {n}")
    if not 0.0 <= chinese_share <= 1.0:
        raise ValueError(f"chinese_share must be between 0 and 1, not {chinese_share}")
    categories = list(CATEGORY_SHARES)
    drawn = rng.choice(len(categories), size=n, p=list(CATEGORY_SHARES.values()))
    chinese = rng.random(n) < chinese_share
    return [
        (complaint_text(categories[i], "zh-CN" if zh else "en", rng), categories[i])
        for i, zh in zip(drawn, chinese, strict=True)
    ]
