"""Checks applied to what a card carries before the kiosk trusts it.

A chip that answers with a well-formed frame can still carry a number that is not a valid one
(a test card, a forged card, a reader firmware bug that shifts a field). The reader runs
:func:`card_problems` on every card it reads; a card with problems is reported as
``card_invalid`` and never as ``card_read`` (see :mod:`devices.id_card.polling`).

Problems are plain words without personal values, so they may be logged and shown to staff.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from devices.id_card.identity import IdentityCard
from kiosk.validators import (
    citizen_id_birth_date,
    citizen_id_gender,
    citizen_id_problems,
    foreign_permanent_id_old_problems,
    foreign_permanent_id_problems,
)

PERMIT_REGIONS = ("81", "82", "83")  # Hong Kong, Macao, Taiwan residents' permit numbers


@dataclass(frozen=True)
class InvalidCard:
    """The payload of a ``card_invalid`` event: which kind of card, and what failed. No personal data."""

    card_type: str
    problems: tuple[str, ...]


def _number_agrees(card: IdentityCard, number: str, problems: list[str]) -> None:
    """The birth date and sex coded in an 18-digit number must match the card's own fields."""
    if citizen_id_birth_date(number) not in (None, card.birth_date):
        problems.append("birth date in the number differs from the card's birth date")
    if (card.card_type in ("resident", "J") and card.gender in ("男", "女")
            and citizen_id_gender(number) != card.gender):
        problems.append("sex coded in the number differs from the card's gender")


def card_problems(card: IdentityCard, *, today: _dt.date | None = None) -> tuple[str, ...]:
    """Everything wrong with ``card``'s number for its card type; () when it can be trusted.

    - resident ID card: GB 11643 (province, birth date, check character), not a permit region,
      birth date and sex agree with the card;
    - 'J' residence permit: the same rules, and the number starts with 81, 82 or 83;
    - 'Y' (2023) foreign permanent resident card: ``9`` + province + country + birth date + MOD 11-2
      check character, birth date agrees with the card;
    - 'I' (2017) foreign permanent resident card: 3 letters (the card's country code) + 12 digits.
    """
    number = card.id_number.strip().upper()
    problems: list[str] = []
    if card.card_type in ("resident", "J"):
        problems += [f"ID number: {p}" for p in citizen_id_problems(number, today=today)]
        if len(number) == 18 and number[:17].isascii() and number[:17].isdigit():
            is_permit = number[:2] in PERMIT_REGIONS
            if card.card_type == "J" and not is_permit:
                problems.append("ID number: a residence permit number starts with 81, 82 or 83")
            if card.card_type == "resident" and is_permit:
                problems.append("ID number: a residence permit number on a resident ID card")
            _number_agrees(card, number, problems)
    elif card.card_type == "Y":
        problems += [f"card number: {p}" for p in foreign_permanent_id_problems(number, today=today)]
        if len(number) == 18 and number[:17].isascii() and number[:17].isdigit():
            _number_agrees(card, number, problems)
            code = card.nationality.strip()
            if code.isascii() and code.isdigit() and code != number[3:6]:
                problems.append("card number: country code differs from the card's country")
    elif card.card_type == "I":
        problems += [f"card number: {p}" for p in foreign_permanent_id_old_problems(number)]
        if not problems and card.nationality.strip().upper() != number[:3]:
            problems.append("card number: country letters differ from the card's country")
    else:
        problems.append(f"card type {card.card_type!r} has no number rules")
    if card.valid_to is not None and card.valid_to < card.valid_from:
        problems.append("validity ends before it starts")
    return tuple(problems)
