"""A generated prompt corpus for benchmarks: English, Chinese and mixed-script, seeded.

Nothing here comes from the evaluation data; values are synthetic and of the shapes in
../shared/canaries.md (valid checksums where the format has one).
"""

from __future__ import annotations

import random

_FIRST = ["John", "Maria", "Wei", "Aisha", "Oliver", "Priya", "Lucas", "Sofia", "Kenji", "Fatima"]
_LAST = ["Smith", "Garcia", "Zhang", "Khan", "Brown", "Patel", "Silva", "Rossi", "Tanaka", "Ali"]
_CITIES = ["London", "Boston", "Madrid", "Toronto", "Sydney", "Berlin", "Chicago", "Dublin"]
_ZH_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄磊"]
_ZH_PLACES = ["北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号", "广州市天河区体育西路20号"]
_EN = [
    "Hi, I'm {name}. Please email me at {email} or call {phone} about the invoice I received.",
    "Can you draft a polite reply to {name} from {city}? Their card {card} was charged twice.",
    "Summarise the attached meeting notes and list the action items for the team by Friday.",
    "My server at {ip} keeps timing out when I connect from {city}; what should I check first?",
    "Write a short poem about autumn leaves and the smell of rain on a quiet street.",
    "{name} asked whether we can move the delivery to next week; draft a friendly answer.",
]
_ZH = [
    "我叫{zname}，手机号{mobile}，身份证号{rid}，请帮我查询一下订单状态。",
    "请把退款打到我的银行卡{bank}，联系邮箱{email}，谢谢。",
    "帮我写一段关于春天的短文，要求语言优美，适合小学生阅读。",
    "我住在{zplace}，快递一直没到，能帮我写一封投诉信吗？",
    "请总结下面这段会议记录的要点，并列出下周需要完成的任务。",
]
_MIXED = [
    "我的同事{name}的邮箱是{email}，请用英文帮我写一封感谢信。",
    "Please translate into English: 我的手机号是{mobile}，下午三点以后方便联系。",
    "客户{zname}在{city}办事处，电话{phone}，请安排 follow-up meeting.",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _rid(rng: random.Random) -> str:
    body = f"{rng.choice([11, 31, 44, 51])}{rng.randrange(1000, 9999)}{rng.randrange(1950, 2005)}"
    body += f"{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _fill(template: str, rng: random.Random) -> str:
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    return template.format(
        name=name,
        email=f"{name.split(maxsplit=1)[0].lower()}.{rng.randrange(10**5)}@example.com",
        phone=f"+1 212-555-01{rng.randrange(100):02d}",
        city=rng.choice(_CITIES),
        card=_luhn("4" + "".join(str(rng.randrange(10)) for _ in range(14))),
        ip=f"203.0.113.{rng.randrange(1, 255)}",
        zname=rng.choice(_ZH_NAMES),
        mobile=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        rid=_rid(rng),
        bank=_luhn("622202" + "".join(str(rng.randrange(10)) for _ in range(12))),
        zplace=rng.choice(_ZH_PLACES),
    )


def prompts(count: int, seed: int = 7, target_chars: int = 200) -> list[str]:
    """``count`` prompts of about ``target_chars`` characters: 50% English, 30% Chinese,
    20% mixed-script."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        pool = _EN if roll < 0.5 else _ZH if roll < 0.8 else _MIXED
        text = ""
        while len(text) < target_chars:
            text += (" " if text else "") + _fill(rng.choice(pool), rng)
        out.append(text)
    return out
