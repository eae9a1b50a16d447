"""Chinese personal names and places, from jieba part-of-speech tags (rjieba, offline).

The English NER model cannot see Chinese names. jieba's dictionary and HMM tag person names
(``nr``, ``nrfg``, ``nrt``) and place names (``ns``); on the dev set that alone catches about
four in five Chinese names. Places are then grown into addresses: a run of place names,
road/building words and house numbers (北京市 朝阳区 建国路 88 号) becomes one LOCATION, so a
street address is never replaced piecemeal with its house number left behind.
"""

from __future__ import annotations

import re
from typing import Any

from presidio_analyzer import LocalRecognizer, RecognizerResult

from privlog.detect.base import make_result

__all__ = ["ChineseNameRecognizer"]

Token = tuple[int, int, str, str]  # start, end, word, part-of-speech tag

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_PERSON_TAGS = frozenset({"nr", "nrfg", "nrt"})
# Words that continue an address after a place name: administrative units, roads, buildings.
_ADDRESS_PART = re.compile(
    r"[\u4e00-\u9fff]*(?:省|市|区|县|旗|州|镇|乡|村|街道|社区|路|街|道|大道|巷|弄|胡同|里|号|号楼|"
    r"栋|幢|座|单元|层|楼|室|小区|大厦|花园|广场|公寓|苑|园|庄|城|湾)"
)
_NUMBER = re.compile(r"[0-9０-９一二三四五六七八九十百千零〇]+|[\-－#]")
# A person named right after one of these is more surely a person.
_NAME_CONTEXT = ("叫", "名", "姓", "联系人", "先生", "女士", "同学", "老师", "经理", "医生", "患者")
# Words after which the next two or three characters are a name, whatever jieba makes of
# them (an unusual given name is often split, or glued to the cue).
# Role words ("收货人", "法定代表人", "业主") name the person right after them.
_CUE = re.compile(
    r"(?:我叫|名叫|叫做|姓名|本人|患者|签名|业主|客户|老板|同事|我爸|我妈|爸爸|妈妈|老公|老婆|"
    r"[\u4e00-\u9fff]{0,3}(?:人|者|员|长|师|代表))(?:是|为|叫)?[:：]?\s*"
)
# A road and a house number, without the city before it: 文化路 559 号, 宝安大道116号. It
# starts after a word that leads to a place (在, 到, 地址：) or punctuation, so that the
# sentence before it is not swallowed.
_ROAD_ADDRESS = re.compile(
    r"(?<=[在到于往去址：:，,。；;\s(（])(?:[\u4e00-\u9fff]{1,5}(?:区|县|市|镇))?[\u4e00-\u9fff]{1,8}(?:路|街|大道|大街|巷|弄|胡同|道)"
    r"\s*[0-9]{1,5}\s*号(?:院|楼)?(?:\s*[A-Za-z0-9]{1,3}\s*(?:座|栋|幢|单元))?"
    r"(?:\s*[0-9]{1,5}\s*(?:室|号房|房))?"
)
_NAME_STOP = frozenset("的了在是和与及住说想要我你他她们去来也都就已从把被给到对向于不请")
_DOUBLE_SURNAMES = frozenset(
    {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙",
     "宇文", "司徒", "夏侯", "端木", "独孤", "南宫", "轩辕", "呼延", "澹台", "申屠", "万俟"}
)  # fmt: skip
# The most common Chinese surnames (about 85% of the population).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰"
    "焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁"
    "蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全"
    "佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)


