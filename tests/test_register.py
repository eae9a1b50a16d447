"""The flagged-content register and regeneration prevention: keyed signatures that catch
light rewording and not unrelated text, entries written with their record, deadlines,
remediation from the CLI and the Python API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from privlog import Privlog
from privlog.config import ContentPolicy, Settings
from privlog.context import RequestContext
from privlog.errors import RegisterError
from privlog.keys import KeyRing
from privlog.replies import ReplyGuard
from privlog.similarity import MinHasher, similarity
from privlog.store import register
from privlog.store.database import make_engine
from privlog.store.schema import flagged, now_iso
from tests import canaries
from tests.adapters_support import stored
from tests.replies_support import PREFIX, privlog_with_rules, register_rows

_VOCABULARY = [
    "paper",
    "ink",
    "press",
    "dry",
    "cut",
    "sheet",
    "strip",
    "mark",
    "print",
    "water",
    "cloth",
    "heat",
    "fold",
    "stack",
    "light",
    "dark",
    "first",
    "then",
    "after",
    "before",
    "slowly",
    "quickly",
    "carefully",
    "under",
    "over",
    "between",
    "thin",
    "thick",
    "new",
    "old",
    "cotton",
    "linen",
    "metal",
    "glass",
    "stone",
    "wood",
    "small",
    "large",
    "two",
    "three",
    "four",
    "five",
    "days",
    "hours",
    "minutes",
]


_OTHER_TOPIC = [
    "museum",
    "river",
    "bridge",
    "train",
    "ticket",
    "morning",
    "evening",
    "dinner",
    "lunch",
    "market",
    "square",
    "garden",
    "tower",
    "church",
    "hotel",
    "room",
    "booking",
    "weekend",
    "holiday",
    "city",
    "town",
    "village",
    "beach",
    "mountain",
    "walk",
    "visit",
    "open",
    "close",
    "early",
    "late",
    "cheap",
    "busy",
    "quiet",
    "famous",
    "local",
    "guide",
    "map",
    "street",
    "corner",
    "cafe",
]
# Shared by every text, as function words are in real ones.
_COMMON = ["the", "a", "to", "of", "and", "in", "on", "for", "with", "is", "it", "that"]


def _sentence(rng: random.Random, n: int, vocabulary: list[str] = _VOCABULARY) -> list[str]:
    return [rng.choice(vocabulary if rng.random() < 0.7 else _COMMON) for _ in range(n)]


def _reword(rng: random.Random, words: list[str], share: float) -> list[str]:
    """Light rewording: about ``share`` of the words replaced, dropped or inserted."""
    out = list(words)
    for _ in range(max(1, int(len(words) * share))):
        i = rng.randrange(len(out))
        edit = rng.choice(("replace", "drop", "insert"))
        if edit == "replace":
            out[i] = rng.choice(_VOCABULARY)
        elif edit == "drop" and len(out) > 2:
            del out[i]
        else:
            out.insert(i, rng.choice(_VOCABULARY))
    return out


def test_light_rewording_is_near_and_unrelated_text_is_not(rng: random.Random) -> None:
    hasher = MinHasher(secrets.token_bytes(32), "k1")
    near, far = [], []
    for _ in range(200):
        words = _sentence(rng, rng.randrange(30, 120))
        original = hasher.signature(" ".join(words))
        near.append(similarity(hasher.signature(" ".join(_reword(rng, words, 0.05))), original))
        # Another text of the same length on another topic, sharing the function words.
        other = _sentence(rng, len(words), _OTHER_TOPIC)
        far.append(similarity(hasher.signature(" ".join(other)), original))
    threshold = ContentPolicy().near_duplicate
    assert min(near) >= threshold + 0.2, sorted(near)[:5]
    assert max(far) < threshold / 2, sorted(far)[-5:]


@pytest.mark.parametrize(
    ("original", "reworded"),
    [
        (
            "To make the counterfeit notes you first print the security strip on thin paper, "
            "then press the watermark with a damp cloth and dry the sheets under a heavy book "
            "for two days before cutting them to size with a sharp blade.",
            "To make counterfeit notes, first print the security strip on thin paper; then "
            "press the watermark using a damp cloth, and dry the sheets under a heavy book for "
            "two days before you cut them to size with a sharp blade.",
        ),
        (
            "先把假钞的安全线印在薄纸上，然后用湿布压出水印，再把纸放在重书下面晾干两天，"
            "最后用锋利的刀片裁成合适的大小，这样看起来就和真的差不多了。",
            "首先把假钞的安全线印在薄纸上，接着用湿布压出水印，然后放在重书下面晾干两天，"
            "最后用锋利的刀片裁成合适大小，这样看上去就跟真的差不多。",
        ),
    ],
)
def test_written_rewordings_in_english_and_chinese(original: str, reworded: str) -> None:
    hasher = MinHasher(secrets.token_bytes(32), "k1")
    threshold = ContentPolicy().near_duplicate
    assert similarity(hasher.signature(reworded), hasher.signature(original)) >= threshold
    weather = (
        "The weather this weekend will be mild with some rain on Saturday afternoon, so bring "
        "an umbrella if you plan to visit the museums or walk along the river in the evening."
    )
    assert similarity(hasher.signature(weather), hasher.signature(original)) < threshold / 2


def test_signatures_are_keyed() -> None:
    text = " ".join(f"word{i}" for i in range(80))
    one = MinHasher(secrets.token_bytes(32), "k1").signature(text)
    two = MinHasher(secrets.token_bytes(32), "k2").signature(text)
    assert similarity(one, two) < 0.1  # without the key, a signature cannot be tested


def _flag_then_reword(
    pl: Privlog, original: str, copy: str, unrelated: str, bodies: list[str] | None = None
) -> list[int]:
    """Stream ``original`` (blocked by a rule), then ``copy`` (streamed) and ``unrelated``
    (whole); return each status, -1 for a stream that was cut."""
    from tests.test_replies import _fastapi, _post, _words

    client = _fastapi(
        pl,
        {
            "o": ("sse", _words(original)),
            "c": ("sse", _words(copy)),
            "u": ("json", unrelated),
        },
    )
    statuses = []
    for name in ("o", "c", "u"):
        status, body, _ = _post(client, name)
        statuses.append(status if "privlog.blocked" not in body else -1)
        if bodies is not None:
            bodies.append(body)
    return statuses


ORIGINAL = (
    PREFIX + "Print the counterfeit notes on thin cotton paper, press the watermark with a "
    "damp cloth, and dry the sheets under a heavy book for two days before cutting them."
)
# The same answer generated again, lightly reworded, without the blocked phrase.
COPY = (
    "Thanks for your question. I will go through it step by step so nothing is left out, "
    "starting with some background that is useful whatever you decide to do next. Print the "
    "fake banknotes on thin cotton paper, then press their watermark with a damp cloth and "
    "dry the sheets under heavy books for two days before you cut them."
)
UNRELATED = (
    "Museums in the old town open at nine; the river walk is lovely in the evening, and the "
    "bakery by the bridge sells the best bread in the city on Saturday mornings."
)


def test_a_regenerated_copy_is_blocked_and_linked_to_the_original(tmp_path: Path) -> None:
    pl = privlog_with_rules(tmp_path)
    try:
        bodies: list[str] = []
        assert _flag_then_reword(pl, ORIGINAL, COPY, UNRELATED, bodies) == [-1, -1, 200]
        assert "banknotes" not in bodies[1]  # cut before the copied instructions
        assert json.loads(bodies[2])["choices"][0]["message"]["content"] == UNRELATED
        entries = {e["rule_id"]: e for e in register_rows(pl)}
        original, copy = entries["fraud-block"], entries["near-duplicate"]
        assert copy["related_to"] == original["id"]
        assert (copy["category"], copy["action"], copy["direction"]) == ("fraud", "block", "output")
        assert ContentPolicy().near_duplicate <= copy["similarity"] <= 1
        assert len(copy["fingerprint"]) == 64
        assert copy["fingerprint"] != original["fingerprint"]
        rows = stored(pl)
        assert json.loads(rows[1]["content"])["output"]["rules"] == ["near-duplicate"]
        assert pl.flagged(related_to=original["id"])[0]["id"] == copy["id"]
    finally:
        pl.close()


def test_the_check_can_flag_instead_or_be_off(tmp_path: Path) -> None:
    flagging = privlog_with_rules(tmp_path / "a", content={"near_duplicate_action": "flag"})
    off = privlog_with_rules(tmp_path / "b", content={"near_duplicate": 0})
    try:
        assert _flag_then_reword(flagging, ORIGINAL, COPY, UNRELATED) == [-1, 200, 200]
        assert [e["action"] for e in register_rows(flagging) if e["related_to"]] == ["flag"]
        assert _flag_then_reword(off, ORIGINAL, COPY, UNRELATED) == [-1, 200, 200]
        assert all(e["signature"] is None for e in register_rows(off))
    finally:
        flagging.close()
        off.close()


def test_other_processes_learn_of_flagged_outputs_from_the_register(tmp_path: Path) -> None:
    first = privlog_with_rules(tmp_path, content={"reload_seconds": 0.1})
    try:
        assert _flag_then_reword(first, ORIGINAL, UNRELATED, UNRELATED) == [-1, 200, 200]
        assert first.flush(10) == 0
    finally:
        first.close()
    second = privlog_with_rules(tmp_path, content={"reload_seconds": 0.1})
    try:
        assert len(second.flagged_index) == 0
        second.log_input({"prompt": "hello"}, route="/warm-up")  # starts the writer
        deadline = time.monotonic() + 10
        while not len(second.flagged_index) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(second.flagged_index) == 1
        guard = ReplyGuard.for_reply(
            second, RequestContext(route="/x"), {"content-type": "text/plain"}
        )
        assert guard is not None
        guard.feed(COPY.encode())
        guard.end()
        assert guard.blocked
        assert guard.decision.hits[0].rule_id == "near-duplicate"
    finally:
        second.close()


def test_retiring_a_key_unlinks_its_signatures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `keys retire`, a running app drops the retired epoch's signatures and
    hashers and goes on checking replies; a new process does not load them."""
    import privlog.core

    monkeypatch.setattr(privlog.core, "KEYRING_RECHECK", 0.0)
    pl = privlog_with_rules(tmp_path)
    try:
        _flag_then_reword(pl, ORIGINAL, UNRELATED, UNRELATED)
        assert pl.flush(10) == 0
        assert len(pl.flagged_index) == 1
        ring = KeyRing.load(tmp_path / "privlog.keys")
        ring.rotate()
        ring.retire("k1")
        guard = ReplyGuard.for_reply(pl, RequestContext(route="/x"), {"content-type": "text/plain"})
        assert guard is not None  # no KeyFileError: the retired key is simply gone
        assert len(pl.flagged_index) == 0
        assert pl.flagged_index.kids() == ["k2"]
        guard.feed(ORIGINAL.encode())
        guard.end()
        assert [h.rule_id for h in guard.decision.hits] == ["fraud-block"]  # rules still apply
    finally:
        pl.close()
    later = privlog_with_rules(tmp_path)
    try:
        engine = make_engine(later.settings.database_url)
        with engine.connect() as conn:
            assert later.flagged_index.refresh(conn) == 0
        engine.dispose()
        assert [e["key_id"] for e in later.flagged()] == ["k1"]  # the entry itself stays
    finally:
        later.close()


