"""GB 11643 citizen ID numbers and GB 32100 unified social credit codes."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.validators import (
    citizen_id_check_char,
    citizen_id_gender,
    citizen_id_problems,
    citizen_id_valid,
    foreign_permanent_id_old_problems,
    foreign_permanent_id_problems,
    mobile_valid,
    social_credit_code_check_char,
    social_credit_code_valid,
)


def test_standard_example_is_valid() -> None:
    assert citizen_id_valid("11010519491231002X")
    assert citizen_id_check_char("11010519491231002") == "X"


def test_lowercase_x_and_surrounding_spaces_are_accepted() -> None:
    assert citizen_id_valid(" 11010519491231002x ")


@pytest.mark.parametrize("wrong", ["110105194912310020", "110105194912310021", "110105194912310029"])
def test_wrong_check_char_is_invalid(wrong: str) -> None:
    assert not citizen_id_valid(wrong)


def with_check(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


@pytest.mark.parametrize("first17", [
    "11010519490231002",  # 31 February... of 1949: 0231 is not a date
    "11010519491301002",  # month 13
    "11010518000101002",  # before 1850
])
def test_impossible_birth_dates_are_invalid_even_with_a_right_check_char(first17: str) -> None:
    assert not citizen_id_valid(with_check(first17))


def test_birth_in_the_future_is_invalid() -> None:
    number = with_check("11010520300101002")
    assert not citizen_id_valid(number, today=dt.date(2026, 1, 1))
    assert citizen_id_valid(number, today=dt.date(2031, 1, 1))


def test_leap_day_is_a_real_date() -> None:
    assert citizen_id_valid(with_check("35020520000229001"))


@pytest.mark.parametrize("bad", ["", "11010519491231002", "11010519491231002XX", "1101051949123100AX",
                                 "01010519491231002X", "１１010519491231002X"])
def test_malformed_numbers_are_invalid(bad: str) -> None:
    assert not citizen_id_valid(bad)


def test_check_char_needs_17_digits() -> None:
    with pytest.raises(ValueError):
        citizen_id_check_char("1101051949123100")
    with pytest.raises(ValueError):
        citizen_id_check_char("1101051949123100A")


def test_gender_follows_the_sequence_digit() -> None:
    assert citizen_id_gender("11010519491231002X") == "女"
    assert citizen_id_gender("350205198506150030") == "男"


def test_social_credit_code_example_is_valid() -> None:
    assert social_credit_code_valid("91350100M000100Y43")
    assert social_credit_code_valid("91350100m000100y43")
    assert social_credit_code_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize("bad", ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100Y4I",
                                 "91350100O000100Y43", ""])
def test_social_credit_code_errors_are_caught(bad: str) -> None:
    assert not social_credit_code_valid(bad)


def test_check_char_31_wraps_to_zero() -> None:
    # Find a body whose weighted sum is a multiple of 31: its check char must be '0', not index 31.
    for n in range(10_000):
        body = f"9135010000000{n:04d}"
        if social_credit_code_check_char(body) == "0":
            assert social_credit_code_valid(body + "0")
            return
    pytest.fail("no body with check char 0 found")


def test_mobile_numbers() -> None:
    assert mobile_valid("13912345678")
    assert not mobile_valid("12912345678") and not mobile_valid("1391234567")


# -- regions and the numbers read from cards ---------------------------------------------------

@pytest.mark.parametrize("province", ["11", "35", "65", "71", "81", "82", "83"])
def test_known_province_codes_pass(province: str) -> None:
    assert citizen_id_valid(with_check(province + "0205198506150030"[:15]))


@pytest.mark.parametrize("province", ["10", "20", "39", "66", "84", "90", "99"])
def test_region_code_that_names_no_province_fails(province: str) -> None:
    number = with_check(province + "0105194912310021"[:15])
    assert not citizen_id_valid(number)
    assert citizen_id_problems(number) == ["region code names no province"]


def test_problems_are_named_without_repeating_the_number() -> None:
    problems = citizen_id_problems("990105194902310021")
    assert problems == ["region code names no province", "birth date is not a calendar date",
                        "check character does not match"]
    assert all("9901" not in p for p in problems)
    assert citizen_id_problems("abc") == ["not 17 digits and a check character"]
    assert citizen_id_problems("11010519491231002X") == []


def test_2023_foreign_permanent_resident_number() -> None:
    assert foreign_permanent_id_problems("93584019900315002X") == []
    assert foreign_permanent_id_problems("93584019900315002x") == []
    assert foreign_permanent_id_problems("935840199003150021") == ["check character does not match"]
    assert "does not start with 9 (the foreigner's mark)" in foreign_permanent_id_problems(with_check("13584019900315002"))
    assert foreign_permanent_id_problems(with_check("99984019900315002")) == ["acceptance region code names no province"]
    assert not citizen_id_valid("93584019900315002X")  # 93 is no province: not a citizen number


def test_old_foreign_permanent_resident_number_shape() -> None:
    assert foreign_permanent_id_old_problems("USA350280010101") == []
    assert foreign_permanent_id_old_problems("usa350280010101") == []
    assert foreign_permanent_id_old_problems("USA990280010101") == ["acceptance region code names no province"]
    assert foreign_permanent_id_old_problems("US1350280010101") == ["not 3 letters and 12 digits"]
    assert foreign_permanent_id_old_problems("USA35028001010") == ["not 3 letters and 12 digits"]
