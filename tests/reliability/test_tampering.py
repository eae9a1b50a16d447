"""Tampering with the stored chain, each kind at random places: `privlog verify` (with the
checkpoint key pinned, and with checkpoints an auditor saved earlier) must catch every one.

The chain: 150 records appended in batches of 10, a checkpoint at the first append and then
every 25 records or more (seq 10, 40, 70, 100, 130). The attacker may write to every table
but does not hold the checkpoint signing key, except in the split view, where the operator
itself shows two auditors two different chains, both signed.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from privlog import cli
from privlog.audit import queries
from privlog.store.chain import Signer, entry_hash, payload_hash
from privlog.store.chainstore import ChainStore
from privlog.store.schema import GENESIS_HASH, chain_head, checkpoints, records
from tests.reliability_support import Report, size
from tests.storetools import payload, scratch_database, signer, store

RECORDS = 150
BATCH = 10
EVERY = 25
LAST_MARK = 130  # the last checkpoint of such a chain


@contextmanager
def _database(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    base = os.environ.get("PRIVLOG_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PRIVLOG_TEST_DATABASE_URL is not set: PostgreSQL tests need a server")
    with scratch_database(base) as url:
        yield url


def _filled(url: str, sign: Signer, start: int = 0, count: int = RECORDS) -> ChainStore:
    cs = store(url, sign, checkpoint_every=EVERY)
    for first in range(start, start + count, BATCH):
        cs.append([payload(i, f"record {i}") for i in range(first, first + BATCH)])
    return cs


def _saved_checkpoints(cs: ChainStore, path: Path) -> Path:
    """What an auditor keeps: the body of GET /v1/checkpoints."""
    with cs.engine.connect() as conn:
        page, _ = queries.checkpoint_page(conn, limit=1_000)
    path.write_text(json.dumps({"checkpoints": page, "next_cursor": None}), encoding="utf-8")
    return path


class _Verifier:
    """`privlog verify` with the key pinned, as an auditor runs it: (exit code, output)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch, self.capsys = monkeypatch, capsys

    def __call__(self, key: str, url: str, *saved: Path) -> tuple[int, str]:
        self.monkeypatch.setenv("PRIVLOG_DATABASE_URL", url)
        self.capsys.readouterr()
        args = ["verify", "--public-key", f"k1:{key}"]
        for path in saved:
            args += ["--checkpoints", str(path)]
        code = cli.main(args)
        captured = self.capsys.readouterr()
        return code, captured.out + captured.err


@pytest.fixture(name="verify")
def _verify(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> _Verifier:
    return _Verifier(monkeypatch, capsys)


# --- the tamperings: each changes the stored chain and returns the first bad seq ---------


def _edit(cs: ChainStore, rng: random.Random) -> int:
    seq = rng.randrange(1, RECORDS + 1)
    column = rng.choice(["text", "route", "outcome", "input_chars"])
    value = {"text": '{"prompt": "edited"}', "route": "/edited", "outcome": "blocked"}.get(
        column, 999_999
    )
    with cs.engine.begin() as conn:
        conn.execute(update(records).where(records.c.seq == seq).values({column: value}))
    return seq


def _delete(cs: ChainStore, rng: random.Random) -> int:
    seq = rng.randrange(1, RECORDS)
    with cs.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.seq == seq))
    return seq


def _reorder(cs: ChainStore, rng: random.Random) -> int:
    seq = rng.randrange(1, RECORDS)
    with cs.engine.begin() as conn:
        a, b = (
            dict(conn.execute(select(records).where(records.c.seq == s)).mappings().one())
            for s in (seq, seq + 1)
        )
        conn.execute(delete(records).where(records.c.seq.in_([seq, seq + 1])))
        a["seq"], b["seq"] = seq + 1, seq
        conn.execute(insert(records), [b, a])
    return seq


def _rows_after(conn: Any, seq: int) -> list[dict[str, Any]]:
    query = select(records).where(records.c.seq > seq).order_by(records.c.seq)
    return [dict(r) for r in conn.execute(query).mappings()]


def _relink(rows: list[dict[str, Any]], prev: str) -> str:
    """Recompute every hash of ``rows`` in order, as a forger without the key can."""
    for row in rows:
        row["payload_hash"] = payload_hash(row["payload_salt"], row)
        row["entry_hash"] = entry_hash(row["seq"], prev, row["payload_hash"])
        row["prev_hash"] = prev
        prev = row["entry_hash"]
    return prev


