"""Checksum and plausibility checks (privlog.detect.checks)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from privlog.detect.checks import cn_resident_id_valid, luhn_valid
from tests.canaries import card, cn_resident_id, cn_resident_id_bad_check, luhn_complete, unionpay

TODAY = dt.date(2026, 11, 28)


class TestResidentId:
    @pytest.mark.parametrize(
        "value", ["11010519491231002X", "440304200002291236", "11010519491231002x"]
    )
    def test_valid_published_samples(self, value: str) -> None:
        """The documented sample numbers pass province, date and MOD 11-2 checks."""
        assert cn_resident_id_valid(value, TODAY)

    def test_generated_numbers_are_valid(self, rng: random.Random) -> None:
        """Any number built by the GB 11643 rules validates."""
        for _ in range(200):
            assert cn_resident_id_valid(cn_resident_id(rng), TODAY)

    def test_wrong_check_character_fails(self, rng: random.Random) -> None:
        """Changing only the check character makes every number invalid."""
        for _ in range(200):
            assert not cn_resident_id_valid(cn_resident_id_bad_check(rng), TODAY)

    @pytest.mark.parametrize(
        ("value", "why"),
        [
            ("110105194902300026", "February 30th"),
            ("110105194913010026", "month 13"),
            ("110105203001010026", "born in the future"),
            ("990105194912310026", "no such province"),
            ("1101051949123100", "too short"),
        ],
    )
    def test_impossible_numbers_fail(self, value: str, why: str) -> None:
        """Impossible dates, unknown provinces and wrong lengths are rejected."""
        body = value[:17]
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        if len(body) == 17:
            value = (
                body
                + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=False)) % 11]
            )
        assert not cn_resident_id_valid(value, TODAY), why

    def test_legacy_fifteen_digit_form(self) -> None:
        """The 15-digit pre-1999 form validates on province and date (it has no check digit)."""
        assert cn_resident_id_valid("110105491231002", TODAY)
        assert not cn_resident_id_valid("110105491331002", TODAY)


class TestLuhn:
    def test_known_test_numbers(self) -> None:
        """Well-known test card numbers pass, one changed digit fails."""
        assert luhn_valid("4111111111111111")
        assert luhn_valid("6222020000000000000")
        assert not luhn_valid("4111111111111112")
        assert not luhn_valid("41111111a1111111")

    def test_generated(self, rng: random.Random) -> None:
        """Completed bodies always pass; a changed last digit never does."""
        for _ in range(200):
            number = card(rng) if rng.random() < 0.5 else unionpay(rng)
            assert luhn_valid(number)
            bad = number[:-1] + str((int(number[-1]) + 1) % 10)
            assert not luhn_valid(bad)
        assert luhn_complete("7992739871") == "79927398713"
