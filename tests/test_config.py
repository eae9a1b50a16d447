"""Settings from the environment and the TOML policy file (privlog.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from privlog.config import Policy, Settings
from privlog.errors import ConfigError


def test_defaults_follow_the_contract() -> None:
    """Without any variable: SQLite in the working directory, privlog.keys, no policy file."""
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///privlog.db"
    assert s.key_file == Path("privlog.keys")
    assert s.config_file is None
    assert s.policy.store_text == "scrubbed"


def test_environment_and_policy_file(tmp_path: Path) -> None:
    """PRIVLOG_* variables and the TOML file are read; fixed keys keep their meaning."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'store_text = "none"\n'
        '[detection]\nmodel = "none"\nscore_threshold = 0.6\nextra_entities = ["NRP"]\n'
        '[operators]\nPERSON = "pseudonym"\ndefault = "redact"\n'
        '[egress]\nfirst_party = ["billing.internal"]\n'
        '[[egress.processors]]\nname = "model-vendor"\nhosts = ["api.openai.com"]\n'
    )
    s = Settings.from_env(
        {
            "PRIVLOG_DATABASE_URL": "postgresql://db/x",
            "PRIVLOG_KEY_FILE": "/run/keys",
            "PRIVLOG_CONFIG": str(policy),
        }
    )
    assert s.database_url == "postgresql://db/x"
    assert s.key_file == Path("/run/keys")
    assert s.policy.store_text == "none"
    assert s.policy.detection.model is None
    assert s.policy.detection.score_threshold == 0.6
    assert "NRP" in s.policy.detection.entities
    assert s.policy.operators == {"PERSON": "pseudonym"}
    assert s.policy.default_operator == "redact"
    assert s.policy.egress["first_party"] == ["billing.internal"]


def test_detection_deadline_is_policy_not_engine() -> None:
    """The deadline is read from [detection] (5 s by default) and does not make a new
    engine: settings that differ only in it are equal, so they share one detector."""
    assert Policy.from_mapping({}).detection.deadline == 5.0
    policy = Policy.from_mapping({"detection": {"deadline": 0.25}})
    assert policy.detection.deadline == 0.25
    assert policy.detection == Policy.from_mapping({}).detection
    assert hash(policy.detection) == hash(Policy.from_mapping({}).detection)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"store_txt": "none"}, "unknown key.*store_txt"),
        ({"store_text": "raw"}, "store_text must be"),
        ({"detection": {"score_threshold": 2}}, "between 0 and 1"),
        ({"detection": {"entities": "PERSON"}}, "list of strings"),
        ({"detection": {"chunk_chars": 0}}, "positive integer"),
        ({"detection": {"modle": "x"}}, "unknown key.*modle"),
        ({"detection": {"deadline": 0}}, "deadline must be a positive number"),
        ({"detection": {"deadline": "5s"}}, "deadline must be a positive number"),
        ({"operators": []}, r"\[operators\] must be a table"),
    ],
)
def test_bad_policy_is_a_clear_error(data: dict[str, object], message: str) -> None:
    """Misspelt keys and bad values stop start-up with a message naming the key."""
    with pytest.raises(ConfigError, match=message):
        Policy.from_mapping(data)


def test_unreadable_policy_file(tmp_path: Path) -> None:
    """A missing or invalid TOML file is reported with its path."""
    with pytest.raises(ConfigError, match="does not exist"):
        Policy.from_toml(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("store_text = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Policy.from_toml(bad)


def test_repr_never_shows_the_database_password() -> None:
    """Settings and Privlog reprs mask the password in the database URL."""
    from privlog import Privlog
    from privlog.detect import DetectionSettings

    s = Settings(
        database_url="postgresql://app:s3cret-canary@db.internal:5432/prod",
        policy=Policy(detection=DetectionSettings(model=None)),
    )
    assert "s3cret-canary" not in repr(s)
    assert "postgresql://app:***@db.internal:5432/prod" in repr(s)
    assert "s3cret-canary" not in repr(Privlog(s))
    assert "s3cret-canary" not in str(s)


def test_http_policy_from_toml(tmp_path: Path) -> None:
    """[http] sets limits, blocking, headers and per-route selectors; mistakes are errors."""
    policy = tmp_path / "p.toml"
    policy.write_text(
        '[http]\nmax_inspect_bytes = 4096\nblock_on = ["SECRET"]\nrecord_header = false\n'
        'session_header = "X-Conv"\nexclude = ["/healthz"]\nquery_params = ["q"]\n'
        '[http.routes]\n"/v1/custom*" = ["payload.note"]\n'
    )
    http = Policy.from_toml(policy).http
    assert http.max_inspect_bytes == 4096
    assert http.block_on == ("SECRET",)
    assert http.record_header is False
    assert http.session_header == "x-conv"
    assert http.extraction.selectors_for("/v1/custom/a") == ("payload.note",)
    assert not http.extraction.applies_to("/healthz")
    assert http.extraction.query_params == ("q",)
    for bad, message in (
        ({"http": {"max_inspect_bytes": 0}}, "positive integer"),
        ({"http": {"record_header": "yes"}}, "true or false"),
        ({"http": {"routes": ["x"]}}, "routes must be a table"),
        ({"http": {"blok_on": []}}, "unknown key.*blok_on"),
    ):
        with pytest.raises(ConfigError, match=message):
            Policy.from_mapping(bad)
