"""``Privlog``: the one object an application holds (one per process)."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import signal
import threading
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from privlog.config import Settings
from privlog.detect.turns import DetectionTimeout, deadline
from privlog.errors import KeyFileError, StoreError
from privlog.identity import Subject, as_subject
from privlog.keys import KeyRing
from privlog.pipeline import Pipeline
from privlog.records import Outcome, UsageRecord, truncate_ip
from privlog.transform import Replacement, Scope, Scrubbed, Transformer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from privlog.egress import EgressGuard
    from privlog.flagged import Evidence, FlaggedIndex
    from privlog.safety import ContentDecision, ContentRules, Direction
    from privlog.store.chainstore import ChainStore
    from privlog.store.consent import ConsentChange, ConsentState
    from privlog.store.subjects import SubjectRequest
    from privlog.store.writer import RecordWriter

__all__ = ["PendingInput", "Privlog", "Receipt", "Scrubbing"]

log = logging.getLogger("privlog")
_T = TypeVar("_T")
# Seconds between checks of the key file for a rotation or retirement.
KEYRING_RECHECK = 5.0


def _count_types(replacements: Mapping[str, tuple[Replacement, ...]]) -> dict[str, int]:
    return dict(Counter(r.entity_type for rs in replacements.values() for r in rs))


@dataclass(frozen=True, slots=True)
class Scrubbing:
    """One request's fields, scrubbed together; ``fields`` is None if detection failed."""

    fields: dict[str, str] | None
    replacements: Mapping[str, tuple[Replacement, ...]]
    flags: frozenset[str]
    scope: Scope = dataclasses.field(repr=False)

    @property
    def entity_counts(self) -> dict[str, int]:
        return _count_types(self.replacements)


@dataclass(slots=True)
class PendingInput:
    """A record whose raw fields wait, in memory only, for the writer to scrub them."""

    record: UsageRecord
    raw: dict[str, str] = dataclasses.field(repr=False)
    size: int


