"""Detection quality: Chinese identifiers and their test vectors, evasion (encoded and
spread-out forms), addresses and names the model misses, and what must never be flagged."""

from __future__ import annotations

import base64
import random
import urllib.parse
from pathlib import Path

import pytest

from privlog.config import Policy
from privlog.detect import DetectionSettings
from privlog.detect.engine import PresidioDetector, get_detector
from privlog.detect.findings import Finding
from privlog.errors import ConfigError
from privlog.transform import resolve_overlaps
from tests.canaries import card, cn_mobile, cn_resident_id, email, unionpay, uscc


def _found(detector: PresidioDetector, text: str) -> list[tuple[str, str]]:
    return [(text[f.start : f.end], f.entity_type) for f in resolve_overlaps(detector.detect(text))]


def _covers(findings: list[Finding], start: int, end: int) -> bool:
    """Every character of text[start:end] lies inside some finding."""
    return all(any(f.start <= i < f.end for f in findings) for i in range(start, end))


def _id_with_birth(rng: random.Random, date: str) -> str:
    from tests.canaries import _ID_CHECK, _ID_WEIGHTS

    body = f"110105{date}{rng.randrange(1000):03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


class TestChineseIdentifiers:
    def test_resident_id_vectors(
        self, rules_detector: PresidioDetector, rng: random.Random
    ) -> None:
        """Valid: found at full confidence. Wrong check character: still found, lower.
        Impossible birth date (31 February) or unknown province: not a resident id."""
        valid = cn_resident_id(rng)
        found = rules_detector.detect(f"号码{valid}。")
        assert [(f.entity_type, f.score) for f in found] == [("CN_RESIDENT_ID", 1.0)]
        impossible = _id_with_birth(rng, "19900231")
        assert not [
            f
            for f in rules_detector.detect(f"编号 {impossible}")
            if f.entity_type == "CN_RESIDENT_ID"
        ]
        unknown_province = "99" + valid[2:]
        assert not [
            f
            for f in rules_detector.detect(f"编号 {unknown_province}")
            if f.entity_type == "CN_RESIDENT_ID"
        ]

    def test_legacy_fifteen_digits_need_context(self, rules_detector: PresidioDetector) -> None:
        legacy = "110105491231002"  # 1949-12-31, the pre-1999 form without a check digit
        assert ("CN_RESIDENT_ID") in {
            f.entity_type for f in rules_detector.detect(f"身份证：{legacy}")
        }
        assert not rules_detector.detect(f"流水号 {legacy} 已处理")

    def test_uscc_vectors(self, rules_detector: PresidioDetector, rng: random.Random) -> None:
        code = uscc(rng)
        assert _found(rules_detector, f"统一社会信用代码{code}") == [(code, "CN_USCC")]
        wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
        assert not [
            f for f in rules_detector.detect(f"代码 {wrong} 号") if f.entity_type == "CN_USCC"
        ]

    @pytest.mark.parametrize("form", ["{m}", "+86 {m}", "0086{m}", "{a} {b} {c}", "{a}-{b}-{c}"])
    def test_mobile_forms(
        self, rules_detector: PresidioDetector, rng: random.Random, form: str
    ) -> None:
        mobile = cn_mobile(rng)
        value = form.format(m=mobile, a=mobile[:3], b=mobile[3:7], c=mobile[7:])
        text = f"请打手机{value}联系我"
        found = rules_detector.detect(text)
        start = text.index(value)
        assert _covers(found, start, start + len(value))

    def test_mobile_inside_a_hex_token_is_not_a_phone(
        self, rules_detector: PresidioDetector
    ) -> None:
        assert not rules_detector.detect("request_id=8e48875c-0855-4c86-a48b-13432771814a")

    def test_landline_bank_card_plate_qq_wechat(
        self, rules_detector: PresidioDetector, rng: random.Random
    ) -> None:
        bank = unionpay(rng)
        text = (
            f"电话：010-6552 9988，卡号{bank}，车牌京A·12345，新能源车牌沪AD12345，"
            "QQ：14705257，微信：zhangwei_1990"
        )
        found = dict(_found(rules_detector, text))
        assert found.get("010-6552 9988") == "PHONE_NUMBER"
        assert found.get(bank) == "CREDIT_CARD"
        assert found.get("京A·12345") == "CN_LICENSE_PLATE"
        assert found.get("沪AD12345") == "CN_LICENSE_PLATE"
        assert found.get("14705257") == "CN_QQ"
        assert found.get("zhangwei_1990") == "CN_WECHAT"

    def test_qq_and_wechat_need_their_words(self, rules_detector: PresidioDetector) -> None:
        assert not rules_detector.detect("库存 14705257 件，代号 zhangwei_1990")

    def test_luhn_failure_is_no_card(
        self, rules_detector: PresidioDetector, rng: random.Random
    ) -> None:
        good = card(rng)
        bad = good[:-1] + str((int(good[-1]) + 1) % 10)
        assert _found(rules_detector, f"card {good}") == [(good, "CREDIT_CARD")]
        assert not [
            f for f in rules_detector.detect(f"ref {bad} end") if f.entity_type == "CREDIT_CARD"
        ]