def _plant(url: str, now: dt.datetime, **values: object) -> str:
    entry_id = secrets.token_hex(16)
    row = {
        "id": entry_id,
        "discovered_at": now_iso(now),
        "tenant": None,
        "direction": "output",
        "category": "fraud",
        "rule_id": "fraud-block",
        "ruleset_version": "2026-11-02",
        "action": "block",
        "record_id": secrets.token_hex(16),
        "key_id": "k1",
        "fingerprint": secrets.token_hex(32),
        "excerpt": "…print the counterfeit notes…",
        "remediation_due": now_iso(now + dt.timedelta(days=90)),
        "status": "open",
        **values,
    }
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            register.insert_in(conn, [row])
    finally:
        engine.dispose()
    return entry_id


def test_deadlines_overdue_and_remediation(db_url: str, tmp_path: Path) -> None:
    _migrate(db_url)
    pl = privlog_with_rules(tmp_path, database_url=db_url, content={"remediation_days": 30})
    try:
        from tests.test_replies import BLOCKED, _fastapi, _post

        status, _, _ = _post(_fastapi(pl, {"b": ("json", BLOCKED)}), "b")
        assert status == 451
        [entry] = register_rows(pl)
        found = dt.datetime.fromisoformat(entry["discovered_at"])
        due = dt.datetime.fromisoformat(entry["remediation_due"])
        assert due - found == dt.timedelta(days=30)
        engine = make_engine(db_url)
        try:
            with engine.connect() as conn:
                day_before = now_iso(due - dt.timedelta(days=1))
                day_after = now_iso(due + dt.timedelta(days=1))
                assert register.get_entry(conn, entry["id"], day_before)["overdue"] is False
                assert register.get_entry(conn, entry["id"], day_after)["overdue"] is True
                late = register.FlaggedFilter(overdue=True)
                assert register.entry_page(conn, late, limit=10, now=day_before)[0] == []
                [row], _ = register.entry_page(conn, late, limit=10, now=day_after)
                assert "signature" not in row
                assert register.counts(conn, register.FlaggedFilter(), day_after)["overdue"] == 1
            with pytest.raises(RegisterError, match="needs a note"):
                pl.remediate(entry["id"], "   ")
            with pytest.raises(RegisterError, match="no register entry"):
                pl.remediate("0" * 32, "done")
            done = pl.remediate(entry["id"], "model prompt fixed; reply template removed")
            assert (done["status"], done["overdue"]) == ("remediated", False)
            with pytest.raises(RegisterError, match="already remediated"):
                pl.remediate(entry["id"], "again")
            with engine.connect() as conn:
                totals = register.counts(conn, register.FlaggedFilter(), day_after)
            assert (totals["open"], totals["remediated"], totals["overdue"]) == (0, 1, 0)
        finally:
            engine.dispose()
    finally:
        pl.close()


