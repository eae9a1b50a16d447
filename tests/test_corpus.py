"""The development corpus ``eval/corpus.jsonl``: it is exactly what its generator writes, its
spans are well formed, every checksummed identifier is valid, the technical negatives hold no
personal data, and every evasion form mirrors its plain twin value for value.

The checksum and decoding rules are reimplemented here rather than imported from the
generator, so that a bug in one is not silently shared by the other.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import ipaddress
import json
import re
import sys
import unicodedata
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
CORPUS = EVAL_DIR / "corpus.jsonl"

Record = dict[str, Any]

CATEGORIES = {"en_template", "zh_template", "mixed", "evasion", "benign_tech"}
LABELS = {
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "LOCATION",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "ID",
    "URL",
    "SECRET",
}
FORMS = {
    "plain",
    "fullwidth_digits",
    "zero_width",
    "soft_hyphen",
    "spaced",
    "dotted",
    "dashed",
    "arabic_indic",
    "fullwidth_at",
    "base64",
    "urlencoded",
}


@pytest.fixture(name="generator", scope="module")
def _generator() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location(
        "generate_corpus", EVAL_DIR / "generate_corpus.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(name="committed", scope="module")
def _committed() -> str:
    return CORPUS.read_text(encoding="utf-8")


@pytest.fixture(name="records", scope="module")
def _records(committed: str) -> list[Record]:
    return [json.loads(line) for line in committed.splitlines()]


def _plain_records(records: list[Record]) -> Iterator[Record]:
    return (r for r in records if r["form"] == "plain")


def _span_texts(record: Record) -> Iterator[tuple[str, str]]:
    for span in record["spans"]:
        yield record["text"][span["start"] : span["end"]], span["label"]


# ----------------------------------------------------------------------------- reproducibility


def test_committed_corpus_is_exactly_what_the_generator_writes(
    generator: ModuleType, committed: str
) -> None:
    generated = generator.render_corpus()
    if generated != committed:
        new, old = generated.splitlines(), committed.splitlines()
        line = next(
            (i for i, (a, b) in enumerate(zip(new, old, strict=False)) if a != b),
            min(len(new), len(old)),
        )
        pytest.fail(
            f"eval/corpus.jsonl differs from its generator from line {line + 1} "
            f"({len(old)} committed lines, {len(new)} generated): "
            "run `python eval/generate_corpus.py` and commit the result"
        )


def test_check_mode_reports_drift(
    generator: ModuleType,
    committed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "corpus.jsonl"
    monkeypatch.setattr(generator, "CORPUS_PATH", target)
    monkeypatch.setattr(generator, "render_corpus", lambda: committed)
    assert generator.main(["--check"]) == 1  # missing file
    target.write_text(committed[:-1] + " \n", encoding="utf-8")
    assert generator.main(["--check"]) == 1  # one byte off
    assert generator.main([]) == 0  # rewrite
    assert target.read_text(encoding="utf-8") == committed
    assert generator.main(["--check"]) == 0
    capsys.readouterr()


# ----------------------------------------------------------------------------- records and spans


def test_records_have_the_documented_schema(records: list[Record]) -> None:
    ids = Counter(r["id"] for r in records)
    assert not [rid for rid, n in ids.items() if n > 1]
    for r in records:
        assert list(r) == ["id", "text", "spans", "lang", "category", "form"], r["id"]
        assert r["lang"] in {"en", "zh"}, r["id"]
        assert r["category"] in CATEGORIES, r["id"]
        assert r["form"] in FORMS, r["id"]
        assert r["category"] == "evasion" or r["form"] == "plain", r["id"]
        assert isinstance(r["text"], str), r["id"]
        assert r["text"], r["id"]
        assert re.fullmatch(r"[a-z0-9_-]+-\d{4}", r["id"]), r["id"]


def test_spans_are_in_bounds_trimmed_ordered_and_disjoint(records: list[Record]) -> None:
    for r in records:
        text, previous_end = r["text"], 0
        for span in r["spans"]:
            assert set(span) == {"start", "end", "label"}, r["id"]
            start, end = span["start"], span["end"]
            assert isinstance(start, int), r["id"]
            assert isinstance(end, int), r["id"]
            assert previous_end <= start < end <= len(text), (r["id"], span)
            assert span["label"] in LABELS, (r["id"], span)
            value = text[start:end]
            assert value == value.strip(), (r["id"], value)
            previous_end = end


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _shape_ok(value: str, label: str) -> bool:  # noqa: PLR0911 one branch per label
    if label == "EMAIL_ADDRESS":
        local, _, domain = value.partition("@")
        return bool(local) and "." in domain and " " not in value
    if label == "PHONE_NUMBER":
        return 7 <= len(_digits(value)) <= 15 and re.fullmatch(r"[\d +()\-.]+", value) is not None
    if label == "IP_ADDRESS":
        ipaddress.ip_address(value)
        return True
    if label == "URL":
        return value.startswith("https://") and " " not in value
    if label == "SECRET":
        return len(value) >= 20
    if label == "PERSON":
        return not any(c.isdigit() for c in value)
    return len(value) >= 2  # cards, IBANs and ids are checked digit by digit below


def test_plain_span_texts_have_the_shape_of_their_label(records: list[Record]) -> None:
    for r in _plain_records(records):
        for value, label in _span_texts(r):
            assert _shape_ok(value, label), (r["id"], label, value)


# ----------------------------------------------------------------------------- checksums

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
_PROVINCES |= {50, 51, 52, 53, 54, 61, 62, 63, 64, 65}
_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def resident_id_ok(value: str) -> bool:
    """GB 11643: province code, a real birth date in 1950-2005, MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dX]", value) or int(value[:2]) not in _PROVINCES:
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not dt.date(1950, 1, 1) <= born <= dt.date(2005, 12, 31):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return value[17] == "10X98765432"[total % 11]


