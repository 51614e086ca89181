"""What makes a card untrusted: its number against GB 11643 and against the card's own fields."""

from __future__ import annotations

import datetime as dt

import pytest

from devices.id_card import IdentityCard, card_problems, sample_cards, sample_foreign_cards
from kiosk.validators import citizen_id_check_char


def fixed(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


@pytest.mark.parametrize("card", sample_cards() + sample_foreign_cards(), ids=lambda c: c.card_type)
def test_sample_cards_are_trusted(card: IdentityCard) -> None:
    assert card_problems(card) == ()


def test_birth_date_and_sex_must_agree_with_the_card() -> None:
    card = sample_cards()[0]
    card.birth_date = dt.date(1949, 12, 30)
    card.gender = "男"
    assert card_problems(card) == ("birth date in the number differs from the card's birth date",
                                   "sex coded in the number differs from the card's gender")


def test_permit_numbers_belong_on_permits_only() -> None:
    permit = sample_cards()[2]
    permit.id_number = fixed("35020519920314002")  # a mainland number on a 'J' card
    assert card_problems(permit) == ("ID number: a residence permit number starts with 81, 82 or 83",)
    resident = sample_cards()[0]
    resident.id_number = fixed("81000019491231002")
    assert card_problems(resident) == ("ID number: a residence permit number on a resident ID card",)


def test_foreign_cards_check_their_own_number_rules() -> None:
    new, = [c for c in sample_foreign_cards() if c.card_type == "Y"]
    new.nationality = "156"  # numeric code that differs from the number's 840
    assert card_problems(new) == ("card number: country code differs from the card's country",)
    new.nationality, new.id_number = "USA", "93584019900315002Y"
    assert card_problems(new) == ("card number: not 17 digits and a check character",)
    old, = [c for c in sample_foreign_cards() if c.card_type == "I"]
    old.nationality = "CAN"
    assert card_problems(old) == ("card number: country letters differ from the card's country",)


def test_validity_must_not_end_before_it_starts() -> None:
    card = sample_cards()[1]
    card.valid_to = dt.date(2000, 1, 1)
    assert card_problems(card) == ("validity ends before it starts",)
