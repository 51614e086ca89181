"""Who the resident is, as the flow sees it, and what a form takes from that (数据互认).

:class:`Identity` is what the flow needs of an identity read by a device: the resident ID card
(``devices/id_card``), the social security card (``devices/smartcard``) or the government app's
sign-in (``kiosk/terminal/scanning.py``). Those classes satisfy it structurally; the flow never
imports them.

A form field pre-filled from the card names a catalog key (``prefill = "birth_date"``,
:data:`~kiosk.catalog.model.CardField`); :data:`PREFILL` says what each key reads from the identity, so
the catalog's names and the devices' attribute names are tied in this one table and nowhere else.

A document that expires carries its last valid day as ``valid_to`` (the ID card, its permits and
permanent residence cards) or ``expiry_date`` (the social security card); None (长期) or no such
attribute (the app's sign-in) never expires. :func:`expired_since` is the one check, against a date
the terminal can trust (the platform's, or a synchronised clock; None when it has neither).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from kiosk.catalog.model import CardField


@runtime_checkable
class Identity(Protocol):
    """What the flow needs of an identity document read by a device."""

    @property
    def name(self) -> str: ...

    @property
    def id_number(self) -> str:
        """The citizen ID number (GB 11643), or the permit's number."""
        ...

    @property
    def card_type(self) -> str:
        """The document's type as read (the ID card's ``resident``, ``J``, ``I``, ``Y`` …)."""
        ...

    def wipe(self) -> None:
        """Forget every personal value (the session ended)."""
        ...


def card_detail(attribute: str) -> Callable[[Identity], str]:
    """A detail only some documents carry (the resident ID card's address …): "" where it is absent."""

    def read(identity: Identity) -> str:
        value = getattr(identity, attribute, "")
        return "" if value is None else str(value)  # dates as ISO text, as a form field holds them

    return read


# 数据互认: what each catalog pre-fill key reads from the identity that was read.
PREFILL: dict[CardField, Callable[[Identity], str]] = {
    "name": lambda identity: identity.name,
    "id_number": lambda identity: identity.id_number,
    "gender": card_detail("gender"),
    "nation": card_detail("nation"),
    "birth_date": card_detail("birth_date"),
    "address": card_detail("address"),
    "issuer": card_detail("issuer"),
    "valid_to": card_detail("valid_to"),
    "pass_number": card_detail("pass_number"),
}


def prefilled(identity: Identity, key: CardField) -> str:
    """The value of the card field ``key`` for a form."""
    return PREFILL[key](identity)


# Where an identity keeps the last day it is valid, in the order asked.
EXPIRY_ATTRIBUTES = ("valid_to", "expiry_date")


def valid_until(identity: Identity) -> _dt.date | None:
    """The last day ``identity``'s document is valid; None when it never expires (长期) or has no expiry."""
    for attribute in EXPIRY_ATTRIBUTES:
        value = getattr(identity, attribute, None)
        if isinstance(value, _dt.date):
            return value.date() if isinstance(value, _dt.datetime) else value
    return None


def expired_since(identity: Identity, today: _dt.date | None) -> _dt.date | None:
    """The last valid day of ``identity``'s document if it had expired on ``today``, else None.

    A document is valid through its last day. ``today`` None (no trusted date) never refuses: a wrong
    clock must not turn residents away; the platform still checks what it is sent."""
    last = valid_until(identity)
    if today is None or last is None or today <= last:
        return None
    return last