def uscc_ok(value: str) -> bool:
    """GB 32100: 18 characters from the 31-character set, mod-31 check character."""
    if len(value) != 18 or any(c not in _USCC for c in value):
        return False
    total = sum(_USCC.index(c) * pow(3, i, 31) for i, c in enumerate(value[:17]))
    return _USCC.index(value[17]) == (31 - total % 31) % 31


def ssn_ok(value: str) -> bool:
    area, group, serial = int(value[:3]), int(value[3:5]), int(value[5:])
    return 0 < area < 900 and area != 666 and group > 0 and serial > 0


def _ssn_candidate(record: Record, start: int, value: str) -> str | None:
    """A US SSN: written 3-2-4 with dashes or spaces, or nine digits right after 'SSN'."""
    if re.fullmatch(r"\d{3}([- ])\d{2}\1\d{4}", value):
        return _digits(value)
    before = record["text"][max(0, start - 16) : start].lower()
    if re.fullmatch(r"\d{9}", value) and ("ssn" in before or "security number" in before):
        return value
    return None


def test_every_plain_card_iban_and_checksummed_id_is_valid(records: list[Record]) -> None:
    checked: Counter[str] = Counter()
    for r in _plain_records(records):
        for span in r["spans"]:
            value, label = r["text"][span["start"] : span["end"]], span["label"]
            compact = re.sub(r"[ \-]", "", value)
            if label == "CREDIT_CARD":
                assert compact.isdigit(), (r["id"], value)
                assert 13 <= len(compact) <= 19, (r["id"], value)
                assert luhn_ok(compact), (r["id"], value)
                checked["card"] += 1
                checked["unionpay"] += compact.startswith("62")
            elif label == "IBAN_CODE":
                assert iban_ok(compact), (r["id"], value)
                checked["iban"] += 1
            elif label == "ID" and len(compact) == 18 and compact[0] == "9":
                assert uscc_ok(compact), (r["id"], value)
                checked["uscc"] += 1
            elif label == "ID" and re.fullmatch(r"\d{17}[\dX]", compact):
                assert resident_id_ok(compact), (r["id"], value)
                checked["resident_id"] += 1
            elif label == "ID" and (ssn := _ssn_candidate(r, span["start"], value)):
                assert ssn_ok(ssn), (r["id"], value)
                checked["ssn"] += 1
    # The checks above must have had something to check.
    minimum = {"card": 100, "unionpay": 50, "iban": 50, "uscc": 25, "resident_id": 80, "ssn": 30}
    for kind, least in minimum.items():
        assert checked[kind] >= least, (kind, checked)


def test_the_checks_reject_bad_values() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("GB83WEST12345698765432")
    assert resident_id_ok("110105199003071239")
    assert not resident_id_ok("110105199003071230")
    assert not resident_id_ok("440305200502290017")  # 29 February 2005
    assert not resident_id_ok("11010519491231002X")  # valid, but born before 1950
    assert uscc_ok("91350100M000100Y43")
    assert not uscc_ok("91350100M000100Y44")
    assert not ssn_ok("666123456")


# ----------------------------------------------------------------------------- negatives


def test_benign_tech_records_have_no_spans_and_no_personal_data_shapes(
    records: list[Record],
) -> None:
    benign = [r for r in records if r["category"] == "benign_tech"]
    assert len(benign) >= 300
    assert {r["lang"] for r in benign} == {"en", "zh"}
    for r in benign:
        assert r["spans"] == [], r["id"]
        assert "@" not in r["text"], r["id"]
        assert not re.search(r"\d+\.\d+\.\d+\.\d+", r["text"]), r["id"]