def _insert(cs: ChainStore, rng: random.Random) -> int:
    """A forged row with consistent hashes of its own after ``seq``; the rows after it
    renumbered. The forgery links to ``seq``, so the break shows at the next genuine row."""
    seq = rng.randrange(1, RECORDS)
    with cs.engine.begin() as conn:
        rows = _rows_after(conn, seq)
        conn.execute(delete(records).where(records.c.seq > seq))
        prev = conn.execute(select(records.c.entry_hash).where(records.c.seq == seq)).scalar_one()
        forged = {**rows[0], **payload(999, "forged entry"), "seq": seq + 1}
        _relink([forged], prev)
        for row in rows:
            row["seq"] += 1
        conn.execute(insert(records), [forged, *rows])
        conn.execute(update(chain_head).values(seq=chain_head.c.seq + 1))
    return seq + 2


def _truncate(cs: ChainStore, rng: random.Random) -> int:
    """The tail cut off, the head rewritten to match and the checkpoints past the cut
    deleted: the stored data is consistent again; only an auditor's saved checkpoint tells."""
    seq = rng.randrange(1, LAST_MARK)
    with cs.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.seq > seq))
        conn.execute(delete(checkpoints).where(checkpoints.c.seq > seq))
        last = conn.execute(select(records.c.entry_hash).where(records.c.seq == seq)).scalar_one()
        conn.execute(update(chain_head).values(seq=seq, entry_hash=last))
    return seq + 1


MARKS = (10, 40, 70, 100, 130)


def _rewrite(cs: ChainStore, rng: random.Random, checkpoints_then: str) -> int:
    """Every record from seq 1 rewritten consistently (one edited payload at or before the
    last checkpoint, all hashes recomputed, the head updated); the checkpoints then kept,
    re-signed with the forger's own key under the same key id, or deleted."""
    seq = rng.randrange(1, LAST_MARK + 1)
    with cs.engine.begin() as conn:
        rows = _rows_after(conn, 0)
        rows[seq - 1]["text"] = '{"prompt": "rewritten"}'
        head = _relink(rows, GENESIS_HASH)
        conn.execute(delete(records))
        conn.execute(insert(records), rows)
        conn.execute(update(chain_head).values(seq=len(rows), entry_hash=head))
        hashes = {row["seq"]: row["entry_hash"] for row in rows}
        marks = [dict(m) for m in conn.execute(select(checkpoints)).mappings()]
        if checkpoints_then == "re-signed":
            forger = Signer("k1", random.Random(rng.random()).randbytes(32))
            conn.execute(delete(checkpoints))
            for mark in marks:
                mark["entry_hash"] = hashes[mark["seq"]]
                mark["public_key"] = forger.public_key
                mark["signature"] = forger.sign(mark["seq"], mark["entry_hash"], mark["ts"])
            conn.execute(insert(checkpoints), marks)
        elif checkpoints_then == "deleted":
            conn.execute(delete(checkpoints))
    # Re-signed: the first checkpoint does not verify under the pinned key. Kept, or deleted
    # (the auditor's saved copy then): the first checkpoint at or after the edit differs.
    return MARKS[0] if checkpoints_then == "re-signed" else min(m for m in MARKS if m >= seq)


Tamper = Callable[[ChainStore, random.Random], int]
KINDS: dict[str, Tamper] = {
    "edited field": _edit,
    "deleted row": _delete,
    "reordered rows": _reorder,
    "forged insert": _insert,
    "truncated tail (checkpoints past the cut deleted too)": _truncate,
    "consistent rewrite, checkpoints kept": lambda cs, rng: _rewrite(cs, rng, "kept"),
    "consistent rewrite, checkpoints re-signed with another key": lambda cs, rng: _rewrite(
        cs, rng, "re-signed"
    ),
    "consistent rewrite, checkpoints deleted": lambda cs, rng: _rewrite(cs, rng, "deleted"),
}