def _migrate(url: str) -> None:
    from privlog.store.migrate import migrate

    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def test_pages_filters_and_counts(db_url: str) -> None:
    _migrate(db_url)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    ids = [_plant(db_url, now + dt.timedelta(minutes=i)) for i in range(7)]
    _plant(db_url, now, category="weapons", direction="input", status="remediated")
    _plant(
        db_url,
        now - dt.timedelta(minutes=1),
        remediation_due=now_iso(now - dt.timedelta(days=1)),
    )
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            at = now_iso(now + dt.timedelta(hours=1))
            seen: list[str] = []
            after = None
            while True:
                where = register.FlaggedFilter(category="fraud", status="open")
                page, after = register.entry_page(conn, where, limit=3, after=after, now=at)
                seen += [r["id"] for r in page]
                if after is None:
                    break
            assert len(seen) == len(set(seen)) == 8
            assert seen[:7] == ids[::-1]  # newest first
            totals = register.counts(conn, register.FlaggedFilter(), at)
            direct = conn.execute(select(flagged.c.status)).scalars().all()
            assert totals["total"] == len(direct) == 9
            assert (totals["open"], totals["remediated"], totals["overdue"]) == (8, 1, 1)
            assert totals["by_category"] == {"fraud": 8, "weapons": 1}
            assert totals["by_direction"] == {"input": 1, "output": 8}
            with pytest.raises(RegisterError, match="continue after"):
                register.entry_page(conn, register.FlaggedFilter(), limit=3, after="f" * 32)
    finally:
        engine.dispose()