class ChineseNameRecognizer(LocalRecognizer):
    """PERSON and LOCATION in Chinese text via ``rjieba.tag``."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON", "LOCATION"],
            supported_language="en",
            name="privlog.zh_names",
        )
        self._source = ("privlog.zh_names", str(self.id))
        self._tagger: Any = None

    def load(self) -> None:
        import rjieba

        self._tagger = rjieba

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if not _CJK.search(text):
            return []
        if self._tagger is None:
            self.load()
        tokens = self._tokens(text)
        results: list[RecognizerResult] = []
        if not entities or "PERSON" in entities:
            results += self._cued_names(text)
            results += self._tagged_names(text, tokens)
        if not entities or "LOCATION" in entities:
            results += self._places(tokens)
            results += [
                self._result("LOCATION", m.start(), m.end(), 0.75, "zh.road_number")
                for m in _ROAD_ADDRESS.finditer(text)
            ]
        return results

    def _tokens(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        pos = 0
        for word, tag in self._tagger.tag(text):
            kind = "ns" if tag in _PERSON_TAGS and _ADDRESS_PART.fullmatch(word) else tag
            tokens.append((pos, pos + len(word), word, kind))  # 高新区 is a place, not a name
            pos += len(word)
        return tokens

    def _tagged_names(self, text: str, tokens: list[Token]) -> list[RecognizerResult]:
        found = []
        for i, (start, end, word, tag) in enumerate(tokens):
            if tag not in _PERSON_TAGS or not _CJK.search(word) or word in _NOT_NAMES:
                continue
            if tag == "nr" and word[:1] not in _SURNAMES and word[:2] not in _DOUBLE_SURNAMES:
                continue  # jieba tags some nouns nr (银行卡); Chinese names start with a surname
            rule, stop = f"zh.{tag}", end
            if len(word) == 1:
                # A surname alone: jieba's HMM often leaves the given name as the next token
                # (陈 / 英秀). Only a surname followed by something name-like is a name.
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if word not in _SURNAMES or nxt is None or not _given_part(nxt, 1, strict=True):
                    continue
                rule, stop = "zh.surname_given", nxt[1]
            before = text[max(0, start - 4) : start]
            score = 0.85 if any(c in before for c in _NAME_CONTEXT) else 0.7
            found.append(self._result("PERSON", start, stop, score, rule))
        return found

    def _places(self, tokens: list[Token]) -> list[RecognizerResult]:
        found = []
        i = 0
        while i < len(tokens):
            if tokens[i][3] != "ns" or not _CJK.search(tokens[i][2]) or tokens[i][2] in _NOT_PLACES:
                i += 1
                continue
            j = i + 1
            while j < len(tokens) and _continues_address(tokens, j):
                j += 1
            while j - 1 > i and _NUMBER.fullmatch(tokens[j - 1][2]):
                j -= 1  # a trailing number without a unit is not part of the address
            rule = "zh.address" if j - i > 1 else "zh.ns"
            found.append(self._result("LOCATION", tokens[i][0], tokens[j - 1][1], 0.7, rule))
            i = j
        return found

    def _cued_names(self, text: str) -> list[RecognizerResult]:
        """``我叫X`` / ``姓名：X``: after a cue, two or three characters that start with a
        surname are a name, however jieba split them (it glues 叫许 / 刚勇 together)."""
        found = []
        for cue in _CUE.finditer(text):
            start = cue.end()
            surname = 2 if text[start : start + 2] in _DOUBLE_SURNAMES else 1
            if surname == 1 and text[start : start + 1] not in _SURNAMES:
                continue
            end = start + surname
            while end < len(text) and end - start < surname + 2:
                ch = text[end]
                if not _CJK.fullmatch(ch) or ch in _NAME_STOP:
                    break
                end += 1
            if end - start >= surname + 1:
                found.append(self._result("PERSON", start, end, 0.85, "zh.name_after_cue"))
        return found

    def _result(
        self, entity: str, start: int, end: int, score: float, rule: str
    ) -> RecognizerResult:
        return make_result(
            self._source, entity_type=entity, start=start, end=end, score=score, rule_id=rule
        )


# After a cue word a name is two or three characters, whatever jieba thinks the third is
# (何刚 / 超): only punctuation and function words end it early.
_NOT_NAME_TAGS = frozenset({"x", "uj", "ul", "uz", "ud", "ug", "p", "c", "m", "q", "r", "y", "zg"})
_GIVEN_TAGS = frozenset({"nr", "nrfg", "nrt", "nz", "n", "ng", "a", "j", "nt"})
# Everyday words that start with a surname character and that jieba tags as names.
_NOT_NAMES = frozenset(
    {"谢谢", "多谢", "感谢", "高兴", "马上", "常常", "江湖", "明白", "高三", "高二", "高一",
     "高中", "方便", "安全", "平安", "包括", "任务", "文件", "金额", "常用", "白天", "周末",
     "万一", "于是", "和平", "雷同", "石头", "史上", "龙头", "毛病", "成本", "成功", "明天",
     "明年", "明确", "向上", "华为", "黄金", "程序", "项目", "应用", "支付", "商品", "许多"}
)  # fmt: skip
# Everyday words jieba tags as place names.
_NOT_PLACES = frozenset({"东西", "日志", "中间", "上下", "前后", "内外", "南北", "左右", "当地"})


def _given_part(token: Token, so_far: int, *, strict: bool = False) -> bool:
    """Whether ``token`` can continue a name that has ``so_far`` characters: one or two Han
    characters, not a place word; ``strict`` (no cue word before it) also wants a noun-ish
    tag, since any word can follow a surname-like character in running text."""
    _, _, word, tag = token
    if not 1 <= len(word) <= 2 or so_far + len(word) > 4:
        return False
    if not all(_CJK.fullmatch(c) for c in word) or _ADDRESS_PART.fullmatch(word):
        return False  # 高 + 新区 is a district, not Mr Gao
    return tag in _GIVEN_TAGS if strict else tag not in _NOT_NAME_TAGS


def _continues_address(tokens: list[Token], j: int) -> bool:
    """Whether token ``j`` extends the address run before it."""
    word, tag = tokens[j][2], tokens[j][3]
    if tag == "ns" or _ADDRESS_PART.fullmatch(word):
        return True
    nxt = tokens[j + 1] if j + 1 < len(tokens) else None
    if nxt is None:
        return False
    if _NUMBER.fullmatch(word):
        return True  # 88 before 号
    # a road's own name: 体育 before 西路
    return (
        bool(_CJK.fullmatch(word[:1])) and nxt[3] != "x" and bool(_ADDRESS_PART.fullmatch(nxt[2]))
    )
