"""Canary generation and hunting (see ../shared/canaries.md).

Every privacy test plants fresh synthetic identifiers of the shapes below and then looks for
them, in every form an attacker could recover them from, wherever privlog writes. Values are
generated (with valid checksums where the format has one) so that detection is never tuned
to a fixed list.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import unicodedata
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = (11, 12, 13, 31, 32, 33, 44, 50, 51, 61, 65)
_SYLLABLES = ("ka", "lo", "mi", "ran", "te", "vo", "zu", "bel", "dor", "fin", "gar", "hul")


@dataclass(frozen=True)
class Canary:
    kind: str
    value: str


def cn_resident_id(rng: random.Random) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    area = f"{rng.choice(_PROVINCES)}{rng.randrange(100, 10000):04d}"
    body = f"{area}{born:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def cn_resident_id_bad_check(rng: random.Random) -> str:
    good = cn_resident_id(rng)
    wrong = next(c for c in "0123456789X" if c != good[-1])
    return good[:-1] + wrong


def cn_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def luhn_complete(prefix_and_body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix_and_body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix_and_body + str((10 - total % 10) % 10)


def card(rng: random.Random, prefix: str = "4", length: int = 16) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def unionpay(rng: random.Random) -> str:
    return card(rng, prefix="622202", length=19)


def email(rng: random.Random) -> str:
    return f"{pronounceable(rng).lower()}.canary{rng.randrange(10**6)}@example.com"


def pronounceable(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


def ipv4(rng: random.Random) -> str:
    return f"203.0.113.{rng.randrange(1, 255)}"


def fixed_format_canaries(rng: random.Random) -> list[Canary]:
    """One fresh canary of every fixed-format kind privlog must catch (core issue)."""
    return [
        Canary("cn_resident_id", cn_resident_id(rng)),
        Canary("cn_mobile", cn_mobile(rng)),
        Canary("bank_card", unionpay(rng)),
        Canary("payment_card", card(rng)),
        Canary("email", email(rng)),
        Canary("us_phone", f"+1 212-555-01{rng.randrange(100):02d}"),
        Canary("uk_phone", f"07700 900{rng.randrange(1000):03d}"),
        Canary("iban", "GB82 WEST 1234 5698 7654 32"),
        Canary("ipv4", ipv4(rng)),
    ]


def _normal(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


def forms(value: str) -> Iterator[str]:
    """Every form of ``value`` a leak could take (canaries.md: hunt in several forms)."""
    nfkc = _normal(value)
    digits = "".join(ch for ch in nfkc if ch.isdigit())
    alnum = sum(ch.isalnum() for ch in nfkc)
    # The digits-only form means something for numeric identifiers (a phone without its
    # dashes); the digits of an e-mail's suffix would only match random hex in hashes.
    numeric = len(digits) >= 7 and len(digits) >= 0.6 * alnum
    yield value
    yield nfkc
    yield nfkc.lower()
    if numeric:
        yield digits
    raw = nfkc.encode()
    yield base64.b64encode(raw).decode()
    yield raw.hex()
    yield urllib.parse.quote(nfkc)
    yield urllib.parse.quote_plus(nfkc)
    for algo in ("sha256", "md5", "sha1"):
        yield hashlib.new(algo, raw).hexdigest()
        if numeric and digits != nfkc:
            yield hashlib.new(algo, digits.encode()).hexdigest()


def find_leaks(haystack: str | bytes, values: Iterable[str]) -> list[str]:
    """Return the canary values found in ``haystack`` in any of their :func:`forms`.

    A form is found when it occurs anywhere in the text, case ignored (one search of the
    lower-cased text per lower-cased form: that keeps every match of the form as written).
    Many values are hunted in one pass (:func:`_hunt`), so that a sweep's tens of thousands
    of canaries over megabytes of sinks cost one scan of the bytes, not one per form.
    """
    text = haystack.decode("utf-8", errors="replace") if isinstance(haystack, bytes) else haystack
    lowered = text.lower()
    values = list(values)
    owners: dict[str, set[int]] = {}
    for i, value in enumerate(values):
        for form in forms(value):
            if form:
                owners.setdefault(form.lower(), set()).add(i)
    found: set[int] = set()
    for pattern in _hunt(lowered, owners):
        found |= owners[pattern]
    return [value for i, value in enumerate(values) if i in found]


def where_found(haystack: str | bytes, value: str, around: int = 60) -> list[str]:
    """For a failing test's message: each form of ``value`` found in ``haystack``, with the
    text around it (canaries are synthetic, so showing them harms no one)."""
    text = haystack.decode("utf-8", errors="replace") if isinstance(haystack, bytes) else haystack
    lowered = text.lower()
    found = []
    for form in forms(value):
        at = lowered.find(form.lower()) if form else -1
        if at >= 0:
            found.append(f"{value} as {form!r}: ...{text[max(0, at - around) : at + around]!r}...")
    return found


# Patterns are found through their first _ANCHOR characters: every window of the text is
# hashed at once (numpy), windows whose hash is some pattern's anchor are the only places
# checked, and each check is an exact comparison, so a hash collision costs time, never a
# wrong answer. Shorter patterns are searched for one by one.
_ANCHOR = 8
_CHUNK = 1 << 22  # characters hashed at a time (memory: about 12 bytes each)
_BASE = np.uint64(0x100000001B3)


def _hunt(lowered: str, patterns: Iterable[str]) -> set[str]:
    """The patterns that occur in ``lowered`` (both already lower-cased)."""
    hits = set()
    long = []
    for pattern in patterns:
        if len(pattern) >= _ANCHOR:
            long.append(pattern)
        elif pattern in lowered:
            hits.add(pattern)
    if not long or len(lowered) < _ANCHOR:
        return hits
    by_anchor: dict[int, list[str]] = {}
    for pattern, anchor in zip(long, _anchor_hashes(long).tolist(), strict=True):
        by_anchor.setdefault(anchor, []).append(pattern)
    anchors = np.fromiter(by_anchor, dtype=np.uint64, count=len(by_anchor))
    for start in range(0, len(lowered) - _ANCHOR + 1, _CHUNK):
        window = lowered[start : start + _CHUNK + _ANCHOR - 1]
        hashes = _window_hashes(_code_points(window))
        for offset in np.flatnonzero(np.isin(hashes, anchors)).tolist():
            at = start + offset
            for pattern in by_anchor[int(hashes[offset])]:
                if lowered.startswith(pattern, at):
                    hits.add(pattern)
    return hits


def _code_points(text: str) -> npt.NDArray[np.uint64]:
    # surrogatepass: a str may hold lone surrogates (they are characters like any other here).
    raw = text.encode("utf-32-le", errors="surrogatepass")
    return np.frombuffer(raw, dtype=np.uint32).astype(np.uint64)


def _window_hashes(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The hash of every _ANCHOR-character window (a polynomial, wrapping at 2**64)."""
    count = len(codes) - _ANCHOR + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for j in range(_ANCHOR):
        hashes = hashes * _BASE + codes[j : j + count]
    return hashes