def _evasions(value: str) -> dict[str, str]:
    digits_to = lambda base: "".join(chr(base + int(c)) if c.isdigit() else c for c in value)  # noqa: E731
    return {
        "fullwidth": digits_to(0xFF10),
        "arabic_indic": digits_to(0x0660),
        "zero_width": "\u200b".join(value),
        "soft_hyphen": "\u00ad".join(value),
        "spaced": " ".join(value),
        "base64": base64.b64encode(value.encode()).decode(),
        "urlencoded": "".join(f"%{b:02X}" for b in value.encode()),
    }


class TestEvasion:
    @pytest.mark.parametrize(
        "form",
        [
            "fullwidth",
            "arabic_indic",
            "zero_width",
            "soft_hyphen",
            "spaced",
            "base64",
            "urlencoded",
        ],
    )
    @pytest.mark.parametrize("kind", ["resident_id", "mobile", "card", "email"])
    def test_every_form_is_caught_whole(
        self, rules_detector: PresidioDetector, rng: random.Random, form: str, kind: str
    ) -> None:
        value = {"resident_id": cn_resident_id, "mobile": cn_mobile, "card": card, "email": email}[
            kind
        ](rng)
        hidden = _evasions(value)[form]
        text = f"please keep this: {hidden} thanks"
        start = text.index(hidden)
        assert _covers(rules_detector.detect(text), start, start + len(hidden)), (form, kind)

    def test_query_string_values_are_decoded_in_place(
        self, rules_detector: PresidioDetector
    ) -> None:
        query = "?" + urllib.parse.urlencode({"email": "jane.doe@example.com", "plan": "pro"})
        text = f"the form posts {query} and fails"
        spans = [text[f.start : f.end] for f in rules_detector.detect(text)]
        assert spans == ["jane.doe%40example.com"]  # only the value, not the whole query

    def test_base64_keeps_the_words_before_it(self, rules_detector: PresidioDetector) -> None:
        token = base64.b64encode(b"458619557").decode()
        assert _found(rules_detector, f"SSN: {token}") == [(token, "ID_NUMBER")]

    @pytest.mark.parametrize(
        "spelled",
        [
            "jane.doe [at] example [dot] com",
            "jane.doe-at-example-dot-co-dot-uk",
            "jane at example dot org",
        ],
    )
    def test_spelled_out_email(self, rules_detector: PresidioDetector, spelled: str) -> None:
        assert _found(rules_detector, f"write to {spelled} today") == [(spelled, "EMAIL_ADDRESS")]

    def test_dotted_iban(self, rules_detector: PresidioDetector) -> None:
        text = "IBAN DE89.3704.0044.0532.0130.00 please"
        found = rules_detector.detect(text)
        assert _covers(found, 5, 5 + len("DE89.3704.0044.0532.0130.00"))

    def test_an_ip_address_stays_an_ip_address(self, rules_detector: PresidioDetector) -> None:
        """A dotted IPv4 address is not joined up and re-read as digits (it used to come
        back as a phone number as well), while dotted groups that are not one still are."""
        from privlog.detect.decode import candidates

        text = "server 203.0.113.245 and code 1.3.8.0.0.1.3.8.0.0.0"
        assert [text[c.start : c.end] for c in candidates(text)] == ["1.3.8.0.0.1.3.8.0.0.0"]
        assert _found(rules_detector, "server 203.0.113.245 rejects me") == [
            ("203.0.113.245", "IP_ADDRESS")
        ]


class TestContextAndShapes:
    @pytest.mark.parametrize(
        ("text", "value", "entity"),
        [
            ("His ID card number is 670157196604156218.", "670157196604156218", "ID_NUMBER"),
            ("member no. A-2231-7799 renewed", "A-2231-7799", "ID_NUMBER"),
            ("National Insurance number AB 12 34 56 C", "AB 12 34 56 C", "ID_NUMBER"),
            ("What is the limit for card 501864667909?", "501864667909", "CREDIT_CARD"),
            ("My zip code is 71382", "71382", "LOCATION"),
            ("I am in TYSTBERGA for a business trip", "TYSTBERGA", "LOCATION"),
            ("RT @jinjjarevil : i cant stop laughing", "@jinjjarevil", "SOCIAL_HANDLE"),
            (
                "profile at https://weibo.com/u/4700910395 is mine",
                "https://weibo.com/u/4700910395",
                "URL",
            ),
        ],
    )
    def test_identifiers_announced_by_context(
        self, rules_detector: PresidioDetector, text: str, value: str, entity: str
    ) -> None:
        assert (value, entity) in _found(rules_detector, text)

    def test_order_numbers_are_not_identifiers(self, rules_detector: PresidioDetector) -> None:
        assert not rules_detector.detect("order number ORD-2024-000123 and ticket INC0012345")

    @pytest.mark.parametrize(
        "address",
        [
            "41086 Kiannonkatu 98\n Suite 464\n OULU\n\n Finland 80896",
            "692 Kuuse 53 Apt. 641, Grubbenvorst, Netherlands 04020",
            "1707 6th Street Northwest",
            "PSC 8139, Box 3699\nAPO AE 99874",
            "Rua Graciliano Ramos 1950",
        ],
    )
    def test_address_blocks_are_whole(self, rules_detector: PresidioDetector, address: str) -> None:
        text = f"Send it to {address}. Thanks"
        assert _found(rules_detector, text) == [(address, "LOCATION")]

    def test_chinese_road_address_without_city(self, rules_detector: PresidioDetector) -> None:
        assert ("宝安大道116号", "LOCATION") in _found(
            rules_detector, "地址：宝安大道116号，订座电话"
        )


