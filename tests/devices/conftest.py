"""Fixtures for the smart-card tests: one private pcscd + vpcd for the session, started the first time
a test asks for ``pcscd_env`` and stopped at the end; tests that do not ask never pay for it.

libpcsclite picks its socket name at a process's first PC/SC call and keeps it, so this conftest
points ``PCSCLITE_CSOCK_NAME`` at the private pcscd's future socket as soon as it is loaded
(pytest_configure): whatever in this test process talks PC/SC first, it talks to the private
pcscd (or finds none), never to a system pcscd.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.smartcard.pcscd_env import CSOCK_ENV, PcscdEnvironment, missing_prerequisites
from devices.smartcard.ssc import SocialSecurityCard
from devices.smartcard.virtual_card import VirtualSscCard

_WORKDIR = Path(tempfile.gettempdir()) / f"kiosk-pcscd-tests-{os.getpid()}"


def pytest_configure(config: pytest.Config) -> None:
    os.environ[CSOCK_ENV] = str(_WORKDIR / "run" / "pcscd.comm")


@pytest.fixture(scope="session")
def pcscd_env() -> Iterator[PcscdEnvironment]:
    """The private pcscd with two vpcd reader slots, running."""
    problems = missing_prerequisites()
    if problems:
        pytest.fail("the smart-card tests need a private pcscd (run deploy/setup.sh --test as root): "
                    + "; ".join(problems))
    env = PcscdEnvironment(workdir=_WORKDIR)
    env.start()
    env.use_in_this_process()
    try:
        yield env
    finally:
        env.stop()
        shutil.rmtree(_WORKDIR, ignore_errors=True)


@pytest.fixture
def pcscd(pcscd_env: PcscdEnvironment) -> Iterator[PcscdEnvironment]:
    """The session's pcscd, guaranteed running again after a test that stopped it."""
    yield pcscd_env
    if not pcscd_env.running:
        pcscd_env.start_pcscd()


CardFactory = Callable[..., VirtualSscCard]


@pytest.fixture
def make_card(pcscd: PcscdEnvironment) -> Iterator[CardFactory]:
    """Virtual cards for slot 0 (``slot=1`` for the second); every one is pulled after the test."""
    cards: list[VirtualSscCard] = []

    def make(card: SocialSecurityCard | None = None, *, kind: str = "ssc", slot: int = 0) -> VirtualSscCard:
        vcard = VirtualSscCard(pcscd.vpcd_port + slot, card, kind=kind)
        cards.append(vcard)
        return vcard

    yield make
    for vcard in cards:
        vcard.pull()
    if pcscd.running:
        _wait_until_slots_empty()


def _wait_until_slots_empty(timeout_s: float = 15.0) -> None:
    # vpcd notices a pulled card only at pcscd's next presence poll; a card inserted before that
    # would take the old card's place unseen (no removal in between), so the next test waits.
    from devices.smartcard.discovery import list_readers

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(r["card_present"] for r in list_readers()):
            return
        time.sleep(0.05)
    raise AssertionError(f"pcscd still reports a card {timeout_s} s after every virtual card was pulled")