def _anchor_hashes(patterns: list[str]) -> npt.NDArray[np.uint64]:
    """The hash of each pattern's first _ANCHOR characters, as :func:`_window_hashes` gives
    it for a window of the text."""
    codes = _code_points("".join(p[:_ANCHOR] for p in patterns)).reshape(-1, _ANCHOR)
    hashes = np.zeros(len(patterns), dtype=np.uint64)
    for j in range(_ANCHOR):
        hashes = hashes * _BASE + codes[:, j]
    return hashes


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
_ZH_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏"
_ZH_PLACES = (
    ("北京市", "朝阳区", "建国路"),
    ("上海市", "浦东新区", "世纪大道"),
    ("广东省广州市", "天河区", "体育西路"),
    ("浙江省杭州市", "西湖区", "文三路"),
    ("四川省成都市", "武侯区", "人民南路"),
)
_STREETS = ("Baker", "Maple", "Oak", "Church", "Victoria", "Elm", "Highland", "Mill")
_CITIES = ("London", "Leeds", "Boston", "Denver", "Dublin", "Bristol")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def uscc(rng: random.Random) -> str:
    body = rng.choice("9") + rng.choice("123") + f"{rng.randrange(110000, 660000):06d}"
    body += "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def contextual_canaries(rng: random.Random) -> list[tuple[Canary, str]]:
    """Canaries that need their context to be identifiable, each with a sentence that gives
    it (a name after "my name is", a passport number after 护照号, ...)."""
    first = pronounceable(rng)
    last = pronounceable(rng) + rng.choice(["son", "ova", "elli", "ström"])
    zh_name = rng.choice(_ZH_SURNAMES) + "".join(rng.sample(_ZH_GIVEN, rng.choice([1, 2])))
    province, district, road = rng.choice(_ZH_PLACES)
    zh_address = f"{province}{district}{road}{rng.randrange(1, 300)}号"
    en_address = f"{rng.randrange(1, 999)} {rng.choice(_STREETS)} Street, {rng.choice(_CITIES)}"
    openai = "sk-" + "".join(rng.choice(_ALNUM) for _ in range(32))
    aws = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    passport = rng.choice("EG") + f"{rng.randrange(10**8):08d}"
    return [
        (Canary("person_en", f"{first} {last}"), "Hello, my name is {} and I need help."),
        (Canary("person_zh", zh_name), "你好，我叫{}，想咨询一下。"),
        (Canary("address_en", en_address), "Please ship it to {} by Monday."),
        (Canary("address_zh", zh_address), "我住在{}，快递一直没到。"),
        (Canary("secret_openai", openai), "my key is {} why does it fail"),
        (Canary("secret_aws", aws), "aws access key id {}"),
        (Canary("cn_uscc", uscc(rng)), "公司统一社会信用代码{}。"),
        (Canary("cn_passport", passport), "我的护照号{}，请核对"),
    ]
