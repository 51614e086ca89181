"""Card presence on a polled reader, as events: the link a :class:`DeviceSupervisor` drives.

Each poll is at most three exchanges (find, select, read), so it is bounded by three read
timeouts. A placed card produces, once each:

- ``card_inserted`` (payload None) when the reader first finds it;
- then exactly one of ``card_read`` (a trusted :class:`IdentityCard`), ``card_invalid`` (an
  :class:`InvalidCard`: the number failed validation, so the card's values are wiped and not
  passed on) or ``card_unsupported`` (the card-type flag);
- ``card_removed`` (payload None) when it goes, or when the reader is unplugged with it on.

A read the SAM refuses (SW3 41: the card moved) is retried on the next poll; a card that leaves
before it could be read still gets its ``card_removed``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from devices.base import DeviceProtocolError, DeviceTimeout
from devices.id_card.checks import InvalidCard
from devices.id_card.identity import UnsupportedCardType

if TYPE_CHECKING:
    from devices.id_card.reader import IdCardReader

log = logging.getLogger(__name__)

_EMPTY, _SEEN, _REPORTED = "empty", "seen", "reported"
#: How long 寻卡 waits while the reader is silent (its last poll timed out). A request sent while
#: the reader was mute is lost, so the full read timeout would delay hearing a reader that answers
#: again by up to that timeout (3 s by default); a short ask keeps recovery within the R3 target.
#: A late answer to the previous short ask is taken (``take_late``), so a slow reader is heard too.
QUIET_FIND_S = 0.5


class CardWatcher:
    """Tracks the card on one reader and reports it through the reader's :class:`StatusTracker`."""

    def __init__(self, reader: IdCardReader) -> None:
        self.reader = reader
        self._presence = _EMPTY
        self._silent = False  # the last poll timed out: ask briefly until the reader answers

    @property
    def name(self) -> str:
        return self.reader.tracker.name

    # -- SupervisedLink -------------------------------------------------------------------------

    def connect(self) -> None:
        if not self.reader.is_open:
            self.reader.open()
            log.info("%s: connected on %s", self.name, self.reader.url)

    def disconnect(self) -> None:
        self.reader.drop()
        self._card_gone()

    def poll(self) -> None:
        try:
            self._poll()
        except DeviceTimeout:
            self._silent = True
            raise
        self._silent = False

    def _find(self) -> bool:
        if not self._silent:
            return self.reader.find_card()
        # A reader that has turned slow rather than mute answers the previous ask late: that
        # answer is taken, so a short ask never locks out a reader slower than QUIET_FIND_S.
        return self.reader.find_card(timeout_s=min(QUIET_FIND_S, self.reader.read_timeout_s), take_late=True)

    def _poll(self) -> None:
        reader = self.reader
        with reader.transaction():  # one poll is one transaction: no other exchange between its steps
            if self._presence == _REPORTED:
                if self._find() or self._still_selected():
                    return
                self._card_gone()
                return
            if not self._find():
                self._card_gone()
                return
            if self._presence == _EMPTY:
                self._presence = _SEEN
                reader.tracker.emit("card_inserted")
            if not reader.select_card():
                return  # select failed (SW3 81): try again on the next poll
            try:
                card = reader.read_selected()
            except UnsupportedCardType as exc:
                self._presence = _REPORTED
                log.info("%s: unsupported card type %r placed", self.name, exc.flag)
                reader.tracker.emit("card_unsupported", exc.flag)
                return
            self._presence = _REPORTED
        if card.problems:
            invalid = InvalidCard(card.card_type, card.problems)
            card.wipe()  # not trusted: its values go no further than this frame
            log.warning("%s: card read but not trusted (type %s): %s", self.name, invalid.card_type,
                        "; ".join(invalid.problems))
            reader.tracker.emit("card_invalid", invalid)
            return
        log.info("%s: card read (type %s)", self.name, card.card_type)
        reader.tracker.emit("card_read", card)

    # -- presence ------------------------------------------------------------------------------

    def _still_selected(self) -> bool:
        # A card only counts as gone when 寻卡 and a read of the selected card both fail.
        try:
            return self.reader.still_selected()
        except DeviceProtocolError:
            return True  # unsure: check again on the next poll rather than end the session

    def _card_gone(self) -> None:
        if self._presence != _EMPTY:
            self._presence = _EMPTY
            log.info("%s: card removed", self.name)
            self.reader.tracker.emit("card_removed")
