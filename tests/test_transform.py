"""Operators, overlap resolution and replacement reasons (privlog.transform)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privlog.detect.engine import PresidioDetector
from privlog.detect.findings import Finding
from privlog.errors import ConfigError
from privlog.keys import KeyRing
from privlog.pipeline import Pipeline
from privlog.transform import ID_LIKE, PLACEHOLDER_RE, Transformer, resolve_overlaps
from tests.canaries import cn_mobile, cn_resident_id, email, find_leaks

_PSEUDONYM = re.compile(r"<([A-Z_]+):(k[0-9]+):([a-z2-7]{26})>")


def _f(entity: str, start: int, end: int, score: float = 0.9) -> Finding:
    return Finding(entity, start, end, score, "test", f"test.{entity}")


class TestOverlaps:
    def test_partial_overlap_becomes_one_span(self) -> None:
        """Two partly overlapping findings merge into one span covering both; the more
        confident finding names the type."""
        merged = resolve_overlaps([_f("URL", 4, 12, 0.5), _f("EMAIL_ADDRESS", 0, 20, 0.9)])
        assert [(m.entity_type, m.start, m.end) for m in merged] == [("EMAIL_ADDRESS", 0, 20)]
        merged = resolve_overlaps([_f("PERSON", 0, 10, 0.85), _f("PHONE_NUMBER", 8, 18, 0.95)])
        assert [(m.entity_type, m.start, m.end) for m in merged] == [("PHONE_NUMBER", 0, 18)]

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.tuples(st.integers(0, 60), st.integers(1, 15), st.floats(0.1, 1.0)), max_size=12
        )
    )
    def test_every_detected_character_is_replaced(
        self, spans: list[tuple[int, int, float]]
    ) -> None:
        """For any set of findings, however they overlap, no detected character survives in
        the scrubbed text (each character of the input is unique, so survival is visible)."""
        text = "".join(chr(0x4E00 + i) for i in range(80))
        findings = [_f("PERSON", s, min(80, s + n), score) for s, n, score in spans]
        scrubbed = Transformer().scope().scrub(text, findings)
        kept = set(scrubbed.text)
        for f in findings:
            assert not kept & set(text[f.start : f.end])
        covered = {i for f in findings for i in range(f.start, f.end)}
        assert all(text[i] in kept for i in range(80) if i not in covered)


class TestOperators:
    def test_placeholders_are_typed_numbered_and_stable(self) -> None:
        """Equal values share a placeholder within one scope; different values get the next
        number; a new scope starts again at 1."""
        text = "a 13800138000 b +86 138-0013-8000 c 13900139000"
        finds = [_f("PHONE_NUMBER", 2, 13), _f("PHONE_NUMBER", 16, 33), _f("PHONE_NUMBER", 36, 47)]
        transformer = Transformer()
        out = transformer.scope().scrub(text, finds).text
        assert out == "a <PHONE_NUMBER_1> b <PHONE_NUMBER_1> c <PHONE_NUMBER_2>"
        assert transformer.scope().scrub("x 13900139000", [_f("PHONE_NUMBER", 2, 13)]).text == (
            "x <PHONE_NUMBER_1>"
        )

    def test_scope_keeps_originals_for_restoring_only_in_memory(self) -> None:
        """The scope maps placeholders back to values (for replies) and its repr hides them."""
        scope = Transformer().scope()
        scope.scrub("mail wei@example.com", [_f("EMAIL_ADDRESS", 5, 20)])
        assert scope.originals == {"<EMAIL_ADDRESS_1>": "wei@example.com"}
        assert "wei" not in repr(scope)

    def test_pseudonym_is_keyed_typed_and_versioned(self, tmp_path: object) -> None:
        """Pseudonyms carry the key id and 130 bits of HMAC; the same value under another
        type or another key gives an unrelated token; normalised forms agree."""
        ring = KeyRing.load(f"{tmp_path}/k.keys")
        t = Transformer({"PHONE_NUMBER": "pseudonym", "PERSON": "pseudonym"}, keyring=ring)
        a, kid = t.pseudonym("PHONE_NUMBER", "13800138000")
        b, _ = t.pseudonym("PHONE_NUMBER", "+86 138-0013-8000")
        c, _ = t.pseudonym("PERSON", "13800138000")
        m = _PSEUDONYM.fullmatch(a)
        assert m
        assert m.group(2) == kid == "k1"
        assert len(m.group(3)) * 5 >= 96
        assert a == b
        assert _PSEUDONYM.fullmatch(c).group(3) != m.group(3)  # type: ignore[union-attr]
        ring.rotate()
        d, kid2 = t.pseudonym("PHONE_NUMBER", "13800138000")
        assert kid2 == "k2"
        assert d != a
        assert t.pseudonym("PHONE_NUMBER", "13800138000", kid="k1")[0] == a

    def test_pseudonym_is_not_an_unkeyed_hash(self, tmp_path: object, rng: random.Random) -> None:
        """A pseudonym shows none of the hunted forms of its value (plain, hex, base64,
        unkeyed SHA-256/MD5/SHA-1)."""
        ring = KeyRing.load(f"{tmp_path}/k.keys")
        t = Transformer(default="pseudonym", keyring=ring)
        values = [cn_mobile(rng), cn_resident_id(rng), email(rng)]
        tokens = " ".join(t.pseudonym("X", v)[0] for v in values)
        assert find_leaks(tokens, values) == []

    def test_mask_is_refused_for_id_like_types(self) -> None:
        """Masking an ID-like type is a configuration error with the reason; a mask default
        never applies to those types."""
        for entity in sorted(ID_LIKE):
            with pytest.raises(ConfigError, match="partly masked"):
                Transformer({entity: "mask"})
        t = Transformer(default="mask")
        assert t.operator_for("CN_RESIDENT_ID") == "placeholder"
        assert t.operator_for("PHONE_NUMBER") == "mask"
        out = t.scope().scrub("tel 13800138000", [_f("PHONE_NUMBER", 4, 15)]).text
        assert out == "tel *******8000"

    def test_unknown_operator_is_a_config_error(self) -> None:
        """A misspelt operator names the valid choices."""
        with pytest.raises(ConfigError, match="placeholder, pseudonym, redact, mask"):
            Transformer({"PERSON": "hash"})

    def test_redact(self) -> None:
        """redact replaces with an untyped marker."""
        out = Transformer(default="redact").scope().scrub("hi John", [_f("PERSON", 3, 7)])
        assert out.text == "hi <REDACTED>"
        assert PLACEHOLDER_RE.fullmatch("<REDACTED>")


class TestReasons:
    def test_replacements_keep_their_reason_not_their_value(
        self, detector: PresidioDetector, rng: random.Random
    ) -> None:
        """Each replacement records type, detector, score, rule and operator, and no field of
        it holds the replaced value."""
        mobile, rid = cn_mobile(rng), cn_resident_id(rng)
        result = Pipeline(detector, Transformer()).scrub(f"手机{mobile}，身份证{rid}")
        assert [r.entity_type for r in result.replacements] == ["PHONE_NUMBER", "CN_RESIDENT_ID"]
        for r in result.replacements:
            assert r.detector
            assert r.rule_id
            assert r.operator == "placeholder"
            assert r.score > 0.5
            assert find_leaks(repr(r), [mobile, rid]) == []
        assert find_leaks(result.text, [mobile, rid]) == []
        assert PLACEHOLDER_RE.findall(result.text) == ["<PHONE_NUMBER_1>", "<CN_RESIDENT_ID_1>"]
