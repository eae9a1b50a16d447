"""The ``privlog`` command: scan in all its modes, bad input, keys, demo."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from privlog import cli
from privlog._version import __version__
from tests.canaries import cn_mobile, cn_resident_id, email, find_leaks, fixed_format_canaries

# The console script installed next to the interpreter running the tests.
PRIVLOG = str(Path(sys.executable).with_name("privlog"))


def _run(
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: bytes = b"",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


class TestScan:
    def test_json_catches_every_fixed_format_canary_with_exact_offsets(
        self,
        rng: random.Random,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """scan --json on text holding every fixed-format canary kind (English and Chinese
        context) leaves none of them, in any hunted form, and each canary lies inside a
        reported span of the input as given."""
        canaries = fixed_format_canaries(rng)
        text = "Dear team, " + "; ".join(f"{c.kind}: {c.value}" for c in canaries[:5])
        text += "。我的其他信息：" + "，".join(c.value for c in canaries[5:]) + "。谢谢"
        code, out, _ = _run(["scan", "--json", text], monkeypatch, capsys)
        assert code == 0
        result = json.loads(out)
        assert find_leaks(result["text"], [c.value for c in canaries]) == []
        spans = [(f["start"], f["end"]) for f in result["findings"]]
        for c in canaries:
            at = text.index(c.value)
            assert any(s <= at and at + len(c.value) <= e for s, e in spans), c.kind
        for f in result["findings"]:
            assert set(f) == {"entity_type", "start", "end", "score"}

    def test_plain_scan_of_argument_and_stdin(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """TEXT prints the scrubbed text with a newline; stdin is scrubbed byte for byte."""
        code, out, _ = _run(["scan", "电话13800138000"], monkeypatch, capsys)
        assert (code, out) == (0, "电话<PHONE_NUMBER_1>\n")
        code, out, _ = _run(["scan"], monkeypatch, capsys, stdin=b"a 13800138000\nb\n")
        assert (code, out) == (0, "a <PHONE_NUMBER_1>\nb\n")

    def test_empty_input(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Empty input is not an error: empty text, no findings."""
        code, out, _ = _run(["scan", "--json"], monkeypatch, capsys, stdin=b"")
        assert code == 0
        assert json.loads(out) == {"text": "", "findings": []}

    def test_invalid_utf8_on_stdin(
        self,
        rng: random.Random,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Invalid UTF-8 is decoded with U+FFFD and a warning that does not quote the input;
        identifiers next to the bad bytes are still scrubbed."""
        mobile = cn_mobile(rng)
        code, out, err = _run(
            ["scan", "--json"], monkeypatch, capsys, stdin=b"\xff\xfe" + mobile.encode() + b"\x80"
        )
        assert code == 0
        assert "not valid UTF-8" in err
        assert json.loads(out)["text"] == "\ufffd\ufffd<PHONE_NUMBER_1>\ufffd"
        assert find_leaks(err + out, [mobile]) == []

    def test_lone_surrogates_nul_and_binary(
        self,
        rng: random.Random,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Lone surrogates in an argument become U+FFFD (offsets kept), NUL bytes pass
        through, and random binary input neither crashes nor leaks a planted identifier."""
        mobile = cn_mobile(rng)
        code, out, err = _run(["scan", "--json", f"x\udc80{mobile}\x00y"], monkeypatch, capsys)
        assert code == 0
        assert "not valid UTF-8" in err
        result = json.loads(out)
        assert result["text"] == "x\ufffd<PHONE_NUMBER_1>\x00y"
        assert result["findings"][0]["start"] == 2
        blob = bytes(rng.randrange(256) for _ in range(20_000))
        code, out, err = _run(
            ["scan"], monkeypatch, capsys, stdin=blob + b" " + mobile.encode() + b" " + blob
        )
        assert code == 0
        assert find_leaks(out, [mobile]) == []

    def test_jsonl_streams_and_reports_bad_lines(
        self,
        rng: random.Random,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """One output line per input line, in order, across batch boundaries; a bad line gets
        {"error", "line"} without its content and the rest continue."""
        values = [cn_mobile(rng) for _ in range(150)]
        lines = [json.dumps({"text": f"tel {v}"}) for v in values]
        lines[3] = "not json " + values[3]
        lines[70] = json.dumps({"txt": values[70]})
        lines[71] = json.dumps(["text", values[71]])
        source = tmp_path / "in.jsonl"
        source.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\n")
        code, out, err = _run(["scan", "--jsonl", str(source)], monkeypatch, capsys)
        assert code == 0
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == 151
        assert rows[3] == {"error": "line 4: not valid JSON", "line": 4}
        assert rows[70]["line"] == 71
        assert rows[71]["line"] == 72
        assert rows[150]["line"] == 151
        for i, row in enumerate(rows[:150]):
            if i not in (3, 70, 71):
                assert row["text"] == "tel <PHONE_NUMBER_1>"
                assert row["findings"][0]["start"] == 4
        assert find_leaks(out + err, values) == []

    def test_internal_errors_never_show_the_input(
        self,
        rng: random.Random,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """If detection fails with a message quoting the text, the command says only the
        exception type and exits 70."""
        from privlog.pipeline import Pipeline

        mobile = cn_mobile(rng)

        def explode(self: Pipeline, texts: list[str], scope: object = None) -> None:
            raise ValueError(f"could not parse {texts}")

        monkeypatch.setattr(Pipeline, "scrub_many", explode)
        code, out, err = _run(["scan", f"tel {mobile}"], monkeypatch, capsys)
        assert code == cli.EXIT_INTERNAL
        assert "ValueError" in err
        assert find_leaks(out + err, [mobile]) == []

    def test_config_errors_exit_2_with_the_fix(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad policy file is reported in one line naming the key, exit status 2."""
        policy = tmp_path / "p.toml"
        policy.write_text('store_txt = "none"\n')
        monkeypatch.setenv("PRIVLOG_CONFIG", str(policy))
        code, _, err = _run(["scan", "x"], monkeypatch, capsys)
        assert code == 2
        assert "store_txt" in err
        assert "Traceback" not in err


class TestCommand:
    def test_version_and_help(self) -> None:
        """The installed command answers --version and lists its commands."""
        done = subprocess.run([PRIVLOG, "--version"], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == f"privlog {__version__}"
        done = subprocess.run(
            [PRIVLOG, "scan", "--help"], capture_output=True, text=True, check=True
        )
        assert "--jsonl" in done.stdout
        assert "--json" in done.stdout

    def test_keys_init_rotate_list(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """keys init creates the file, rotate adds k2, list shows ids and never secrets."""
        path = tmp_path / "ring.keys"
        monkeypatch.setenv("PRIVLOG_KEY_FILE", str(path))
        assert _run(["keys", "init"], monkeypatch, capsys)[0] == 0
        assert _run(["keys", "rotate"], monkeypatch, capsys)[0] == 0
        code, out, _ = _run(["keys", "list"], monkeypatch, capsys)
        assert code == 0
        assert [line.split("\t")[0] for line in out.splitlines()] == ["k1", "k2"]
        secrets = [k["secret"] for k in json.loads(path.read_text())["keys"]]
        assert not any(s in out for s in secrets)
        code, _, err = _run(["keys", "init"], monkeypatch, capsys)
        assert code == 2
        assert "rotate" in err

    def test_demo_runs_end_to_end(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """`privlog demo --once` serves a chat app behind the middleware on loopback that
        forwards to a loopback third-party model through the guard: neither what the third
        party got nor what was stored carries an identifier, the user's reply has them
        restored, and the chain check passes."""
        monkeypatch.setenv("PRIVLOG_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
        code, out, _ = _run(["demo", "--once"], monkeypatch, capsys)
        assert code == 0
        stored = [line for line in out.splitlines() if line.startswith("stored:")]
        assert len(stored) >= 6
        assert any("<CN_RESIDENT_ID_1>" in line for line in stored)
        assert "chain check: chain intact" in out
        assert re.search(r"auditor dashboard: http://127\.0\.0\.1:\d+/ .*chain ok: True", out)
        assert re.search(r"auditor token: +plaud_[0-9a-f]{16}_", out)
        report = re.search(r"evidence report: +(\S+)", out)
        assert report is not None
        assert "Chain intact" in Path(report.group(1)).read_text(encoding="utf-8")
        planted = [
            "13800138000",
            "11010519491231002X",
            "6222020000000000000",
            "4111 1111 1111 1111",
        ]
        assert find_leaks("\n".join(stored), planted) == []
        # The demo's content rules: one prompt refused before the app, one flagged (input
        # and the echoed reply), each in the register with a scrubbed excerpt.
        assert "451 This request was refused under the service's content rules (fraud)" in out
        assert "flagged content: 3 register entries" in out
        register = out.split("flagged content:")[1].split("auditor dashboard")[0]
        assert register.count("demo-fraud-flag") == 2
        assert "input  fraud/demo-fraud-block block" in register
        assert find_leaks(register, ["13912345678"]) == []


@pytest.mark.slow
def test_ten_megabytes_through_the_command(tmp_path: Path) -> None:
    """10 MB of mixed English and Chinese text goes through `privlog scan --json` in
    windows below spaCy's max_length: no crash, and identifiers planted at the start, on
    window boundaries and at the end are all removed, each inside a reported span."""
    rng = random.Random(10)
    en = "The committee reviewed the quarterly figures and asked for a summary by Friday. "
    zh = "我们今天讨论一下项目进度以及下周的安排，请大家准时参加会议。"
    head = cn_resident_id(rng)
    parts: list[str] = [head + " "]
    size = len(head) + 1
    planted: list[tuple[int, str]] = [(0, head)]
    from privlog.detect import DetectionSettings

    window = DetectionSettings().chunk_chars
    boundary = window  # the detector's window size: plant one identifier across each
    while size < 10_000_000:
        piece = rng.choice([en, zh])
        if size + len(piece) >= boundary:
            value = rng.choice([cn_mobile, cn_resident_id, email])(rng)
            gap = boundary - len(value) // 2 - size - 3
            piece = piece[: max(gap, 0)] + " 联系" + value + "。 "
            planted.append((size + piece.index(value), value))
            boundary += window
        parts.append(piece)
        size += len(piece)
    tail = email(rng)
    parts.append(f" {tail}")
    planted.append((size + 1, tail))
    text = "".join(parts)
    source = tmp_path / "big.txt"
    source.write_text(text, encoding="utf-8")
    with source.open("rb") as stdin:
        done = subprocess.run(
            [PRIVLOG, "scan", "--json"],
            stdin=stdin,
            capture_output=True,
            timeout=1800,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-1000:]
    result = json.loads(done.stdout)
    values = [v for _, v in planted]
    assert find_leaks(result["text"], values) == []
    spans = sorted((f["start"], f["end"]) for f in result["findings"])
    for start, value in planted:
        assert text[start : start + len(value)] == value
        assert any(s <= start and start + len(value) <= e for s, e in spans), value


def test_jsonl_workers_give_the_same_lines_in_the_same_order(
    tmp_path: Path, rng: random.Random
) -> None:
    """`scan --jsonl --workers 2` (forked workers) writes exactly what one process writes,
    bad lines included, in input order; `--workers` without `--jsonl` is refused."""
    values = [cn_mobile(rng) for _ in range(300)]
    lines = [json.dumps({"text": f"call {v} or write to {email(rng)}"}) for v in values]
    lines[5] = "not json " + values[5]
    lines[199] = json.dumps({"txt": values[199]})
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PRIVLOG_KEY_FILE": str(tmp_path / "k.keys")}
    outputs = []
    for workers in ("1", "2"):
        done = subprocess.run(
            [PRIVLOG, "scan", "--jsonl", str(source), "--workers", workers],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-1000:]
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    rows = [json.loads(line) for line in outputs[1].splitlines()]
    assert len(rows) == 300
    assert rows[5] == {"error": "line 6: not valid JSON", "line": 6}
    assert find_leaks(outputs[1], values) == []
    refused = subprocess.run(
        [PRIVLOG, "scan", "--workers", "2", "text"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert refused.returncode == 2
    assert "--jsonl only" in refused.stderr