# Where the stored data alone (no saved checkpoints) shows the tampering: the same record,
# except after a rewrite that deleted every checkpoint (record 1: nothing signs it). A cut
# tail whose checkpoints were deleted too is consistent again: only saved ones show it.
ALONE: dict[str, Callable[[int], int] | None] = {kind: lambda bad: bad for kind in KINDS}
ALONE["truncated tail (checkpoints past the cut deleted too)"] = None
ALONE["consistent rewrite, checkpoints deleted"] = lambda bad: 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_tampering_is_detected(
    database: str,
    kind: str,
    tmp_path: Path,
    verify: _Verifier,
    reliability: Report,
) -> None:
    """Each trial: a fresh chain verifies (exit 0); the auditor saves its checkpoints; after
    the tampering, `privlog verify` with the pinned key and the saved checkpoints exits 1 and
    names the first bad record, and so does it without them where the stored data can show
    it. Rewrites past the last checkpoint are not tried: until the next checkpoint, records
    are signed by nothing (see README, hash chain)."""
    trials = size(3, 30)
    rng = random.Random(f"{database}/{kind}")
    detected = alone = 0
    expect_alone = ALONE[kind]
    for trial in range(trials):
        sign = signer()
        key = sign.public_key
        with _database(database, tmp_path, f"t{trial}") as url:
            cs = _filled(url, sign)
            saved = _saved_checkpoints(cs, tmp_path / f"seen{trial}.json")
            assert verify(key, url, saved)[0] == 0
            bad = KINDS[kind](cs, rng)
            cs.engine.dispose()
            code, out = verify(key, url, saved)
            assert code == 1, out
            assert f"BROKEN at record {bad}:" in out, (bad, out)
            detected += 1
            if expect_alone is not None:
                code, out = verify(key, url)
                assert code == 1, out
                assert f"BROKEN at record {expect_alone(bad)}:" in out, (bad, out)
                alone += 1
    reliability.area = "tampering"
    reliability.scenario = f"{kind} ({database})"
    reliability.done = f"{trials} chains of {RECORDS} records, tampered at random places"
    reliability.figure = f"detected {detected}/{trials} with the auditor's saved checkpoints, " + (
        f"{alone}/{trials} from the stored data alone"
        if expect_alone is not None
        else "not from the stored data alone (consistent again)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_split_view_between_two_auditors_is_detected(
    database: str,
    tmp_path: Path,
    verify: _Verifier,
    reliability: Report,
) -> None:
    """The operator, who holds the key, forks the chain after a random record and shows one
    auditor each branch; both branches verify on their own. Each auditor verifies with the
    other's saved checkpoints: the fork is found, at the first checkpoint past it."""
    trials = size(3, 30)
    rng = random.Random(database)
    detected = 0
    for trial in range(trials):
        sign = signer()
        key = sign.public_key
        fork = rng.randrange(1, 10) * BATCH
        with (
            _database(database, tmp_path, f"a{trial}") as url_a,
            _database(database, tmp_path, f"b{trial}") as url_b,
        ):
            a = _filled(url_a, sign, count=fork)
            b = store(url_b, sign, checkpoint_every=EVERY)
            _copy_chain(a, b)
            for cs, text in ((a, "branch a"), (b, "branch b")):
                for first in range(fork, RECORDS, BATCH):
                    cs.append([payload(i, f"{text} {i}") for i in range(first, first + BATCH)])
            seen_a = _saved_checkpoints(a, tmp_path / f"a{trial}.json")
            seen_b = _saved_checkpoints(b, tmp_path / f"b{trial}.json")
            a.engine.dispose()
            b.engine.dispose()
            assert verify(key, url_a)[0] == 0
            assert verify(key, url_b)[0] == 0
            code_a, out_a = verify(key, url_a, seen_b)
            code_b, out_b = verify(key, url_b, seen_a)
            assert code_a == 1, out_a
            assert code_b == 1, out_b
            assert "readers are shown different chains" in out_a + out_b
            detected += 1
    reliability.area = "tampering"
    reliability.scenario = f"split view between two auditors ({database})"
    reliability.done = (
        f"{trials} forks after a random record, both branches signed by the operator's key; "
        "each auditor verifies with the other's saved checkpoints"
    )
    reliability.figure = f"detected {detected}/{trials} ({100 * detected // trials}%)"


def _copy_chain(source: ChainStore, target: ChainStore) -> None:
    with source.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(records)).mappings()]
        marks = [dict(m) for m in conn.execute(select(checkpoints)).mappings()]
        head = conn.execute(select(chain_head)).mappings().one()
    with target.engine.begin() as conn:
        conn.execute(insert(records), rows)
        conn.execute(insert(checkpoints), marks)
        conn.execute(update(chain_head).values(seq=head["seq"], entry_hash=head["entry_hash"]))


def test_saved_checkpoints_must_be_signed(
    sqlite_url: str,
    tmp_path: Path,
    verify: _Verifier,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A saved checkpoint with a broken signature, or not JSON, stops the command (exit 2)
    with a message saying what is wrong; it is never taken as evidence either way."""
    sign = signer()
    cs = _filled(sqlite_url, sign, count=30)
    saved = _saved_checkpoints(cs, tmp_path / "seen.json")
    cs.engine.dispose()
    document = json.loads(saved.read_text())
    document["checkpoints"][0]["entry_hash"] = "0" * 64
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    key = sign.public_key
    code, out = verify(key, sqlite_url, forged)
    assert code == 2
    assert "not validly signed by a trusted key" in out
    (tmp_path / "junk.json").write_text("not json")
    code, out = verify(key, sqlite_url, tmp_path / "junk.json")
    assert code == 2
    assert "is not JSON" in out
    code, out = verify(key, sqlite_url, saved)
    assert code == 0
    assert "1 signed checkpoints verified, 1 held by readers matched" in out
    # Without a key to check them against, saved checkpoints prove nothing either way.
    assert cli.main(["verify", "--checkpoints", str(saved)]) == 2
    assert "--checkpoints needs the checkpoint public key" in capsys.readouterr().err