def test_input_hits_are_registered_with_a_scrubbed_excerpt(
    tmp_path: Path, rng: random.Random
) -> None:
    phone = canaries.cn_mobile(rng)
    mail = canaries.email(rng)
    pl = privlog_with_rules(tmp_path)
    try:
        from tests.test_replies import _fastapi

        client = _fastapi(pl, {"x": ("json", "fine")})
        prompt = f"I am at {phone} or {mail}; write me a fake invoice for my landlord"
        response = client.post("/v1/chat/x", json={"messages": [{"content": prompt}]})
        assert response.status_code == 200  # a flag rule lets the request through
        [entry] = register_rows(pl)
        assert (entry["direction"], entry["rule_id"], entry["signature"]) == (
            "input",
            "fraud-flag",
            None,  # inputs are not indexed: regeneration is about outputs
        )
        assert "fake invoice" in entry["excerpt"]
        assert canaries.find_leaks(json.dumps(entry), [phone, mail]) == []
    finally:
        pl.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("privlog.db*"))
    assert canaries.find_leaks(raw, [phone, mail]) == []


def _cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("privlog")), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_lists_remediates_and_checks(tmp_path: Path, sqlite_url: str) -> None:
    import os

    from privlog.store.chainstore import ChainStore

    pl = privlog_with_rules(tmp_path, database_url=sqlite_url)
    pl.close()
    engine = make_engine(sqlite_url)
    ChainStore(engine).ensure_ready()
    engine.dispose()
    KeyRing.load(tmp_path / "privlog.keys")
    now = dt.datetime.now(dt.UTC)
    late = _plant(
        sqlite_url,
        now - dt.timedelta(days=100),
        remediation_due=now_iso(now - dt.timedelta(days=10)),
    )
    fresh = _plant(sqlite_url, now)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[content]\nrules_file = "{tmp_path / "rules.toml"}"\n', encoding="utf-8")
    env = {
        **os.environ,
        "PRIVLOG_DATABASE_URL": sqlite_url,
        "PRIVLOG_KEY_FILE": str(tmp_path / "privlog.keys"),
        "PRIVLOG_CONFIG": str(policy),
    }
    listed = _cli(env, "content", "list", "--status", "overdue")
    assert listed.returncode == 0, listed.stderr
    assert late in listed.stdout
    assert fresh not in listed.stdout
    assert "OVERDUE" in listed.stdout
    assert "2 open (1 overdue), 0 remediated" in listed.stdout
    refused = _cli(env, "content", "remediate", late, "--note", " ")
    assert refused.returncode == 2
    assert "needs a note" in refused.stderr
    done = _cli(env, "content", "remediate", late, "--note", "template withdrawn")
    assert done.returncode == 0, done.stderr
    as_json = _cli(env, "content", "list", "--status", "all", "--json")
    rows = {r["id"]: r for r in map(json.loads, as_json.stdout.splitlines())}
    assert rows[late]["status"] == "remediated"
    assert rows[late]["remediation_note"] == "template withdrawn"
    assert rows[fresh]["status"] == "open"
    check = _cli(env, "content", "check", "--direction", "output", stdin="a pipe bomb recipe")
    assert (check.returncode, json.loads(check.stdout)["rules"]) == (4, ["weapons-out"])
    assert _cli(env, "content", "check", "a fake  invoice").returncode == 3
    assert _cli(env, "content", "check", "an invoice").returncode == 0
    unknown = _cli(env, "content", "remediate", "f" * 32, "--note", "x")
    assert unknown.returncode == 2
    assert "privlog content list" in unknown.stderr


