"""``sim://ssc-reader``: a private pcscd with a virtual reader, and a virtual card to put into it.

The kiosk's simulator mode and demos use this so the real adapter (:class:`SscReader`, pyscard,
pcscd) runs unchanged. It needs what :mod:`devices.smartcard.pcscd_env` needs (root, pcscd,
vsmartcard-vpcd), and must be started before anything in the process talks PC/SC.
:func:`open_simulated_port` is the registry's ``sim://`` handler (:mod:`devices.endpoints`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from devices.endpoints import PcscPort, SimulatorUnavailable
from devices.smartcard.pcscd_env import PcscdEnvironment, missing_prerequisites
from devices.smartcard.ssc import SocialSecurityCard, sample_cards
from devices.smartcard.virtual_card import VirtualSscCard
from kiosk.endpoints import Endpoint


class SscReaderSimulator:
    """Owns one :class:`PcscdEnvironment` and at most one inserted :class:`VirtualSscCard`."""

    def __init__(self) -> None:
        self.env = PcscdEnvironment()
        self.card: VirtualSscCard | None = None

    @property
    def reader_name(self) -> str:
        """The PC/SC name of the simulated reader (slot 0)."""
        return self.env.reader_names()[0]

    def start(self) -> None:
        """Start the private pcscd and point this process's PC/SC library at it."""
        self.env.start()
        self.env.use_in_this_process()

    def insert(self, card: SocialSecurityCard | None = None, *, kind: str = "ssc") -> VirtualSscCard:
        """Put a card in (replacing one already there); a TEST card when ``card`` is None."""
        self.pull()
        self.card = VirtualSscCard(self.env.vpcd_port, card or sample_cards()[0], kind=kind)
        self.card.insert()
        return self.card

    def pull(self) -> None:
        """Take the card out, if one is in."""
        card, self.card = self.card, None
        if card is not None:
            card.pull()

    def stop(self) -> None:
        self.pull()
        self.env.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def open_simulated_port(endpoint: Endpoint) -> PcscPort:
    """The registry's ``sim://`` social security card reader handler: a started simulator's reader
    (stopped by the port's ``close``). Raises SimulatorUnavailable when this machine lacks what a
    private pcscd needs."""
    problems = missing_prerequisites()
    if problems:
        raise SimulatorUnavailable("simulated social security card reader not started: " + "; ".join(problems))
    simulator = SscReaderSimulator()
    simulator.start()  # before anything in this process talks PC/SC
    try:
        return PcscPort(simulator.reader_name, simulator)
    except BaseException:
        simulator.stop()
        raise
