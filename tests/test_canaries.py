"""The canary hunter is the instrument every privacy test reads: its one-pass search must
find exactly what the definition (each form searched for on its own) finds."""

from __future__ import annotations

import random

import pytest

from tests import canaries
from tests.canaries import find_leaks, fixed_format_canaries, forms, where_found


def _by_definition(haystack: str | bytes, values: list[str]) -> list[str]:
    text = haystack.decode("utf-8", errors="replace") if isinstance(haystack, bytes) else haystack
    lowered = text.lower()
    return [
        value for value in values if any(form and form.lower() in lowered for form in forms(value))
    ]


def _noise(rng: random.Random, size: int) -> str:
    # Hex, digits and separators like the sinks (hashes, ids), CJK, and a lone surrogate.
    return "".join(rng.choice("0123456789abcdef -.@+/=中文名\n\ud800") for _ in range(size))


@pytest.mark.parametrize("chunk", [5, 64, 1 << 22], ids=["tiny", "small", "default"])
def test_one_pass_hunt_finds_what_the_definition_finds(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny and small chunks put planted forms across every chunk boundary.
    monkeypatch.setattr(canaries, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(30):
        values = [c.value for _ in range(20) for c in fixed_format_canaries(rng)]
        values += ["ab", "Xy1"]  # shorter than an anchor: searched for one by one
        planted = rng.sample(values, rng.randrange(0, 12))
        parts = [_noise(rng, rng.randrange(0, 300))]
        for value in planted:
            form = rng.choice([f for f in forms(value) if f])
            parts.append(form.upper() if rng.random() < 0.3 else form)
            # A form cut short must not count as the form.
            parts.append(_noise(rng, rng.randrange(0, 40)) + form[: len(form) // 2])
        haystack = "".join(parts)
        expected = _by_definition(haystack, values)
        assert find_leaks(haystack, values) == expected
        as_bytes = haystack.encode("utf-8", errors="replace")
        assert find_leaks(as_bytes, values) == _by_definition(as_bytes, values)
        assert set(planted) <= set(expected)


def test_a_form_cut_short_is_not_found() -> None:
    # An e-mail address: none of its forms holds another (an ID's digits are its prefix).
    value = next(c.value for c in fixed_format_canaries(random.Random(7)) if c.kind == "email")
    for form in forms(value):
        assert find_leaks(f"<{form[:-1]}>", [value]) == []
        assert find_leaks(f"<{form.upper()}>", [value]) == [value]


def test_where_found_names_the_form_and_its_surroundings() -> None:
    value = fixed_format_canaries(random.Random(9))[1].value  # a mainland mobile number
    blob = f"row 7 | prompt: call {value} now".encode()
    hits = where_found(blob, value)
    assert hits
    assert all(value in hit and "call" in hit for hit in hits)
    assert where_found(b"nothing here", value) == []