def test_about_fifteen_percent_of_template_prompts_carry_no_personal_data(
    records: list[Record],
) -> None:
    for category in ("en_template", "zh_template"):
        group = [r for r in records if r["category"] == category]
        empty = sum(not r["spans"] for r in group)
        assert 0.12 <= empty / len(group) <= 0.18, (category, empty, len(group))


def test_categories_languages_and_labels_are_all_represented(records: list[Record]) -> None:
    by_category = Counter(r["category"] for r in records)
    assert set(by_category) == CATEGORIES
    assert 2300 <= len(records) <= 2700
    assert {r["lang"] for r in records if r["category"] == "mixed"} == {"en", "zh"}
    labels = Counter(s["label"] for r in records for s in r["spans"])
    assert set(labels) == LABELS
    assert min(labels.values()) >= 30, labels


# ----------------------------------------------------------------------------- evasion forms


def _fold(text: str) -> str:
    """NFKC, format characters (zero-width, soft hyphen) dropped, every decimal digit ASCII."""
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if unicodedata.category(ch) == "Cf":
            continue
        out.append(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch)
    return "".join(out)


def _underlying(value: str, form: str, label: str) -> str:
    """The identifier a span of ``form`` stands for, in a canonical spelling."""
    if form == "base64":
        value = base64.b64decode(value, validate=True).decode("utf-8").split(": ", 1)[-1]
    elif form == "urlencoded":
        value = urllib.parse.unquote(value, errors="strict")
    value = _fold(value)
    if label != "EMAIL_ADDRESS":
        return re.sub(r"[^0-9A-Za-z+]", "", value).upper()
    if form == "spaced":
        value = value.replace(" ", "")
    elif form == "dotted":
        value = value.replace(" [at] ", "@").replace(" [dot] ", ".")
    elif form == "dashed":
        value = value.replace("-at-", "@").replace("-dot-", ".")
    return value.lower()


def test_every_evasion_form_mirrors_plain_value_for_value(records: list[Record]) -> None:
    by_form: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r["category"] == "evasion":
            by_form[r["form"]].append(r)
    assert set(by_form) == FORMS
    plain = sorted(by_form["plain"], key=lambda r: r["id"])
    assert len(plain) >= 50
    assert {r["lang"] for r in plain} == {"en", "zh"}
    for form, group in by_form.items():
        group.sort(key=lambda r: r["id"])
        assert len(group) == len(plain), form
        for base, twin in zip(plain, group, strict=True):
            assert base["id"].rsplit("-", 1)[1] == twin["id"].rsplit("-", 1)[1]
            assert len(base["spans"]) == len(twin["spans"]) == 1, twin["id"]
            (b,), (t,) = base["spans"], twin["spans"]
            assert b["label"] == t["label"], twin["id"]
            assert base["lang"] == twin["lang"], twin["id"]
            b_text, t_text = base["text"], twin["text"]
            # Same template: only the value differs.
            assert b_text[: b["start"]] == t_text[: t["start"]], twin["id"]
            assert b_text[b["end"] :] == t_text[t["end"] :], twin["id"]
            shown, original = t_text[t["start"] : t["end"]], b_text[b["start"] : b["end"]]
            assert form == "plain" or shown != original, twin["id"]
            assert _underlying(shown, form, t["label"]) == _underlying(
                original, "plain", b["label"]
            ), (twin["id"], shown, original)


def test_evasion_forms_use_the_characters_they_are_named_after(records: list[Record]) -> None:
    expected = {
        "fullwidth_digits": re.compile(r"[０-９]"),
        "zero_width": re.compile("[\u200b\u200c\u2060]"),
        "soft_hyphen": re.compile("\u00ad"),
        "arabic_indic": re.compile(r"[٠-٩]"),
        "fullwidth_at": re.compile(r"[＠０-９Ａ-Ｚａ-ｚ]"),
        "urlencoded": re.compile(r"%[0-9A-F]{2}"),
        "base64": re.compile(r"^[A-Za-z0-9+/]+={0,2}$"),
    }
    for r in records:
        pattern = expected.get(r["form"]) if r["category"] == "evasion" else None
        if pattern is not None:
            (span,) = r["spans"]
            assert pattern.search(r["text"][span["start"] : span["end"]]), r["id"]


def test_readme_counts_match_the_corpus(generator: ModuleType, records: list[Record]) -> None:
    readme = (EVAL_DIR / "README.md").read_text(encoding="utf-8")
    assert generator.label_table(records) in readme, "paste the table printed by the generator"