def test_excerpt_edges_never_split_an_identifier(rng: random.Random) -> None:
    """The excerpt's edges move out to whole tokens and its ellipses stand apart, so the
    scrubber sees whole e-mail addresses and numbers even at the cut."""
    from privlog.flagged import SNIPPET_CONTEXT, snippet
    from privlog.safety import RuleSet

    rules = RuleSet.from_mapping(
        {"version": "1", "rules": [{"id": "r", "category": "c", "keywords": ["fake invoice"]}]}
    )
    pl = Privlog(Settings(key_file=Path("/nonexistent/never-created.keys")))
    try:
        for _ in range(40):
            mail, phone = canaries.email(rng), canaries.cn_mobile(rng)
            ident = canaries.cn_resident_id(rng)
            pad = " " * rng.randrange(0, SNIPPET_CONTEXT)
            text = f"{mail}{pad} x  \n   please write a FAKE   invoice now {pad}{phone} {ident}"
            [hit] = rules.check(text, "input").hits
            assert text[hit.span[0] : hit.span[1]].casefold().startswith("fake")
            piece = snippet(text, *hit.span)
            scrubbed = pl.scan(piece).text
            assert "FAKE   invoice" in scrubbed
            assert canaries.find_leaks(scrubbed, [mail, phone, ident]) == []
    finally:
        pl.close()


def test_a_short_reply_does_not_match_a_long_flagged_output(rng: random.Random) -> None:
    """Containment counts only between texts of comparable size: a short unrelated reply
    shares common word pairs with any long text, and must not match it."""
    from privlog.similarity import similarities

    hasher = MinHasher(secrets.token_bytes(32), "k1")
    long_flagged = hasher.signature(" ".join(_sentence(rng, 20_000, _OTHER_TOPIC)))
    values = long_flagged.values[None, :]
    sizes = np.array([long_flagged.size])
    for _ in range(100):
        short = hasher.signature(" ".join(_sentence(rng, rng.randrange(30, 200), _OTHER_TOPIC)))
        assert similarities(short, values, sizes)[0] < ContentPolicy().near_duplicate


def test_the_index_is_safe_under_concurrent_lookups_and_additions() -> None:
    import tempfile
    import threading

    from privlog.flagged import FlaggedIndex

    keys = KeyRing.load(Path(tempfile.mkdtemp()) / "k.keys")
    index = FlaggedIndex(lambda: keys)
    hasher = index.hasher()
    texts = [f"flagged reply number {i} " + "word " * (i % 50) for i in range(400)]
    signatures = [hasher.signature(t) for t in texts]
    errors: list[BaseException] = []
    done = threading.Event()

    def look() -> None:
        try:
            while not done.is_set():
                index.nearest({"k1": signatures[len(index) % len(signatures)]})
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=look) for _ in range(4)]
    for t in readers:
        t.start()
    for i, signature in enumerate(signatures):
        index.add(f"{i:032x}", "fraud", signature, "k1", "block")
    done.set()
    for t in readers:
        t.join()
    assert errors == []
    assert len(index) == 400
    near = index.nearest({"k1": signatures[7]})
    assert near is not None
    assert near.entry_id == f"{7:032x}"
