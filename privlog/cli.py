"""The ``privlog`` command.

Errors go to stderr as one line that names the problem and the fix; they never quote the
input. An unexpected exception prints only its type: its message could hold user text.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import io
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TextIO

from privlog._version import __version__
from privlog.errors import PrivlogError

if TYPE_CHECKING:
    from privlog.core import Privlog

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INTERNAL = 70
_JSONL_BATCH_LINES = 64
_JSONL_BATCH_CHARS = 200_000


def _warn(message: str) -> None:
    print(f"privlog: warning: {message}", file=sys.stderr)


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _warn(f"{what} is not valid UTF-8; undecodable bytes were replaced with U+FFFD")
        return raw.decode("utf-8", errors="replace")


def _privlog() -> Privlog:
    from privlog.core import Privlog

    return Privlog.from_env()


# --- scan ------------------------------------------------------------------------------


def _cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    if args.jsonl is not None:
        return _scan_jsonl(args.jsonl, out, args.workers)
    if args.workers:
        raise PrivlogError("--workers applies to --jsonl only")
    if args.text is not None:
        text = args.text
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            _warn("the argument is not valid UTF-8; undecodable bytes were replaced with U+FFFD")
        trailer = "\n"
    else:
        text = _decode(sys.stdin.buffer.read(), "standard input")
        trailer = ""
    result = _privlog().scan(text)
    if args.json:
        out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        out.write(result.text + trailer)
    return 0


def _jsonl_lines(source: str) -> Iterator[tuple[int, str]]:
    stream: BinaryIO
    if source == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise PrivlogError(f"cannot open {source}: {exc.strerror}") from None
    try:
        for number, raw in enumerate(stream, start=1):
            yield number, _decode(raw.rstrip(b"\r\n"), f"line {number}")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _parse_line(number: int, line: str) -> str | dict[str, object]:
    try:
        obj = json.loads(line)
    except ValueError:
        return {"error": f"line {number}: not valid JSON", "line": number}
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return {"error": f'line {number}: expected an object with a string "text"', "line": number}
    text: str = obj["text"]
    return text


def _batches(lines: Iterator[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    while True:
        batch: list[tuple[int, str]] = []
        chars = 0
        for item in islice(lines, _JSONL_BATCH_LINES):
            batch.append(item)
            chars += len(item[1])
            if chars >= _JSONL_BATCH_CHARS:
                break
        if not batch:
            return
        yield batch


def _scan_jsonl(source: str, out: TextIO, workers: int = 1) -> int:
    privlog = _privlog()
    count = _worker_count(source, workers)
    batches = _batches(_jsonl_lines(source))
    if count <= 1:
        for batch in batches:
            out.write(_scan_lines(batch, privlog))
            out.flush()
        return 0
    # The model is loaded once, here, and the workers are forked from this process, so
    # they share its memory copy-on-write instead of loading it again each.
    privlog.scan("warm up")
    _WORKER[:] = [privlog]
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(count, mp_context=context) as pool:
        pending: collections.deque[concurrent.futures.Future[str]] = collections.deque()
        for batch in batches:
            pending.append(pool.submit(_scan_lines, batch))
            if len(pending) >= 2 * count:  # bounded read-ahead; results keep input order
                out.write(pending.popleft().result())
                out.flush()
        while pending:
            out.write(pending.popleft().result())
            out.flush()
    return 0


_WORKER: list[Privlog] = []  # the forked workers' Privlog, inherited from the parent
_AUTO_WORKERS_FROM_BYTES = 1 << 20


def _worker_count(source: str, workers: int) -> int:
    """``workers`` if given; else every usable core for a file of 1 MB or more (below
    that, starting the processes costs more than it saves), one otherwise."""
    if workers > 0:
        return workers
    if source == "-" or multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        return 1
    try:
        big = os.path.getsize(source) >= _AUTO_WORKERS_FROM_BYTES
    except OSError:
        return 1
    return len(os.sched_getaffinity(0)) if big else 1


def _scan_lines(batch: list[tuple[int, str]], privlog: Privlog | None = None) -> str:
    """One batch of JSONL lines scanned, as the output lines (in a worker or in-process)."""
    engine = privlog or _WORKER[0]
    parsed = [_parse_line(n, line) for n, line in batch]
    texts = [p for p in parsed if isinstance(p, str)]
    results = iter(engine.scan_many(texts))
    lines = []
    for item in parsed:
        obj = next(results).to_json() if isinstance(item, str) else item
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
    return "".join(lines)


# --- eval ------------------------------------------------------------------------------


def _cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from privlog import evaluate

    options = evaluate.Options(
        path=args.file,
        lang=args.lang,
        limit=args.limit,
        baseline=args.baseline,
        group_by=tuple(dict.fromkeys(args.group_by or ())),
    )
    report = evaluate.run(options)
    if args.json:
        out.write(json.dumps(evaluate.to_json(report), ensure_ascii=False) + "\n")
    else:
        out.write(evaluate.format_table(report))
    return 0


# --- keys ------------------------------------------------------------------------------


def _cmd_keys(args: argparse.Namespace, out: TextIO) -> int:
    from privlog.config import Settings
    from privlog.keys import KeyRing

    path = Settings.from_env().key_file
    if args.keys_command == "init":
        ring = KeyRing.init(path)
        out.write(f"created {path} (mode 0600) with key {ring.current.kid}\n")
    elif args.keys_command == "rotate":
        ring = KeyRing.load(path, create=False)
        age = ring.current_age_days()
        if args.if_older is not None and age < args.if_older:
            out.write(
                f"key {ring.current.kid} is {age:.1f} days old (< {args.if_older}); not rotated\n"
            )
            return 0
        key = ring.rotate()
        out.write(f"added key {key.kid} to {path}; it signs from now on, older keys still verify\n")
    elif args.keys_command == "public":
        for kid, public in KeyRing.load(path, create=False).checkpoint_public_keys().items():
            out.write(f"{kid}:{public}\n")
    elif args.keys_command == "retire":
        retired = KeyRing.load(path, create=False).retire(args.kid)
        out.write(
            f"retired {retired.kid}: its secret is destroyed; records it keyed can no longer be "
            "linked to anyone (its checkpoint public key is kept for verification)\n"
        )
        forgotten = _forget_consent(retired.kid)
        if forgotten:
            out.write(f"deleted {forgotten} training-consent rows keyed by {retired.kid}\n")
    else:
        ring = KeyRing.load(path, create=False)
        for key in ring:
            out.write(f"{key.kid}\t{key.created}\n")
        for old in ring.retired:
            out.write(f"{old.kid}\t{old.created}\tretired {old.retired}\n")
    return 0


# --- store ---------------------------------------------------------------------------


@contextlib.contextmanager
def _engine(*, must_exist: bool = False) -> Iterator[Any]:
    from privlog.config import Settings, mask_url
    from privlog.store.database import make_engine, sqlite_path

    url = Settings.from_env().database_url
    path = sqlite_path(url)
    if must_exist and path is not None and not path.exists():
        raise PrivlogError(f"no privlog database at {mask_url(url)} (PRIVLOG_DATABASE_URL)")
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _cmd_db(args: argparse.Namespace, out: TextIO) -> int:
    with _engine() as engine:
        return _db_action(args, engine, out)


def _db_action(args: argparse.Namespace, engine: Any, out: TextIO) -> int:
    from privlog.config import mask_url
    from privlog.store import roles
    from privlog.store.migrate import head_revision, migrate

    where = mask_url(engine.url.render_as_string(hide_password=False))
    if args.db_command == "upgrade":
        migrate(engine)
        out.write(f"privlog tables at revision {head_revision()} on {where}\n")
    elif args.db_command == "grant-auditor":
        roles.grant_auditor(engine, args.role)
        out.write(
            f"role {args.role}: SELECT on privlog tables only (set its password with "
            f"ALTER ROLE {args.role} PASSWORD ...)\n"
        )
    elif args.db_command == "grant-access-log":
        roles.grant_access_log(engine, args.role)
        out.write(f"role {args.role}: INSERT and SELECT on privlog_access_log only\n")
    else:
        roles.grant_writer(engine, args.role)
        out.write(f"role {args.role}: INSERT on records and checkpoints, UPDATE on the head\n")
    return 0


# --- audit -----------------------------------------------------------------------------


def _cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    if args.audit_command == "serve":
        return _audit_serve(args, out)
    from privlog.audit import tokens

    with _engine(must_exist=args.credential_action != "create") as engine:
        if args.credential_action == "create":
            from privlog.store.migrate import migrate

            migrate(engine)
            token = tokens.create_token(
                engine, args.name, tenant=args.tenant, expires_days=args.expires
            )
            scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
            expiry = f"expires in {args.expires} days" if args.expires else "no expiry"
            print(
                f"auditor token {args.name!r} ({scope}, {expiry}); shown once, store it now:",
                file=sys.stderr,
            )
            out.write(f"{token}\n")
        elif args.credential_action == "list":
            out.write("id\tname\ttenant\tcreated\texpires\trevoked\n")
            for row in tokens.list_tokens(engine):
                cells = (row[k] or "-" for k in tokens.LISTED)
                out.write("\t".join(cells) + "\n")
        else:
            count = tokens.revoke_token(engine, args.token)
            out.write(f"revoked {count} token{'s' if count != 1 else ''}\n")
    return 0


def _audit_serve(args: argparse.Namespace, out: TextIO) -> int:
    try:
        import uvicorn

        from privlog.audit.app import create_app
    except ImportError:  # pragma: no cover - without the fastapi extra
        raise PrivlogError("privlog audit serve needs: pip install 'privlog[demo]'") from None
    app = create_app()
    out.write(f"privlog auditor API and dashboard on http://{args.host}:{args.port}/\n")
    out.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _trusted_keys(args: argparse.Namespace) -> dict[str, str] | None:
    from privlog.config import Settings
    from privlog.keys import KeyRing

    if args.public_key:
        kid, _, key = args.public_key.partition(":")
        if not key:
            raise PrivlogError("--public-key takes KID:HEX, as printed by `privlog keys public`")
        return {kid: key}
    return KeyRing.trusted_keys(Settings.from_env().key_file)


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from sqlalchemy import inspect

    from privlog.audit.accesslog import verify_log
    from privlog.audit.connections import read_engine
    from privlog.config import Settings
    from privlog.store.reader import verify_chain
    from privlog.store.schema import access_log

    trusted = _trusted_keys(args)
    if args.checkpoints and trusted is None:
        raise PrivlogError(
            "--checkpoints needs the checkpoint public key to check their signatures: pass "
            "--public-key KID:HEX (from `privlog keys public`) or set PRIVLOG_KEY_FILE"
        )
    witnessed = [w for path in args.checkpoints for w in _witnessed(path, trusted)]
    # Read-only, like the auditor API: PRIVLOG_AUDIT_DATABASE_URL (a SELECT-only role) if
    # set, and a SQLite file opened with mode=ro, so a copy on read-only media verifies.
    engine = read_engine(Settings.from_env())
    try:
        with engine.connect() as conn:
            report = verify_chain(conn, trusted, witnessed=witnessed)
            has_log = inspect(conn).has_table(access_log.name)
            log = verify_log(conn) if has_log else None
    finally:
        engine.dispose()
    if trusted is None:
        print(
            "privlog: warning: no key file or --public-key; checkpoints were checked against "
            "the public keys stored beside them",
            file=sys.stderr,
        )
    out.write(f"{report}\n")
    if log is not None:
        problem = log["problem"]
        out.write(
            f"access log intact: {log['entries']} entries\n"
            if log["ok"]
            else f"access log BROKEN at entry {problem['seq']}: {problem['reason']}\n"
        )
    return 0 if report.ok and (log is None or log["ok"]) else 1


def _witnessed(path: str, trusted: dict[str, str] | None) -> list[Any]:
    """The checkpoints in ``path``: the JSON of ``GET /v1/checkpoints`` (an object with a
    ``checkpoints`` list) or a plain list of checkpoint objects. Each must be validly
    signed, or it proves nothing and the command stops (exit 2)."""
    from privlog.store.reader import Witnessed

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PrivlogError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise PrivlogError(f"{path} is not JSON; save the body of GET /v1/checkpoints") from None
    items = document.get("checkpoints") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise PrivlogError(
            f'{path}: expected a list of checkpoints, or an object with "checkpoints"'
        )
    fields = ("seq", "ts", "entry_hash", "key_id", "public_key", "signature")
    found = []
    for number, item in enumerate(items, start=1):
        if (
            not isinstance(item, dict)
            or not all(isinstance(item.get(f), int if f == "seq" else str) for f in fields)
            or isinstance(item["seq"], bool)
        ):
            raise PrivlogError(f"{path}: checkpoint {number} needs {', '.join(fields)}")
        mark = Witnessed(**{f: item[f] for f in fields}, source=path)
        if not mark.signed_by(trusted):
            raise PrivlogError(
                f"{path}: the checkpoint for seq {mark.seq} is not validly signed by "
                f"{'a trusted key' if trusted is not None else 'the key it names'}; "
                "it proves nothing about the chain"
            )
        found.append(mark)
    return found


def _store_for_cli(engine: Any) -> tuple[Any, Any]:
    """The key ring (it must exist: records are found by keyed tokens) and a chain store
    that signs checkpoints with its newest key."""
    from privlog.config import Settings
    from privlog.keys import KeyRing
    from privlog.store.chain import Signer
    from privlog.store.chainstore import ChainStore

    ring = KeyRing.load(Settings.from_env().key_file, create=False)
    return ring, ChainStore(engine, Signer.for_ring(ring), auto_migrate=False)


def _forget_consent(kid: str) -> int:
    """Consent rows keyed by a retired key would link its records to their subject again."""
    from privlog.config import Settings
    from privlog.store import consent
    from privlog.store.database import sqlite_path

    path = sqlite_path(Settings.from_env().database_url)
    if path is not None and not path.exists():
        return 0  # no store here yet: nothing was keyed
    with _engine() as engine:
        return consent.forget_key(engine, kid)


def _cmd_consent(args: argparse.Namespace, out: TextIO) -> int:
    from privlog.store import consent

    with _engine(must_exist=True) as engine:
        ring, store = _store_for_cli(engine)
        if args.consent_action == "show":
            state = consent.state(store, ring, args.user_id)
            out.write(json.dumps(state.as_dict(), indent=2, sort_keys=True) + "\n")
            return 0
        done = consent.change(store, ring, args.user_id, args.consent_action, source=args.source)
    if done.action == "grant":
        out.write(f"request {done.request_id}: training consent granted at {done.at}\n")
    else:
        out.write(
            f"request {done.request_id}: training consent revoked at {done.at}; "
            f"{done.records_marked} earlier records marked, never exported again\n"
        )
    return 0


def _cmd_export_training(args: argparse.Namespace, out: TextIO) -> int:
    from privlog.core import Privlog
    from privlog.training import manifest_path

    with _engine(must_exist=True):
        pass  # a clear error for a missing database before the model loads
    pl = Privlog.from_env()
    try:
        manifest = pl.export_training(args.out, since=args.since, until=args.until)
    finally:
        pl.close()
    excluded = ", ".join(f"{n} {why}" for why, n in manifest["excluded"].items()) or "none"
    out.write(
        f"wrote {manifest['records']} records to {args.out} (sha256 {manifest['sha256']}); "
        f"left out: {excluded}; manifest: {manifest_path(Path(args.out))}\n"
    )
    return 0


def _cmd_subject(args: argparse.Namespace, out: TextIO) -> int:
    from privlog.store import subjects

    with _engine(must_exist=True) as engine:
        ring, store = _store_for_cli(engine)
        if args.subject_action == "export":
            request = subjects.export_subject(store, ring, args.user_id)
        elif args.subject_action == "restrict":
            from privlog.config import Settings

            policy = Settings.from_env().policy
            request = subjects.restrict_subject(store, ring, args.user_id, policy=policy)
        else:
            from privlog.config import Settings

            policy = Settings.from_env().policy
            request = subjects.erase_subject(store, ring, args.user_id, policy=policy)
    document = json.dumps(request.as_dict(), ensure_ascii=False, indent=2, sort_keys=True)
    if getattr(args, "out", None):
        Path(args.out).write_text(document + "\n", encoding="utf-8")
        out.write(
            f"request {request.request_id}: {request.records} records written to {args.out}\n"
        )
    elif args.subject_action == "export":
        out.write(document + "\n")
    elif args.subject_action == "restrict":
        out.write(
            f"request {request.request_id}: restricted {request.records} records (kept only "
            "until their legal floor, then purged)\n"
        )
    else:
        out.write(f"request {request.request_id}: erased {request.records} records\n")
        for refusal in request.refused:
            out.write(
                f"  kept {refusal['records']} until {refusal['until']}: {refusal['reason']}\n"
            )
    return 0


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:

    from privlog.audit.connections import read_engine
    from privlog.audit.report import build_report, render_html
    from privlog.config import Settings

    settings = Settings.from_env()
    engine = read_engine(settings)  # read-only, like the auditor API
    try:
        with engine.connect() as conn:
            report = build_report(conn, settings, since=args.since, until=args.until)
    finally:
        engine.dispose()
    if args.format == "json":
        document = json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    else:
        document = render_html(report)
    Path(args.out).write_text(document, encoding="utf-8")
    state = "intact" if report["chain"]["ok"] else "BROKEN"
    out.write(f"evidence report ({args.format}) written to {args.out}; chain {state}\n")
    return 0 if report["chain"]["ok"] else 1


def _cmd_purge(args: argparse.Namespace, out: TextIO) -> int:
    from privlog.config import Settings
    from privlog.keys import KeyRing
    from privlog.store import erasure
    from privlog.store.chain import Signer
    from privlog.store.chainstore import ChainStore
    from privlog.store.schema import now_iso

    settings = Settings.from_env()
    signer = None
    if settings.key_file.exists():
        signer = Signer.for_ring(KeyRing.load(settings.key_file, create=False))
    with _engine(must_exist=True) as engine:
        store = ChainStore(engine, signer, auto_migrate=False)
        if args.dry_run:
            before = now_iso()
            with engine.connect() as conn:
                count = len(erasure.expired(conn, before, limit=10**9))
            out.write(f"would erase {count} expired records (expiry before {before})\n")
            return 0
        report = store.purge()
        verified = store.verify()
    out.write(f"{report}\n{verified}\n")
    return 0 if verified.ok else 1


# --- demo ------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from privlog import demo
    except ImportError:  # pragma: no cover - without the demo extra
        raise PrivlogError("privlog demo needs: pip install 'privlog[demo]'") from None
    return demo.run(once=args.once, out=out)


# --- entry point -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="privlog",
        description="Privacy-preserving input logging for generative-AI services.",
    )
    parser.add_argument("--version", action="version", version=f"privlog {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    scan = sub.add_parser(
        "scan",
        help="scrub text and print the result",
        description="Scrub TEXT (or standard input) and print the scrubbed text.",
    )
    scan.add_argument("text", nargs="?", metavar="TEXT", help="text to scrub (default: stdin)")
    mode = scan.add_mutually_exclusive_group()
    mode.add_argument(
        "--json",
        action="store_true",
        help='print {"text": scrubbed, "findings": [...]}; offsets index the input as given',
    )
    mode.add_argument(
        "--jsonl",
        nargs="?",
        const="-",
        metavar="FILE",
        help='read one {"text": ...} object per line from FILE (default stdin), write one '
        "result per line; streams in batches",
    )
    scan.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="with --jsonl: N worker processes (default: every usable core for a file of "
        "1 MB or more, else 1); output keeps the input's order",
    )
    scan.set_defaults(func=_cmd_scan)

    keys = sub.add_parser("keys", help="manage the pseudonym key ring (PRIVLOG_KEY_FILE)")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    keys_sub.required = True
    keys_sub.add_parser("init", help="create the key file (mode 0600) with a first key")
    rotate = keys_sub.add_parser("rotate", help="add a new key that signs from now on")
    rotate.add_argument(
        "--if-older",
        type=float,
        metavar="DAYS",
        help="only if the newest key is at least DAYS old (for a daily scheduler: monthly "
        "epochs with --if-older 30)",
    )
    keys_sub.add_parser("list", help="list key ids and creation times (never the keys)")
    keys_sub.add_parser(
        "public", help="print the checkpoint public keys (KID:HEX) for auditors to pin"
    )
    retire = keys_sub.add_parser(
        "retire",
        help="destroy an old key (crypto-shredding): what it keyed can no longer be linked",
    )
    retire.add_argument("kid", metavar="KID")
    keys.set_defaults(func=_cmd_keys)

    db = sub.add_parser("db", help="manage the usage-record store (PRIVLOG_DATABASE_URL)")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.required = True
    db_sub.add_parser("upgrade", help="apply privlog's migrations")
    for name, text in (
        ("grant-auditor", "create a PostgreSQL role that may only read privlog's tables"),
        ("grant-access-log", "create a PostgreSQL role that may only append to the access log"),
        ("grant-writer", "create a PostgreSQL role with just what the record writer needs"),
    ):
        grant = db_sub.add_parser(name, help=text)
        grant.add_argument("role", metavar="ROLE")
    db.set_defaults(func=_cmd_db)

    _eval_parser(sub)
    _audit_parser(sub)
    _content_parser(sub)

    _compliance_parsers(sub)

    verify = sub.add_parser(
        "verify",
        help="verify the hash chain: exit 0 if intact, 1 naming the first bad record",
    )
    verify.add_argument(
        "--public-key",
        metavar="KID:HEX",
        help="the checkpoint public key to trust (default: derived from PRIVLOG_KEY_FILE)",
    )
    verify.add_argument(
        "--checkpoints",
        metavar="FILE",
        action="append",
        default=[],
        help="signed checkpoints a reader kept (the body of GET /v1/checkpoints, every page "
        "saved; it is paged, 100 by default) or got from another reader; each must match the "
        "chain. Needs the public key (--public-key or PRIVLOG_KEY_FILE). Repeatable",
    )
    verify.set_defaults(func=_cmd_verify)

    demo = sub.add_parser(
        "demo", help="run a chat app behind privlog on loopback and show what it records"
    )
    demo.add_argument(
        "--once", action="store_true", help="exit after the sample requests (default: keep serving)"
    )
    demo.set_defaults(func=_cmd_demo)
    return parser


def _eval_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="score detection against a labelled JSONL file (numbers only, never text)",
        description='Score privlog\'s detection against FILE: one {"text", "spans": [{"start", '
        '"end", "label"}]} object per line. Prints leak recall, typed precision/recall/F1, '
        "the share of span-free records changed, and throughput; never record text.",
    )
    ev.add_argument("file", metavar="FILE", help="labelled JSON lines")
    ev.add_argument(
        "--baseline", choices=["presidio"], help="also score plain Presidio on the same model"
    )
    ev.add_argument(
        "--group-by",
        action="append",
        choices=["lang", "category", "form", "source"],
        help="leak recall and changed share per value of this record field (repeatable)",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object instead")
    ev.add_argument("--limit", type=int, metavar="N", help="score only the first N records")
    ev.add_argument("--lang", choices=["en", "zh"], help="score only records of this language")
    ev.set_defaults(func=_cmd_eval)


def _compliance_parsers(sub: Any) -> None:
    """`subject`, `report` and `purge`."""
    subject = sub.add_parser(
        "subject", help="users' rights: export or erase what is kept about one user"
    )
    subject_sub = subject.add_subparsers(dest="subject_action", metavar="ACTION")
    subject_sub.required = True
    export = subject_sub.add_parser(
        "export", help="print (or --out) every record kept about the user, as JSON"
    )
    export.add_argument("--user-id", required=True, help="the id the app passes as subject")
    export.add_argument("--out", metavar="FILE", help="write the JSON to FILE")
    erase = subject_sub.add_parser(
        "erase", help="erase the payloads of every record of the user (chained, verifiable)"
    )
    erase.add_argument("--user-id", required=True, help="the id the app passes as subject")
    restrict = subject_sub.add_parser(
        "restrict", help="keep the user's records only until their legal floor, then purge"
    )
    restrict.add_argument("--user-id", required=True, help="the id the app passes as subject")
    subject.set_defaults(func=_cmd_subject)

    consent = sub.add_parser(
        "consent", help="training-use consent per user: grant, revoke or show (opt-in)"
    )
    consent_sub = consent.add_subparsers(dest="consent_action", metavar="ACTION")
    consent_sub.required = True
    for name, text in (
        ("grant", "record the user's consent to training use of their records from now on"),
        ("revoke", "withdraw it: later records are not used, earlier ones are marked"),
        ("show", "print the user's consent now (granted, since, source)"),
    ):
        action = consent_sub.add_parser(name, help=text)
        action.add_argument("--user-id", required=True, help="the id the app passes as subject")
        if name != "show":
            action.add_argument(
                "--source",
                default="cli",
                help="where consent was given or withdrawn, such as settings-page (default: cli)",
            )
    consent.set_defaults(func=_cmd_consent)

    export_training = sub.add_parser(
        "export-training",
        help="write the scrubbed texts of consenting users' records, re-scanned, and a manifest",
    )
    export_training.add_argument(
        "--out", required=True, metavar="FILE", help="the JSON-lines file to write"
    )
    export_training.add_argument("--since", metavar="ISO", help="period start (ISO 8601 UTC)")
    export_training.add_argument("--until", metavar="ISO", help="period end, exclusive")
    export_training.set_defaults(func=_cmd_export_training)

    report = sub.add_parser(
        "report",
        help="write the evidence report: configuration, counts, chain check, key epochs, "
        "controls and clauses",
    )
    report.add_argument("--format", choices=("html", "json"), default="html")
    report.add_argument("--out", required=True, metavar="FILE", help="where to write it")
    report.add_argument("--since", metavar="ISO", help="period start (ISO 8601 UTC)")
    report.add_argument("--until", metavar="ISO", help="period end, exclusive")
    report.set_defaults(func=_cmd_report)

    purge = sub.add_parser(
        "purge",
        help="erase the payloads of records whose retention has expired (chained, verifiable)",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="count what would be erased, erase nothing"
    )
    purge.set_defaults(func=_cmd_purge)


def _content_parser(sub: Any) -> None:
    content = sub.add_parser(
        "content", help="the flagged-content register: list entries, mark them remediated"
    )
    content_sub = content.add_subparsers(dest="content_action", metavar="ACTION")
    content_sub.required = True
    listing = content_sub.add_parser(
        "list", help="register entries, newest first (overdue ones marked)"
    )
    listing.add_argument(
        "--status",
        choices=("open", "overdue", "remediated", "all"),
        default="open",
        help="which entries (default: open)",
    )
    listing.add_argument("--category", help="only this category")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    fix = content_sub.add_parser("remediate", help="mark an open entry remediated")
    fix.add_argument("entry_id", metavar="ENTRY_ID")
    fix.add_argument("--note", required=True, help="what was done (kept with the entry)")
    check = content_sub.add_parser(
        "check", help="check TEXT (or stdin) against the rule file; print the decision"
    )
    check.add_argument("text", nargs="?", metavar="TEXT")
    check.add_argument("--direction", choices=("input", "output"), default="input")
    content.set_defaults(func=_cmd_content)


_REGISTER_STATUS: dict[str, Literal["open", "remediated"] | None] = {
    "open": "open",
    "overdue": "open",
    "remediated": "remediated",
    "all": None,
}


def _cmd_content(args: argparse.Namespace, out: TextIO) -> int:
    from privlog.store import register
    from privlog.store.schema import now_iso

    if args.content_action == "check":
        return _content_check(args, out)
    with _engine(must_exist=True) as engine:
        _store_for_cli(engine)[1].ensure_ready()
        if args.content_action == "remediate":
            entry = register.remediate(engine, args.entry_id, args.note)
            out.write(f"entry {entry['id']} remediated at {entry['remediated_at']}\n")
            return 0
        if not 1 <= args.limit <= 10_000:
            raise PrivlogError("--limit must be between 1 and 10000")
        where = register.FlaggedFilter(
            status=_REGISTER_STATUS[args.status],
            overdue=True if args.status == "overdue" else None,
            category=args.category,
        )
        now = now_iso()
        with engine.connect() as conn:
            rows, _ = register.entry_page(conn, where, limit=args.limit, now=now)
            totals = register.counts(conn, register.FlaggedFilter(), now)
    for row in rows:
        if args.json:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            continue
        late = " OVERDUE" if row["overdue"] else ""
        link = f" copy of {row['related_to']}" if row["related_to"] else ""
        out.write(
            f"{row['id']}  {row['discovered_at'][:19]}  {row['direction']:6}  "
            f"{row['category']}/{row['rule_id']} {row['action']}{link}  "
            f"{row['status']} (due {row['remediation_due'][:10]}){late}\n"
            f"    {row['excerpt']}\n"
        )
    if not args.json:
        out.write(
            f"register: {totals['open']} open ({totals['overdue']} overdue), "
            f"{totals['remediated']} remediated\n"
        )
    return 0


def _content_check(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 allow, 3 flag, 4 block: a rule file can be tested before it is deployed."""
    from privlog.config import Settings
    from privlog.safety import ContentRules

    rules_file = Settings.from_env().policy.content.rules_file
    if rules_file is None:
        raise PrivlogError("no rule file: set [content] rules_file in the policy (PRIVLOG_CONFIG)")
    text = args.text if args.text is not None else sys.stdin.read()
    decision = ContentRules(rules_file).check(text, args.direction)
    out.write(
        json.dumps(
            {
                "action": decision.action,
                "rules": [h.rule_id for h in decision.hits],
                "categories": decision.categories,
                "ruleset_version": decision.ruleset_version,
            },
            sort_keys=True,
        )
        + "\n"
    )
    return {"allow": 0, "flag": 3, "block": 4}[decision.action]


