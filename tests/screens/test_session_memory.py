"""What one resident's session leaves in the app's memory once it ends (P9, memory after a day).

A real KioskApp under SDL's dummy driver: a session in English, elder mode, browsing every item, opens
font faces and list rows the next resident may never need; when the session ends they are dropped,
and the attract and home screens' faces stay open so the next resident's first screens open nothing.
"""

from __future__ import annotations

import pytest

from screens import itemlist, theme
from tests.screens.test_ui_events import app, settle, tap  # noqa: F401  (the module's real app)


@pytest.fixture(autouse=True)
def _at_attract(app):  # noqa: F811
    settle(app)
    if app.flow.screen.value != "attract":
        tap(app, "exit")
        settle(app)


def test_a_sessions_faces_and_rows_go_when_it_ends_and_the_first_screens_keep_theirs(app):  # noqa: F811
    tap(app, "start")
    settle(app)
    assert app.flow.screen.value == "home"
    tap(app, "exit")
    settle(app)
    pinned = theme.pinned_fonts()
    assert 0 < pinned == theme.open_fonts()  # the attract and home screens' faces, nothing else
    tap(app, "lang:en")
    tap(app, "elder")
    settle(app)
    tap(app, "browse:all")
    settle(app)
    assert app.flow.screen.value == "list"
    assert theme.open_fonts() > pinned and itemlist.open_rows() > 0
    tap(app, "exit")
    settle(app)
    assert app.flow.screen.value == "attract"
    assert itemlist.open_rows() == 0 and theme.open_fonts() == pinned
    # The next resident's attract and home screens open no face again.
    tap(app, "start")
    settle(app)
    assert app.flow.screen.value == "home" and theme.open_fonts() == pinned
