"""Normalisation and its offset map (privlog.text)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from privlog.text import normalise, replace_surrogates

# Characters that exercise every branch: ASCII, CJK, full-width, combining marks, format
# characters, non-ASCII decimal digits, compatibility expansions (ligatures, circled digits).
_ALPHABET = st.sampled_from(
    list("ab1 @.-")
    + list("张伟号")
    + list("１２＠Ｘ")
    + ["e\u0301", "\u0301", "\u0308"]
    + ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"]
    + list("٣٤۵३")
    + ["ﬁ", "①", "㎏", "Ⅻ", "\ud800"]
)
_TEXTS = st.lists(_ALPHABET, max_size=40).map("".join) | st.text(max_size=40)


class TestNormalise:
    def test_ascii_is_identity(self) -> None:
        """Plain ASCII passes through untouched, with no edits to map."""
        norm = normalise("call 555-0147 now")
        assert norm.text == "call 555-0147 now"
        assert norm.is_identity

    def test_folds_every_evasion_form(self) -> None:
        """Full-width digits, zero-width characters, soft hyphens, Arabic-Indic digits and
        the full-width at sign all reach detectors as plain ASCII."""
        cases = {
            "１３８００１３８０００": "13800138000",
            "138\u200b0013\u200c8000\u200d": "13800138000",
            "138\u00ad0013\u20608000\ufeff": "13800138000",
            "١٣٨٠٠١٣٨٠٠٠": "13800138000",
            "۱۳۸۰۰۱۳۸۰۰۰": "13800138000",
            "wei＠example.com": "wei@example.com",
            "１１０１０５１９４９１２３１００２Ｘ": "11010519491231002X",
        }
        for raw, expected in cases.items():
            assert expected == normalise(raw).text

    def test_maps_span_over_hidden_characters(self) -> None:
        """A span in the normalised text maps to the original span including the zero-width
        characters inside it, so scrubbing removes them too."""
        raw = "tel 138\u200b0013\u200b8000 ok"
        norm = normalise(raw)
        start = norm.text.index("138")
        src = norm.to_source(start, start + 11)
        assert raw[src[0] : src[1]] == "138\u200b0013\u200b8000"

    def test_surrogates_become_replacement_characters(self) -> None:
        """Lone surrogates (undecodable input) become U+FFFD one for one."""
        assert replace_surrogates("a\udc80b\ud800") == "a\ufffdb\ufffd"
        assert normalise("x\udcffy").text == "x\ufffdy"

    def test_combining_marks_stay_with_their_base(self) -> None:
        """e + combining acute composes to é, and maps back to both source characters."""
        norm = normalise("caf" + "e\u0301" + "!")
        assert norm.text == "café!"
        assert norm.to_source(3, 4) == (3, 5)
        assert norm.to_source(4, 5) == (5, 6)

    @settings(max_examples=400, deadline=None)
    @given(_TEXTS, st.data())
    def test_mapped_spans_cover_their_source(self, text: str, data: st.DataObject) -> None:
        """For any text and any span of its normalised form, the mapped span lies inside the
        original, and normalising it again reproduces the normalised span."""
        norm = normalise(text)
        n = len(norm.text)
        start = data.draw(st.integers(0, n))
        end = data.draw(st.integers(start, n))
        s, e = norm.to_source(start, end)
        assert 0 <= s <= e <= len(text)
        if start < end:
            assert norm.text[start:end] in normalise(text[s:e]).text
        for pos in range(start, end):
            cs, ce = norm.char_source(pos)
            assert s <= cs < ce <= e

    @settings(max_examples=200, deadline=None)
    @given(_TEXTS)
    def test_normalised_text_is_clean(self, text: str) -> None:
        """No format characters and no non-ASCII decimal digits survive normalisation."""
        out = normalise(text).text
        for ch in out:
            assert unicodedata.category(ch) != "Cf"
            if unicodedata.decimal(ch, None) is not None:
                assert ch.isascii()