def _audit_parser(sub: Any) -> None:
    audit = sub.add_parser("audit", help="the read-only auditor API, dashboard and tokens")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    audit_sub.required = True
    serve = audit_sub.add_parser(
        "serve",
        help="run the auditor API and dashboard (refuses to start if its connection can write)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8471, help="port (default 8471)")
    token = audit_sub.add_parser("token", help="create, list and revoke auditor tokens")
    token_sub = token.add_subparsers(dest="credential_action", metavar="ACTION")
    token_sub.required = True
    create = token_sub.add_parser("create", help="print a new bearer token (stored hashed)")
    create.add_argument("--name", required=True, help="who holds the token (shown in the log)")
    create.add_argument("--tenant", help="limit the token to one tenant's records")
    create.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days")
    token_sub.add_parser("list", help="list tokens (never the secrets)")
    revoke = token_sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("token", metavar="NAME_OR_ID")
    audit.set_defaults(func=_cmd_audit)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "scan" and args.jsonl is not None and args.text is not None:
        parser.error("give TEXT or --jsonl FILE, not both")
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(encoding="utf-8", errors="replace")
    try:
        code: int = args.func(args, out)
    except PrivlogError as exc:
        print(f"privlog: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the message could quote user input, so it is not shown
        if type(exc).__module__.startswith("sqlalchemy"):
            inner = getattr(exc, "orig", None)
            kind = type(inner or exc).__name__
            print(
                f"privlog: error: the database refused the operation ({kind}); check "
                "PRIVLOG_DATABASE_URL and run `privlog db upgrade`",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(
            f"privlog: internal error ({type(exc).__name__}); details are withheld because "
            "they could contain the input. Please report it with the privlog version.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