class TestNames:
    def test_a_name_found_once_is_found_everywhere(self, detector: PresidioDetector) -> None:
        text = "Leslie Terry is a 40-year-old engineer. Leslie has asthma."
        spans = [v for v, t in _found(detector, text) if t == "PERSON"]
        assert spans == ["Leslie Terry", "Leslie"]

    def test_titles_and_suffixes_belong_to_the_name(self, detector: PresidioDetector) -> None:
        spans = [v for v, _ in _found(detector, "Please correct it to Dr. Ryan Ricci today.")]
        assert "Dr. Ryan Ricci" in spans

    def test_lists_of_names(self, rules_detector: PresidioDetector) -> None:
        text = "They had 6: Romi, Erik, Amy, Nathaniel, Donald and Kristina."
        spans = {v for v, t in _found(rules_detector, text) if t == "PERSON"}
        assert spans == {"Romi", "Erik", "Amy", "Nathaniel", "Donald", "Kristina"}

    def test_jumbled_case_names(self, rules_detector: PresidioDetector) -> None:
        assert ("KrIStInA MorA", "PERSON") in _found(
            rules_detector, "dosage for KrIStInA MorA, aged 53"
        )


_BENIGN = [
    "request_id=05b088f2-4660-4151-bef4-bd6f3f2aa81d duration_ms=272",
    "git show 8aed3200c012a306b3ed95b4866575881fe8d0b6 --stat",
    "Convert epoch 1714314583 to ISO 8601 in UTC",
    "After upgrading requests from 7.4.5-rc.2 to v4.22.17, pytest fails",
    "2023-12-24 19:51:42,826 INFO  [main] app.worker - GC pause 38ms heap=1914MB",
    '  File "/app/workers/sync.py", line 703, in handleSubmit',
    "at com.example.billing.PaymentGateway.buildQueryString(FeatureFlagClient.java:157)",
    "Could it be related to ORD-2024-764822, which was reprocessed?",
    "HTTP/1.1 502\nContent-Type: application/json\nCache-Control: max-age=28",
    "curl -i http://localhost:8080/healthz returns HTTP/1.1 200",
    "Rename getUserName to fetch_user_email_field in the TypeScript interface",
    "这段 CSS 在 Safari 上显示不正常，日志如下：",
]


@pytest.mark.parametrize("text", _BENIGN)
def test_technical_text_is_left_alone(detector: PresidioDetector, text: str) -> None:
    assert _found(detector, text) == []


def test_overlaps_take_the_most_specific_type() -> None:
    person = Finding("PERSON", 0, 30, 0.95, "model", "ner")
    mail = Finding("EMAIL_ADDRESS", 5, 25, 0.9, "rules", "email")
    merged = resolve_overlaps([person, mail])
    assert [(f.entity_type, f.start, f.end) for f in merged] == [("EMAIL_ADDRESS", 0, 30)]
    org = Finding("ORGANIZATION", 0, 10, 0.99, "model", "ner")
    place = Finding("LOCATION", 5, 12, 0.6, "rules", "address")
    assert resolve_overlaps([org, place])[0].entity_type == "LOCATION"


class TestAllowList:
    def test_allowed_terms_and_patterns_are_never_scrubbed(self) -> None:
        settings = DetectionSettings(
            model=None, allow=("support@acme.example",), allow_patterns=(r"ORD-\d{4}-\d+",)
        )
        detector = get_detector(settings)
        text = (
            "Mail SUPPORT@acme.example or jane@acme.example about ORD-2024-123456, "
            "card number 4111111111111111"
        )
        found = {v for v, _ in _found(detector, text)}
        assert found == {"jane@acme.example", "4111111111111111"}

    def test_policy_file(self, tmp_path: Path) -> None:
        path = tmp_path / "policy.toml"
        path.write_text(
            '[detection]\nallow = ["Acme Corp"]\nallow_patterns = ["INC\\\\d+"]\n', "utf-8"
        )
        detection = Policy.from_toml(path).detection
        assert (detection.allow, detection.allow_patterns) == (("Acme Corp",), ("INC\\d+",))
        path.write_text('[detection]\nallow_patterns = ["(unclosed"]\n', "utf-8")
        with pytest.raises(ConfigError, match="not a valid regular expression"):
            Policy.from_toml(path)