@dataclass(slots=True)
class WithEvidence:
    """A queued record and the flagged content its request produced (raw, in memory only,
    until the writer turns it into register entries)."""

    item: UsageRecord | PendingInput
    evidence: tuple[Evidence, ...] = dataclasses.field(repr=False)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What ``log_input`` did with one request's fields.

    ``fields`` holds the scrubbed texts, safe to forward to a processor; it is ``None`` when
    detection failed (nothing may leave then). ``scope`` keeps the placeholder map in memory
    for restoring values in the reply. ``queued`` says whether the record reached the
    writer's queue (a full queue drops it; the drop is counted, the request goes on).
    """

    fields: Mapping[str, str] | None
    replacements: Mapping[str, tuple[Replacement, ...]]
    flags: frozenset[str]
    queued: bool
    scope: Scope | None = dataclasses.field(repr=False)
    record_id: str = ""

    @property
    def entity_counts(self) -> dict[str, int]:
        return _count_types(self.replacements)


class Privlog:
    """Settings, the detector, the transform policy and the record writer, built once.

    >>> pl = Privlog.from_env()                       # doctest: +SKIP
    >>> pl.scan("call me on 13800138000").text        # doctest: +SKIP
    'call me on <PHONE_NUMBER_1>'
    """

    def __init__(self, settings: Settings | None = None) -> None:
        from privlog.detect.engine import get_detector

        self.settings = settings or Settings()
        policy = self.settings.policy
        self._keyring: KeyRing | None = None
        self._keyring_lock = threading.Lock()
        self._keyring_checked = float("-inf")
        self._keyring_mtime: float | None = None
        transformer = Transformer(
            policy.operators, default=policy.default_operator, keyring=self._get_keyring
        )
        self.pipeline = Pipeline(get_detector(policy.detection), transformer)
        self._writer: RecordWriter | None = None
        self._writer_lock = threading.Lock()
        self._pending_chars = 0
        self._pending_lock = threading.Lock()
        self._guard: EgressGuard | None = None
        self._content_rules: ContentRules | None = None
        self._flagged_index: FlaggedIndex | None = None
        self._index_refreshed = float("-inf")
        _remember(self)

    @classmethod
    def from_env(cls) -> Privlog:
        return cls(Settings.from_env())

    @classmethod
    def current(cls) -> Privlog:
        """The Privlog most recently built in this process (adapters' default), or a new
        one from the environment."""
        instance = _LAST[0]() if _LAST else None
        return instance if instance is not None else cls.from_env()

    def __repr__(self) -> str:
        return f"Privlog(settings={self.settings!r})"

    @property
    def keyring(self) -> KeyRing:
        return self._get_keyring()

    def _get_keyring(self) -> KeyRing:
        """The key ring, re-read when its file changes (checked every few seconds), so a
        long-running app moves to a new epoch after ``privlog keys rotate`` and stops
        using a retired key, without a restart."""
        ring = self._keyring
        if ring is not None and time.monotonic() - self._keyring_checked < KEYRING_RECHECK:
            return ring
        with self._keyring_lock:
            self._keyring_checked = time.monotonic()
            path = self.settings.key_file
            if self._keyring is None:
                self._keyring = KeyRing.load(path)
                self._keyring_mtime = _mtime(path)
            elif (mtime := _mtime(path)) != self._keyring_mtime:
                try:
                    self._keyring = KeyRing.load(path, create=False)
                    self._keyring_mtime = mtime
                except KeyFileError as exc:  # keep the ring in force; say why, not secrets
                    log.error("privlog: key file changed but cannot be used (%s)", exc)
            return self._keyring

    # --- scrubbing only ------------------------------------------------------------------

    def scan(self, text: str) -> Scrubbed:
        """Scrub one text; offsets in the result index ``text``. Stores nothing."""
        return self.pipeline.scrub(text)

    def scan_many(self, texts: Sequence[str]) -> list[Scrubbed]:
        """Scrub independent texts in one batch (each gets its own placeholder numbering)."""
        return self.pipeline.scrub_each(texts)

    # --- usage records -------------------------------------------------------------------

    def scrub_fields(self, fields: Mapping[str, str]) -> Scrubbing:
        """Scrub one request's fields together (shared placeholder numbering). Never raises:
        a detector failure gives ``fields=None`` and the ``detector_error`` flag; detection
        past ``[detection] deadline`` gives ``fields=None`` and ``detector_timeout``."""
        scope = self.pipeline.transformer.scope()
        names = list(fields)
        texts = [fields[name] if isinstance(fields[name], str) else "" for name in names]
        limit = self.settings.policy.detection.deadline
        try:
            with deadline(limit):
                results = self.pipeline.scrub_many(texts, scope)
        except DetectionTimeout as exc:
            log.warning(
                "privlog: detection of %d characters passed the %g s deadline; no text is stored",
                sum(map(len, texts)),
                exc.seconds,
            )
            return Scrubbing(None, {}, frozenset({"detector_timeout"}), scope)
        except Exception as exc:  # fail closed for the data, open for the request
            log.error("privlog: detection failed (%s); no text is stored", type(exc).__name__)
            return Scrubbing(None, {}, frozenset({"detector_error"}), scope)
        return Scrubbing(
            {name: r.text for name, r in zip(names, results, strict=True)},
            {name: r.replacements for name, r in zip(names, results, strict=True)},
            frozenset(),
            scope,
        )

    def log_input(
        self,
        fields: Mapping[str, str],
        *,
        route: str,
        subject: str | Subject | None = None,
        session: str | None = None,
        tenant: str | None = None,
        method: str | None = None,
        status: int | None = None,
        service: str | None = None,
        client_ip: str | None = None,
        outcome: Outcome = "logged",
        flags: Iterable[str] = (),
        record_id: str | None = None,
        scrubbed: Scrubbing | None = None,
        defer: bool = False,
        egress: tuple[Mapping[str, Any], ...] = (),
        content: ContentDecision | None = None,
        output: ContentDecision | None = None,
        evidence: Sequence[Evidence] = (),
    ) -> Receipt:
        """Scrub a request's user-input ``fields`` and queue its usage record.

        Never raises for a detection or storage problem and never blocks on the database:
        detection failing stores no text (flag ``detector_error``) and returns no fields to
        forward; a full queue drops the record and counts it.

        ``defer=True`` moves detection off the caller's thread: the raw fields wait in
        memory (never on disk) for the writer, which scrubs them before anything is
        written; the receipt then carries no scrubbed fields. Past ``max_pending_chars`` of
        waiting raw text, detection runs inline instead. ``scrubbed`` passes the result of
        an earlier :meth:`scrub_fields` for the same fields (the egress guard or a blocking
        policy already needed it). ``content`` and ``output`` are the content-rule
        decisions on the input and the reply; ``evidence`` the matched content for the
        flagged-content register. ``subject`` is a :class:`privlog.Subject` or the user id
        (1 to 512 characters; anything else raises :class:`privlog.InvalidSubject`).
        """
        raw = {k: v if isinstance(v, str) else "" for k, v in fields.items()}
        size = sum(len(t) for t in raw.values())
        decided = _content_entry(content, output)
        if decided is not None and decided["action"] != "allow":
            flags = {*flags, f"content_{'blocked' if decided['action'] == 'block' else 'flagged'}"}
        self._index_outputs(evidence)
        if scrubbed is None and defer and self._reserve_pending(size):
            record = self._record(
                route=route, size=size, counts={}, text=None, outcome=outcome, flags=set(flags),
                tenant=tenant, method=method, status=status, service=service, subject=subject,
                session=session, client_ip=client_ip, record_id=record_id, egress=egress,
                content=decided,
            )  # fmt: skip
            pending = PendingInput(record, raw, size)
            queued = self._get_writer().submit(_with(pending, evidence))
            if not queued:
                self._release_pending(size)
            return Receipt(None, {}, record.flags, queued, None, record.record_id)
        result = scrubbed if scrubbed is not None else self.scrub_fields(raw)
        record = self._record(
            route=route, size=size, counts=result.entity_counts, text=result.fields,
            outcome=outcome, flags=set(flags) | result.flags, tenant=tenant, method=method,
            status=status, service=service, subject=subject, session=session,
            client_ip=client_ip, record_id=record_id, egress=egress, content=decided,
        )  # fmt: skip
        queued = self._get_writer().submit(_with(record, evidence))
        return Receipt(
            result.fields, result.replacements, record.flags, queued, result.scope, record.record_id
        )

    def _record(
        self,
        *,
        route: str,
        size: int,
        counts: Mapping[str, int],
        text: Mapping[str, str] | None,
        outcome: Outcome,
        flags: set[str],
        tenant: str | None,
        method: str | None,
        status: int | None,
        service: str | None,
        subject: str | Subject | None,
        session: str | None,
        client_ip: str | None,
        record_id: str | None,
        egress: tuple[Mapping[str, Any], ...] = (),
        content: Mapping[str, Any] | None = None,
    ) -> UsageRecord:
        store = self.settings.policy.store
        now = dt.datetime.now(dt.UTC)
        ring = self.keyring
        who = as_subject(subject)
        return UsageRecord(
            ts=now,
            route=route,
            input_chars=size,
            entity_counts=dict(counts),
            text=text if self.settings.policy.store_text == "scrubbed" else None,
            outcome=outcome,
            policy_version=self.settings.policy.version,
            detector_version=self.pipeline.detector.version,
            legal_basis=store.legal_basis,
            retention_class=store.retention_class,
            expires_at=now + dt.timedelta(days=self.settings.policy.retention_class().max_days),
            tenant=tenant,
            method=method,
            status=status,
            service=service,
            subject_token=_token(ring, "subject", who.id if who else None),
            verified=who.verified if who else None,
            verification_method=self.settings.policy.identity.stored_method(who.method)
            if who
            else None,
            session_token=_token(ring, "session", session),
            client_net=truncate_ip(client_ip),
            flags=frozenset(flags),
            record_id=record_id or uuid.uuid4().hex,
            egress=egress,
            content=content,
        )

    def _reserve_pending(self, size: int) -> bool:
        with self._pending_lock:
            if self._pending_chars + size > self.settings.policy.store.max_pending_chars:
                return False
            self._pending_chars += size
            return True

    def _release_pending(self, size: int) -> None:
        with self._pending_lock:
            self._pending_chars -= size

    @property
    def egress_guard(self) -> EgressGuard:
        """The outbound-call guard built from the policy's ``[egress]`` section."""
        with self._writer_lock:
            if self._guard is None:
                from privlog.egress import EgressGuard

                self._guard = EgressGuard(self)
            return self._guard

    @property
    def content_rules(self) -> ContentRules | None:
        """The ``[content]`` rule file in force (re-read when it changes), if configured."""
        content = self.settings.policy.content
        if content.rules_file is None or self._content_rules is not None:
            return self._content_rules  # no lock on the request path once it is built
        with self._writer_lock:
            if self._content_rules is None:
                from privlog.safety import ContentRules

                self._content_rules = ContentRules(
                    content.rules_file,
                    reload_seconds=content.reload_seconds,
                    max_age_days=content.max_age_days,
                )
            return self._content_rules

    @property
    def flagged_index(self) -> FlaggedIndex:
        """Signatures of flagged outputs, for catching them when they are generated again."""
        index = self._flagged_index
        if index is not None:
            return index
        with self._writer_lock:
            if self._flagged_index is None:
                from privlog.flagged import FlaggedIndex

                self._flagged_index = FlaggedIndex(self._get_keyring)
            return self._flagged_index

    def _index_outputs(self, evidence: Sequence[Evidence]) -> None:
        """Flagged outputs count at once in this process (others learn of them when their
        writer refreshes the index from the register)."""
        from privlog.flagged import NEAR_DUPLICATE_RULE

        for item in evidence:
            if item.signature is None or not item.key_id or not item.entry_ids:
                continue
            # The strictest rule hit stands for the reply. A reply caught only as a copy
            # is not indexed itself: a false match must not spread.
            pairs = [
                (entry_id, hit)
                for entry_id, hit in zip(item.entry_ids, item.decision.hits, strict=True)
                if hit.rule_id != NEAR_DUPLICATE_RULE
            ]
            if not pairs:
                continue
            entry_id, hit = max(pairs, key=lambda p: p[1].action == "block")
            self.flagged_index.add(entry_id, hit.category, item.signature, item.key_id, hit.action)

    def flagged(self, **conditions: Any) -> list[dict[str, Any]]:
        """Entries of the flagged-content register, newest first (up to ``limit``, default
        100); keyword conditions as :class:`privlog.store.register.FlaggedFilter`."""
        from privlog.store import register

        limit = int(conditions.pop("limit", 100))
        with self._store_engine() as engine, engine.connect() as conn:
            rows, _ = register.entry_page(conn, register.FlaggedFilter(**conditions), limit=limit)
        return rows

    def remediate(self, entry_id: str, note: str) -> dict[str, Any]:
        """Mark a register entry remediated, saying what was done; return the entry."""
        from privlog.store import register

        with self._store_engine() as engine:
            return register.remediate(engine, entry_id, note)

    # --- users' requests (for the provider's own account pages) ---------------------------

    def export_subject(self, user_id: str) -> SubjectRequest:
        """Everything kept about ``user_id`` (under every live key); the request is chained
        without the id. Queued records are written first, so none is missed."""
        from privlog.store import subjects

        return self._subject(subjects.export_subject, user_id)

    def erase_subject(self, user_id: str) -> SubjectRequest:
        """Erase the payloads of ``user_id``'s records, except those inside their class's
        legal floor (the request's ``refused`` says until when and why)."""
        from privlog.store import subjects

        return self._subject(subjects.erase_subject, user_id, policy=self.settings.policy)

    def restrict_subject(self, user_id: str) -> SubjectRequest:
        """Keep ``user_id``'s records only until their legal floor, then purge them."""
        from privlog.store import subjects

        return self._subject(subjects.restrict_subject, user_id, policy=self.settings.policy)

    # --- training-use consent and the training export -----------------------------------

    def grant_consent(self, user_id: str, *, source: str = "api") -> ConsentChange:
        """Record ``user_id``'s consent to training use (from ``source``, such as
        "settings-page"): their records from now on carry ``training = true``."""
        from privlog.store import consent

        return self._subject(consent.change, user_id, action="grant", source=source)

    def revoke_consent(self, user_id: str, *, source: str = "api") -> ConsentChange:
        """Withdraw ``user_id``'s training consent: later records are not flagged, and
        earlier ones are marked and never exported again."""
        from privlog.store import consent

        return self._subject(consent.change, user_id, action="revoke", source=source)

    def consent(self, user_id: str) -> ConsentState:
        """``user_id``'s training consent now (granted, since when, from where)."""
        from privlog.store import consent

        return self._subject(consent.state, user_id)

    def export_training(
        self, out: str | os.PathLike[str], *, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        """Write the consented, scrubbed texts to ``out`` and a manifest beside it (see
        :mod:`privlog.training`); return the manifest. Queued records are written first."""
        from privlog import training

        self._flush_first("the export")
        with self._store_engine() as engine:
            return training.export_training(self, engine, out, since=since, until=until)

    def _subject(self, run: Callable[..., _T], user_id: str, **options: Any) -> _T:
        from privlog.store.chain import Signer
        from privlog.store.chainstore import ChainStore

        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id must be the non-empty id the app passes as subject")
        self._flush_first("the request")
        with self._store_engine() as engine:
            store = ChainStore(engine, Signer.for_ring(self.keyring))
            return run(store, self.keyring, user_id, **options)

    def _flush_first(self, what: str) -> None:
        left = self.flush(self.settings.policy.store.flush_timeout)
        if left:
            raise StoreError(
                f"{left} queued records could not be written first; {what} would miss them. "
                "Check the store (privlog stats, logs) and try again"
            )

    @contextlib.contextmanager
    def _store_engine(self) -> Iterator[Engine]:
        from privlog.store.chainstore import ChainStore
        from privlog.store.database import make_engine

        engine = make_engine(self.settings.database_url)
        try:
            ChainStore(engine).ensure_ready()
            yield engine
        finally:
            engine.dispose()

    def check_content(self, text: str, direction: Direction = "input") -> ContentDecision:
        """Which content rules ``text`` (user input or model output) matches and whether to
        flag or block it; "allow" with no rule set configured."""
        from privlog.safety import ContentDecision

        rules = self.content_rules
        if rules is None:
            return ContentDecision("allow", (), None)
        return rules.check(text, direction)

    def subject_tokens(self, subject: str) -> list[str]:
        """Every token ``subject`` may have been stored under (one per live key)."""
        return self.keyring.tokens("subject", subject.encode())

    def flush(self, timeout: float = 2.0) -> int:
        """Write what is queued, waiting up to ``timeout`` seconds; return how many records
        are still not written."""
        writer = self._writer
        return 0 if writer is None else writer.flush(timeout)

    def stats(self) -> dict[str, Any]:
        """``received``, ``written``, ``dropped`` (by reason), ``in_flight`` and more;
        ``received == written + dropped_total + in_flight`` always holds."""
        writer = self._writer
        stats: dict[str, Any] = (
            writer.stats()
            if writer is not None
            else {"received": 0, "written": 0, "dropped": {}, "dropped_total": 0, "in_flight": 0}
        )
        if self._guard is not None:
            stats["egress"] = self._guard.stats()
        return stats

    def close(self, timeout: float | None = None) -> int:
        """Flush (default: the policy's ``flush_timeout``) and stop the writer; return how
        many records could not be written."""
        writer = self._writer
        if writer is None:
            return 0
        left = writer.close(
            self.settings.policy.store.flush_timeout if timeout is None else timeout
        )
        if left:
            log.warning("privlog: %d usage records could not be written before shutdown", left)
        return left

    def _get_writer(self) -> RecordWriter:
        with self._writer_lock:
            if self._writer is None:
                self._writer = self._build_writer()
                _register_shutdown(self)
            return self._writer

    def _build_writer(self) -> RecordWriter:
        from privlog.store.chain import Signer
        from privlog.store.chainstore import ChainStore
        from privlog.store.database import make_engine
        from privlog.store.writer import RecordWriter, WriterSettings

        store_policy = self.settings.policy.store
        url = self.settings.database_url

        def store_factory() -> ChainStore:
            return ChainStore(make_engine(url), Signer.for_ring(self.keyring))

        return RecordWriter(
            store_factory,
            self._prepare,
            tick=self._writer_tick,
            settings=WriterSettings(
                queue_size=store_policy.queue_size,
                batch_size=store_policy.batch_size,
                batch_interval=store_policy.batch_interval,
                purge_interval=store_policy.purge_interval,
            ),
        )

    def _writer_tick(self, store: ChainStore) -> None:
        """Runs on the writer thread between batches: checkpoints follow a key rotation
        (and stop using a retired key), and the flagged-output index learns of outputs
        other processes flagged."""
        ring = self.keyring
        if store.signer is not None and store.signer.key_id != ring.current.kid:
            from privlog.store.chain import Signer

            store.signer = Signer.for_ring(ring)
        self._refresh_index(store)

    def _refresh_index(self, store: ChainStore) -> None:
        content = self.settings.policy.content
        if content.rules_file is None or content.near_duplicate <= 0:
            return
        now = time.monotonic()
        if now - self._index_refreshed < max(content.reload_seconds, 1.0):
            return
        self._index_refreshed = now
        store.ensure_ready()
        with store.engine.connect() as conn:
            self.flagged_index.refresh(conn)

    def _prepare(
        self, batch: Sequence[UsageRecord | PendingInput | WithEvidence]
    ) -> list[Mapping[str, Any]]:
        """Runs on the writer thread: scrub deferred inputs, re-scan scrubbed text at the
        store boundary, and turn each record into its stored columns (and flagged content
        into register entries). The writer runs it as background detection, which gives
        way to requests' (see :mod:`privlog.detect.turns`)."""
        items = [b.item if isinstance(b, WithEvidence) else b for b in batch]
        records: list[UsageRecord] = []
        for item in items:
            if isinstance(item, PendingInput):
                records.append(self._scrub_pending(item))
            else:
                records.append(item)
        # Deferred inputs were scrubbed just now; the rest are re-scanned at the boundary.
        due = [
            i
            for i, record in enumerate(records)
            if record.text and not isinstance(items[i], PendingInput)
        ]
        rescanned = self.pipeline.rescan_fields([records[i].text or {} for i in due])
        for i, (text, hits) in zip(due, rescanned, strict=True):
            records[i] = dataclasses.replace(records[i], text=text, rescan_hits=hits)
        payloads: list[Mapping[str, Any]] = [
            {"kind": "usage", **record.payload()} for record in records
        ]
        for i, entry in enumerate(batch):
            if isinstance(entry, WithEvidence):
                payloads += self._register_rows(entry.evidence, records[i])
        return payloads

    def _register_rows(
        self, evidence: Sequence[Evidence], record: UsageRecord
    ) -> list[dict[str, Any]]:
        from privlog.flagged import register_rows

        rows: list[dict[str, Any]] = []
        for item in evidence:
            try:
                rows += register_rows(
                    item,
                    keyring=self.keyring,
                    scrub=lambda text: self.pipeline.scrub(text).text,
                    remediation_days=self.settings.policy.content.remediation_days,
                    record_id=record.record_id,
                    tenant=record.tenant,
                )
            except Exception as exc:  # the record is still written; its decision names
                # the rules, so the missing entry shows in the report's reconciliation
                log.error("privlog: register entry not written (%s)", type(exc).__name__)
            finally:
                item.text = ""  # the raw text goes as soon as it is fingerprinted
                item.snippets = ()
        return rows

    def _scrub_pending(self, item: PendingInput) -> UsageRecord:
        try:
            result = self.scrub_fields(item.raw)
        finally:
            self._release_pending(item.size)
            item.raw = {}  # the raw text goes as soon as it is scrubbed
        store_text = self.settings.policy.store_text == "scrubbed"
        return dataclasses.replace(
            item.record,
            text=result.fields if store_text else None,
            entity_counts=result.entity_counts,
            flags=item.record.flags | result.flags,
        )


def _mtime(path: os.PathLike[str] | str) -> float | None:
    try:
        return os.stat(path).st_mtime_ns / 1e9
    except OSError:
        return None


def _with(
    item: UsageRecord | PendingInput, evidence: Sequence[Evidence]
) -> UsageRecord | PendingInput | WithEvidence:
    return WithEvidence(item, tuple(evidence)) if evidence else item


def _decision_entry(decision: ContentDecision) -> dict[str, Any]:
    return {
        "action": decision.action,
        "rules": [h.rule_id for h in decision.hits],
        "categories": decision.categories,
        "ruleset_version": decision.ruleset_version,
    }


_SEVERITY = {"allow": 0, "flag": 1, "block": 2}


def _content_entry(
    content: ContentDecision | None, output: ContentDecision | None = None
) -> dict[str, Any] | None:
    """What a record keeps of the content decisions: the input's at the top level (as
    before replies were checked), the reply's under ``output``; never the matched text.
    ``action`` is the stricter of the two."""
    if content is None or content.ruleset_version is None:
        content = None
    if output is None or output.ruleset_version is None:
        output = None
    if content is None and output is None:
        return None
    entry = _decision_entry(content) if content is not None else {}
    if output is not None:
        entry["output"] = _decision_entry(output)
        entry.setdefault("ruleset_version", output.ruleset_version)
        worst = max((entry.get("action", "allow"), output.action), key=_SEVERITY.__getitem__)
        entry["action"] = worst
    return entry


def _token(ring: KeyRing, purpose: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    # An id with a lone surrogate (undecodable bytes from the app) still gets a token of its
    # own, always the same one, instead of an error on the request path.
    return ":".join(ring.token(purpose, value.encode("utf-8", "surrogatepass")))


_LIVE: weakref.WeakSet[Privlog] = weakref.WeakSet()
_LAST: list[weakref.ref[Privlog]] = []  # at most one: the newest instance


def _remember(instance: Privlog) -> None:
    _LAST[:] = [weakref.ref(instance)]


_HOOKS_INSTALLED = threading.Event()
_HOOKS_LOCK = threading.Lock()


def _close_all() -> None:
    for instance in list(_LIVE):
        instance.close()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _close_all()
    # Then die of SIGTERM as the process would have without privlog.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _register_shutdown(instance: Privlog) -> None:
    """Flush on interpreter exit, and on SIGTERM when nothing else handles it (servers such
    as uvicorn and gunicorn install their own handler and shut down through the app)."""
    _LIVE.add(instance)
    with _HOOKS_LOCK:
        if _HOOKS_INSTALLED.is_set():
            return
        _HOOKS_INSTALLED.set()
        atexit.register(_close_all)
        in_main = threading.current_thread() is threading.main_thread()
        if in_main and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
