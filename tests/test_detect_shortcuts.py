"""The detector's shortcuts find exactly what the long way finds.

Each shortcut in :mod:`privlog.detect` (fewer places to try a costly pattern, parses shared
between phone regions, no model pass where no model finding could survive) is compared
with the plain computation over generated text built to hit its edge cases.
"""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest

from privlog.detect import address, generic, names
from privlog.detect.engine import PresidioDetector
from tests.canaries import cn_mobile, email

_STREET_PIECES = (
    "Auerstrasse 84",
    "Pernilles vei 115",
    "12 Main St",
    "1707 6th Street Northwest",
    "Rua Graciliano Ramos 1950",
    "ul. Północna 73",
    "corner of Koepoortwal 115 and Hansen Street.",
    "P.O. Box 149",
    "80 p.o. box 15",
    "PSC 4095, Box 8316",
    "USNS Frías",
    "(32) Pernilles vei 115",
    "machelsesteenweg 197",
    "22 Bramstrup 21",
    "74 Μεγάλη Άμμος 184",
    "-Foo Bar gade 3",
    "x.Ringweg 5",
    "O'Neil-Smith Straße 7",
    "a\tb\tc\td\tvej 9",
    "\n  vei 1",
    "weg  12",
    "Bahnhofstr. 5",
    "Very Long Old Town allee 12",
    "上海市浦东新区世纪大道100号",
)
_FILLER = (" ", "\n", ", ", "abc ", "Word ", "9 ", "x", "  ", "\\n", "I live at ")


def test_street_lines_are_tried_wherever_they_can_start(rng: random.Random) -> None:
    """Trying the street pattern only at its possible starts gives finditer's matches."""
    for _ in range(3000):
        parts = _STREET_PIECES + _FILLER
        text = "".join(rng.choice(parts) for _ in range(rng.randrange(1, 9)))
        expected = [m.span() for m in address._STREET.finditer(text)]
        assert [m.span() for m in address._streets(text)] == expected, text


_NAME_PIECES = (
    "Anna",
    ", ",
    ",",
    " and ",
    " or ",
    " & ",
    "-Bo",
    "O'Neil",
    "x1ab",
    "Mary Ann",
    "\t",
    "é",
    "zhang",
    "3",
    "’s",
    "Sandra Cazares",
    "aBc",
    "\n",
    "Dr. ",
    "Émile Zola",
)


def test_name_patterns_tried_from_word_starts_match_the_same(rng: random.Random) -> None:
    """The list and first-name/surname patterns, with their word-start checks moved, find
    what the plain forms find."""
    plain_list = re.compile(names._LIST.pattern.removeprefix(r"(?<![^\W\d_])"))
    plain_pair = re.compile(
        r"(?<![\w])(?P<first>[A-Z][a-z]+)"
        + names._PAIR.pattern.removeprefix(r"(?P<first>[A-Z](?<![\w][A-Z])[a-z]+)")
    )
    assert plain_list.pattern != names._LIST.pattern
    assert plain_pair.pattern != names._PAIR.pattern
    for _ in range(5000):
        text = "".join(rng.choice(_NAME_PIECES) for _ in range(rng.randrange(1, 12)))
        for fast, plain in ((names._LIST, plain_list), (names._PAIR, plain_pair)):
            assert [m.span() for m in fast.finditer(text)] == [
                m.span() for m in plain.finditer(text)
            ], text


def _phones_region_by_region(text: str, regions: tuple[str, ...]) -> dict[tuple[int, int], float]:
    """The phone recogniser's findings computed without shared parses."""
    best: dict[tuple[int, int], float] = {}
    for region in regions:
        for start, end in generic._phone_windows(text):
            piece = text[start:end]
            for match in phonenumbers.PhoneNumberMatcher(
                piece, region, leniency=phonenumbers.Leniency.POSSIBLE
            ):
                span = (start + match.start, start + match.end)
                score = generic._phone_score(text, span[0], span[1], match)
                if score is not None:
                    best[span] = max(score, best.get(span, 0.0))
    return best


# Bare digit runs are decided without a parse where no region's lengths fit: runs that start
# with dialling prefixes, country codes and national prefixes test that reasoning.
_PREFIXES = ("", "0", "00", "011", "86", "1", "44", "49", "33", "91", "0086", "117900", "12")


def _phone_like(rng: random.Random) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(rng.randrange(1, 21)))
    bare = rng.choice(_PREFIXES) + digits
    mobile = cn_mobile(rng)
    return rng.choice(
        (
            f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
            f"+1 212-555-01{rng.randrange(100):02d}",
            f"+44 7700 900{rng.randrange(1000):03d}",
            f"+49 30 {rng.randrange(10**7):07d}",
            f"0086{mobile}",
            mobile,
            digits,
            bare,
            bare,
            f"({digits[:3]}) {digits[3:]}",
            f"{digits[:4]}/{digits[4:]}",
            f"0{rng.randrange(10**9):09d}",
            "+" + digits,
        )
    )


def test_regions_sharing_international_parses_find_the_same_numbers(
    rng: random.Random,
) -> None:
    regions = ("CN", "US", "GB", "DE", "FR", "IN")
    recognizer = generic.LibPhoneNumberRecognizer(regions)
    for _ in range(1500):
        text = " ".join(
            rng.choice((_phone_like(rng), "call", "电话", "tel:", "and", "/", email(rng)))
            for _ in range(rng.randrange(1, 6))
        )
        found = {(r.start, r.end): r.score for r in recognizer.analyze(text, ["PHONE_NUMBER"])}
        assert found == _phones_region_by_region(text, regions), text


@pytest.mark.parametrize(
    "text",
    [
        "my name is maria garcia and i live in boston, call 212-555-0143",
        "我叫张伟，住在北京市朝阳区建国路88号，邮箱 zhang.wei@example.com",
        "ping 10.1.2.3 from host db01, then email ops@example.com",
        "客户王芳的手机号13800138000",
    ],
)
def test_text_without_capitals_finds_the_same_with_the_model_pass(
    detector: PresidioDetector, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """A window with no upper-case letter skips the model, and loses nothing by it."""
    assert not detector._needs_model(text)
    skipped = detector.detect(text)
    monkeypatch.setattr(detector, "_needs_model", lambda _text: True)
    assert detector.detect(text) == skipped
    assert skipped, "the text holds personal data, so something must be found"


def test_a_tie_is_named_by_the_specific_rule(
    detector: PresidioDetector, rng: random.Random
) -> None:
    """The Chinese mobile rule and libphonenumber find the same span with the same score;
    the specific rule names it, every time."""
    text = f"我的手机号{cn_mobile(rng)}请联系"
    phones = [f for f in detector.detect(text) if f.entity_type == "PHONE_NUMBER"]
    assert [f.rule_id for f in phones] == ["cn_mobile"]


def test_no_recogniser_adjusts_its_own_scores(detector: PresidioDetector) -> None:
    """The detector runs only the shared context enhancer, not each recogniser's own
    enhance_using_context (Presidio's default returns the results unchanged)."""
    from presidio_analyzer import EntityRecognizer

    assert detector._recognizers
    for recognizer in detector._recognizers:
        assert type(recognizer).enhance_using_context is EntityRecognizer.enhance_using_context, (
            recognizer.name
        )
