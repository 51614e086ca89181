"""Audio mode in the flow (issue 23): longer timeouts, keys count as input, any key answers the warning."""

from __future__ import annotations

from kiosk import flow
from kiosk.catalog.loading import Catalog
from kiosk.flow import Screen


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def at_home(audio: bool) -> tuple[flow.KioskFlow, Clock]:
    clock = Clock()
    kiosk = flow.KioskFlow(Catalog.load(), clock, idle_timeout_s=90, warning_s=20)
    if audio:
        kiosk.handle(flow.AudioMode(True))
    kiosk.handle(flow.Tapped("start"))
    assert kiosk.screen is Screen.HOME
    return kiosk, clock


def idle(kiosk: flow.KioskFlow, clock: Clock, seconds: float) -> None:
    clock.now += seconds
    kiosk.handle(flow.Tick())


def test_audio_mode_triples_the_time_before_the_warning():
    plain, clock = at_home(audio=False)
    idle(plain, clock, 91)
    assert plain.warning
    audio, clock = at_home(audio=True)
    idle(audio, clock, 91)
    assert not audio.warning
    idle(audio, clock, 90 * 2)
    assert audio.warning and audio.view().warning_left_s == 19  # 270 s idle, then 20 s to answer
    idle(audio, clock, 21)
    assert audio.screen is Screen.TIMEOUT  # the warning was not answered: the session ended


def test_a_key_counts_as_input_and_any_key_answers_the_warning():
    kiosk, clock = at_home(audio=True)
    for _ in range(5):  # moving through the screen by keys, without activating anything
        clock.now += 200
        assert kiosk.handle(flow.KeyPressed()) == []
        kiosk.handle(flow.Tick())
        assert not kiosk.warning and kiosk.screen is Screen.HOME
    idle(kiosk, clock, 271)
    assert kiosk.warning
    kiosk.handle(flow.KeyPressed())
    assert not kiosk.warning and kiosk.session is not None and kiosk.session.extensions == 1
    assert kiosk.screen is Screen.HOME


def test_audio_mode_ends_when_the_attract_loop_returns():
    kiosk, clock = at_home(audio=True)
    kiosk.handle(flow.Tapped("exit"))
    assert kiosk.screen is Screen.ATTRACT and not kiosk.audio
    kiosk.handle(flow.AudioMode(True))  # started on the attract screen, then left alone
    idle(kiosk, clock, 90 * 3 + 1)
    assert not kiosk.audio
