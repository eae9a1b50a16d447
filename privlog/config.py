"""Settings: environment variables (``PRIVLOG_*``) plus an optional TOML policy file.

Unknown keys are errors, not silently ignored: a misspelt ``store_txt = "none"`` in a
privacy policy must stop the process, not quietly keep storing text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from privlog.body import DEFAULT_MAX_INSPECT_BYTES
from privlog.detect.settings import DEFAULT_ENTITIES, DEFAULT_MODEL, DetectionSettings
from privlog.errors import ConfigError, InvalidSubject
from privlog.extract import DEFAULT_SELECTORS, ExtractionPolicy
from privlog.identity import IdentityPolicy, Subject

__all__ = ["HttpPolicy", "Policy", "Settings", "StorePolicy", "mask_url"]

StoreText = Literal["scrubbed", "none"]

ENV_DATABASE_URL = "PRIVLOG_DATABASE_URL"
ENV_KEY_FILE = "PRIVLOG_KEY_FILE"
ENV_CONFIG = "PRIVLOG_CONFIG"
ENV_AUDIT_DATABASE_URL = "PRIVLOG_AUDIT_DATABASE_URL"
ENV_AUDIT_LOG_DATABASE_URL = "PRIVLOG_AUDIT_LOG_DATABASE_URL"

_TOP_KEYS = {
    "store_text",
    "detection",
    "operators",
    "egress",
    "store",
    "http",
    "retention",
    "content",
    "identity",
}
_IDENTITY_KEYS = {"require_verified_identity", "accepted_methods"}
_CONTENT_KEYS = {
    "rules_file",
    "reload_seconds",
    "max_age_days",
    "remediation_days",
    "output_window",
    "near_duplicate",
    "near_duplicate_action",
}
_RETENTION_CLASS_KEYS = {"min_days", "max_days"}
_HTTP_KEYS = {
    "max_inspect_bytes",
    "block_on",
    "record_header",
    "session_header",
    "tenant_header",
    "selectors",
    "routes",
    "include",
    "exclude",
    "query_params",
    "form_fields",
}
_STORE_KEYS = {
    "legal_basis",
    "retention_class",
    "retention_days",
    "queue_size",
    "batch_size",
    "batch_interval",
    "flush_timeout",
    "purge_interval",
    "max_pending_chars",
}
_DETECTION_KEYS = {
    "model",
    "score_threshold",
    "entities",
    "extra_entities",
    "phone_regions",
    "chunk_chars",
    "batch_size",
    "allow",
    "allow_patterns",
    "deadline",
}


@dataclass(frozen=True)
class StorePolicy:
    """How usage records are labelled and written (``[store]`` in the policy file)."""

    legal_basis: str = "legal_obligation"
    retention_class: str = "usage"
    retention_days: int = 180
    queue_size: int = 10_000
    batch_size: int = 500
    batch_interval: float = 1.0
    flush_timeout: float = 2.0
    # Seconds between purges of expired records by the writer thread; 0: never (run
    # `privlog purge` from a scheduler instead).
    purge_interval: float = 0.0
    # Raw text waiting in memory for deferred detection, at most; beyond it, inline.
    max_pending_chars: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class HttpPolicy:
    """How the web adapters read requests (``[http]`` in the policy file)."""

    max_inspect_bytes: int = DEFAULT_MAX_INSPECT_BYTES
    block_on: tuple[str, ...] = ()
    record_header: bool = True
    session_header: str = "x-session-id"
    tenant_header: str | None = None
    extraction: ExtractionPolicy = field(default_factory=ExtractionPolicy)


@dataclass(frozen=True)
class ContentPolicy:
    """Illegal-content rules (``[content]``): the rule file, how often it is re-read, and
    after how many days without a change it shows as stale (0: never)."""

    rules_file: Path | None = None
    reload_seconds: float = 5.0
    max_age_days: int = 0
    # A register entry's deadline for remediation, in days from its discovery.
    remediation_days: int = 90
    # Characters of a streamed reply held back before release, so a rule match that spans
    # pieces is caught before any of it is sent (at least twice the longest keyword).
    output_window: int = 64
    # Estimated similarity (0-1) at which an output counts as a regenerated copy of a
    # flagged one, and what then happens; 0 turns the check off.
    near_duplicate: float = 0.5
    near_duplicate_action: Literal["flag", "block"] = "block"


@dataclass(frozen=True)
class RetentionClass:
    """How long a class of records is kept: at least ``min_days`` (a legal floor: a user's
    erasure request does not shorten it) and at most ``max_days`` (then it is purged)."""

    name: str
    min_days: int
    max_days: int


@dataclass(frozen=True)
class Policy:
    """What to detect, how to replace it, and what may be stored."""

    store_text: StoreText = "scrubbed"
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    operators: Mapping[str, str] = field(default_factory=dict)
    default_operator: str = "placeholder"
    egress: Mapping[str, Any] = field(default_factory=dict)
    store: StorePolicy = field(default_factory=StorePolicy)
    http: HttpPolicy = field(default_factory=HttpPolicy)
    retention: tuple[RetentionClass, ...] = ()
    content: ContentPolicy = field(default_factory=ContentPolicy)
    identity: IdentityPolicy = field(default_factory=IdentityPolicy)
    version: str = "default"

    def retention_class(self, name: str | None = None) -> RetentionClass:
        """The class ``name`` (default: the store's). A class not in ``[retention]`` is
        kept between 0 and ``[store] retention_days`` days."""
        name = name or self.store.retention_class
        for cls in self.retention:
            if cls.name == name:
                return cls
        return RetentionClass(name, 0, self.store.retention_days)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Policy:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"policy file {path} (PRIVLOG_CONFIG) does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"policy file {path} is not valid TOML: {exc}") from None
        policy = cls.from_mapping(data, source=str(path))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return dataclasses.replace(policy, version=f"sha256:{digest}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "policy") -> Policy:
        _reject_unknown(data, _TOP_KEYS, source)
        store_text = data.get("store_text", "scrubbed")
        if store_text not in ("scrubbed", "none"):
            raise ConfigError(f'{source}: store_text must be "scrubbed" or "none"')
        operators = dict(_table(data, "operators", source))
        default_operator = str(operators.pop("default", "placeholder"))
        egress = _table(data, "egress", source)
        store = _store(_table(data, "store", source), source)
        retention = _retention(_table(data, "retention", source), source)
        if retention and store.retention_class not in {c.name for c in retention}:
            raise ConfigError(
                f"{source}: [store] retention_class {store.retention_class!r} is not one of "
                f"the [retention.classes]: {', '.join(c.name for c in retention)}"
            )
        return cls(
            store_text=store_text,
            detection=_detection(_table(data, "detection", source), source),
            operators={str(k): str(v) for k, v in operators.items()},
            default_operator=default_operator,
            egress=dict(egress),
            store=store,
            http=_http(_table(data, "http", source), source),
            retention=retention,
            content=_content(_table(data, "content", source), source),
            identity=_identity(_table(data, "identity", source), source),
        )


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for reprs, logs and error messages)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Settings:
    """Everything privlog needs to run: where to store, where the keys are, the policy.

    Its repr masks the database password.
    """

    database_url: str = "sqlite:///privlog.db"
    key_file: Path = Path("privlog.keys")
    config_file: Path | None = None
    policy: Policy = field(default_factory=Policy)
    # The auditor API's two connections (PostgreSQL: the roles made by `privlog db
    # grant-auditor` and `grant-access-log`); unset, they derive from database_url.
    audit_database_url: str | None = None
    audit_log_database_url: str | None = None

    def __repr__(self) -> str:
        return (
            f"Settings(database_url={mask_url(self.database_url)!r}, "
            f"key_file={str(self.key_file)!r}, config_file={self.config_file!r}, "
            f"policy={self.policy!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        config_file = env.get(ENV_CONFIG) or None
        policy = Policy.from_toml(config_file) if config_file else Policy()
        return cls(
            database_url=env.get(ENV_DATABASE_URL) or "sqlite:///privlog.db",
            key_file=Path(env.get(ENV_KEY_FILE) or "privlog.keys"),
            config_file=Path(config_file) if config_file else None,
            policy=policy,
            audit_database_url=env.get(ENV_AUDIT_DATABASE_URL) or None,
            audit_log_database_url=env.get(ENV_AUDIT_LOG_DATABASE_URL) or None,
        )


def _reject_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}"
        )


def _table(data: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return value


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _detection(data: Mapping[str, Any], source: str) -> DetectionSettings:
    where = f"{source}: [detection]"
    _reject_unknown(data, _DETECTION_KEYS, where)
    defaults = DetectionSettings()
    model = data.get("model", DEFAULT_MODEL)
    if model in ("", "none", False):
        model = None
    elif not isinstance(model, str):
        raise ConfigError(f'{where} model must be a package name, or "none" for rules only')
    threshold = data.get("score_threshold", defaults.score_threshold)
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"{where} score_threshold must be a number between 0 and 1")
    entities = _str_tuple(data.get("entities", list(DEFAULT_ENTITIES)), f"{where} entities")
    extra = _str_tuple(data.get("extra_entities", []), f"{where} extra_entities")
    regions = _str_tuple(
        data.get("phone_regions", list(defaults.phone_regions)), f"{where} phone_regions"
    )
    ints = {}
    for key in ("chunk_chars", "batch_size"):
        value = data.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where} {key} must be a positive integer")
        ints[key] = value
    limit = data.get("deadline", defaults.deadline)
    if limit is not None and (
        not isinstance(limit, int | float) or isinstance(limit, bool) or limit <= 0
    ):
        raise ConfigError(f"{where} deadline must be a positive number of seconds")
    return DetectionSettings(
        model=model,
        deadline=None if limit is None else float(limit),
        score_threshold=float(threshold),
        entities=tuple(dict.fromkeys(entities + extra)),
        phone_regions=tuple(r.upper() for r in regions),
        chunk_chars=ints["chunk_chars"],
        batch_size=ints["batch_size"],
        allow=tuple(t for t in _str_tuple(data.get("allow", []), f"{where} allow") if t.strip()),
        allow_patterns=_patterns(data.get("allow_patterns", []), f"{where} allow_patterns"),
    )


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    patterns = _str_tuple(value, where)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"{where}: {pattern!r} is not a valid regular expression ({exc})"
            ) from None
    return patterns


def _content(data: Mapping[str, Any], source: str) -> ContentPolicy:
    where = f"{source}: [content]"
    _reject_unknown(data, _CONTENT_KEYS, where)
    rules_file = data.get("rules_file")
    if rules_file is not None and (not isinstance(rules_file, str) or not rules_file):
        raise ConfigError(f"{where} rules_file must be a path")
    reload_seconds = data.get("reload_seconds", 5.0)
    if not isinstance(reload_seconds, int | float) or isinstance(reload_seconds, bool):
        raise ConfigError(f"{where} reload_seconds must be a number of seconds")
    max_age = data.get("max_age_days", 0)
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
        raise ConfigError(f"{where} max_age_days must be 0 (never stale) or a number of days")
    days = data.get("remediation_days", 90)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ConfigError(f"{where} remediation_days must be a whole number of days, at least 1")
    window = data.get("output_window", 64)
    if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 65_536:
        raise ConfigError(f"{where} output_window must be 0-65536 characters")
    near = data.get("near_duplicate", 0.5)
    if not isinstance(near, int | float) or isinstance(near, bool) or not 0 <= near <= 1:
        raise ConfigError(f"{where} near_duplicate must be a similarity from 0 (off) to 1")
    near_action = data.get("near_duplicate_action", "block")
    if near_action not in ("flag", "block"):
        raise ConfigError(f'{where} near_duplicate_action must be "flag" or "block"')
    return ContentPolicy(
        rules_file=Path(rules_file) if rules_file else None,
        reload_seconds=max(0.0, float(reload_seconds)),
        max_age_days=max_age,
        remediation_days=days,
        output_window=window,
        near_duplicate=float(near),
        near_duplicate_action=near_action,
    )


def _identity(data: Mapping[str, Any], source: str) -> IdentityPolicy:
    where = f"{source}: [identity]"
    _reject_unknown(data, _IDENTITY_KEYS, where)
    required = data.get("require_verified_identity", False)
    if isinstance(required, bool):
        routes: tuple[str, ...] = ("*",) if required else ()
    elif isinstance(required, list) and all(isinstance(r, str) and r for r in required):
        routes = tuple(required)
    else:
        raise ConfigError(
            f"{where} require_verified_identity must be true, false or a list of route "
            f'patterns such as ["/v1/*"]'
        )
    methods = _str_tuple(data.get("accepted_methods", []), f"{where} accepted_methods")
    for method in methods:
        try:
            Subject("x", verified=True, method=method)
        except InvalidSubject:
            raise ConfigError(
                f"{where} accepted_methods: {method!r} is not a method name (lower-case "
                "letters, '_', '-' or '.', no digits)"
            ) from None
    return IdentityPolicy(require_verified_identity=routes, accepted_methods=methods)


def _retention(data: Mapping[str, Any], source: str) -> tuple[RetentionClass, ...]:
    where = f"{source}: [retention]"
    _reject_unknown(data, {"classes"}, where)
    classes = []
    for name, raw in _table(data, "classes", where).items():
        spot = f"{where} classes.{name}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{spot} must be a table with min_days and max_days")
        _reject_unknown(raw, _RETENTION_CLASS_KEYS, spot)
        low, high = raw.get("min_days", 0), raw.get("max_days")
        bad = isinstance(low, bool) or isinstance(high, bool)
        if bad or not isinstance(low, int) or not isinstance(high, int):
            raise ConfigError(f"{spot}: min_days and max_days must be whole numbers of days")
        if not 0 <= low <= high or high < 1:
            raise ConfigError(f"{spot}: need 0 <= min_days <= max_days and max_days >= 1")
        classes.append(RetentionClass(str(name), low, high))
    return tuple(classes)


def _store(data: Mapping[str, Any], source: str) -> StorePolicy:
    where = f"{source}: [store]"
    _reject_unknown(data, _STORE_KEYS, where)
    defaults = StorePolicy()
    values: dict[str, Any] = {}
    for key in ("legal_basis", "retention_class"):
        value = data.get(key, getattr(defaults, key))
        if not isinstance(value, str) or not value or len(value) > 64:
            raise ConfigError(f"{where} {key} must be a non-empty string of at most 64 characters")
        values[key] = value
    for key in ("retention_days", "queue_size", "batch_size", "max_pending_chars"):
        value = data.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where} {key} must be a positive integer")
        values[key] = value
    for key in ("batch_interval", "flush_timeout"):
        value = data.get(key, getattr(defaults, key))
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{where} {key} must be a positive number of seconds")
        values[key] = float(value)
    interval = data.get("purge_interval", defaults.purge_interval)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
        raise ConfigError(f"{where} purge_interval must be 0 (off) or a number of seconds")
    values["purge_interval"] = float(interval)
    return StorePolicy(**values)


def _http(data: Mapping[str, Any], source: str) -> HttpPolicy:
    where = f"{source}: [http]"
    _reject_unknown(data, _HTTP_KEYS, where)
    defaults = HttpPolicy()
    cap = data.get("max_inspect_bytes", defaults.max_inspect_bytes)
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        raise ConfigError(f"{where} max_inspect_bytes must be a positive integer")
    record_header = data.get("record_header", True)
    if not isinstance(record_header, bool):
        raise ConfigError(f"{where} record_header must be true or false")
    headers = {}
    for key in ("session_header", "tenant_header"):
        value = data.get(key, getattr(defaults, key))
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{where} {key} must be a header name")
        headers[key] = value.lower() if isinstance(value, str) else None
    routes = data.get("routes", {})
    if not isinstance(routes, Mapping):
        raise ConfigError(f'{where} routes must be a table of "pattern" = ["selector", ...]')
    form_fields = data.get("form_fields")
    extraction = ExtractionPolicy(
        selectors=_str_tuple(data.get("selectors", list(DEFAULT_SELECTORS)), f"{where} selectors"),
        routes={str(k): _str_tuple(v, f"{where} routes.{k}") for k, v in routes.items()},
        include=_str_tuple(data.get("include", ["*"]), f"{where} include"),
        exclude=_str_tuple(data.get("exclude", []), f"{where} exclude"),
        query_params=_str_tuple(data.get("query_params", []), f"{where} query_params"),
        form_fields=None
        if form_fields is None
        else _str_tuple(form_fields, f"{where} form_fields"),
    )
    return HttpPolicy(
        max_inspect_bytes=cap,
        block_on=_str_tuple(data.get("block_on", []), f"{where} block_on"),
        record_header=record_header,
        session_header=headers["session_header"] or defaults.session_header,
        tenant_header=headers["tenant_header"],
        extraction=extraction,
    )
