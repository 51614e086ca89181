"""Line breaking for the screens: Chinese by GB/T 15834 and W3C clreq (Requirements for Chinese Text
Layout, §3.1.7 and §3.3), English on words.

- Closing punctuation (，。、；：！？）》」』”’】 …) never starts a line and opening punctuation
  (（《「『“‘【 …) never ends one: each stays with the character it belongs to.
- Paired marks — the ellipsis …… and the dash —— — are never split across lines.
- A short quoted or titled name (“闽政通”, 《居民身份证法》, 「…」) is kept whole when it fits a
  line; only a name longer than a whole line is broken inside.
- Latin words and numbers (HC-DEMO-001-…, 0592-12345) are never split; lines break at spaces.
- :func:`fit` shrinks the text (never below a floor) until its longest unbreakable piece fits the
  width, so an English word is made smaller rather than cut at the edge (:func:`wrap` leaves a word
  wider than the line whole, on a line of its own).

The screens measure with pygame fonts; anything with a ``size(text) -> (w, h)`` method will do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

NO_LINE_START = frozenset("，。、；：！？）》」』”’〉】〕〗…‥,.;:!?)]}%°℃·ー々〻")
"""Characters that never begin a line (closing brackets and quotes, stops, the ellipsis)."""
NO_LINE_END = frozenset("（《「『“‘〈【〔〖([{")
"""Characters that never end a line (opening brackets and quotes)."""

# Units that are never broken inside, in order of preference: paired marks, a short quotation or
# title (kept whole only while it fits a line: see _split), a Latin word or number, spaces, one char.
_UNITS = re.compile(r"……|——|“[^“”\n]{1,24}”|‘[^‘’\n]{1,24}’|《[^《》\n]{1,32}》|「[^「」\n]{1,24}」"
                    r"|『[^『』\n]{1,24}』|[A-Za-z0-9'’.,:;!?()\[\]%\-/+@#&_=]+|\s+|.")


class Measures(Protocol):
    def size(self, text: str, /) -> tuple[int, int]: ...


def units(paragraph: str) -> list[str]:
    """``paragraph`` cut into the pieces a line may break between (punctuation already attached to
    the piece it belongs to)."""
    out: list[str] = []
    for unit in _UNITS.findall(paragraph):
        if out and not unit.isspace() and (unit[0] in NO_LINE_START or out[-1][-1] in NO_LINE_END) \
                and not out[-1].isspace():
            out[-1] += unit  # a closing mark joins what it closes; an opening mark what it opens
        elif out and unit[0] in NO_LINE_START and out[-1].isspace() and len(out) > 1:
            space = out.pop()
            out[-1] += space + unit  # "word ·": the mark still never starts a line
        else:
            out.append(unit)
    return out


def wrap(text: str, fnt: Measures, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (device px) where the rules allow; a piece
    wider than a whole line is broken inside (characters, still minding the punctuation rules)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for unit in units(paragraph):
            if unit.isspace():
                if line and fnt.size(line + unit)[0] <= width:
                    line += unit
                elif line:
                    lines.append(line.rstrip())
                    line = ""
                continue
            if fnt.size(line + unit)[0] <= width:
                line += unit
                continue
            if fnt.size(unit)[0] <= width or unit.isascii():
                # A Latin word or number is never split: one too wide for the line stands alone, and
                # fit() makes the text smaller until it fits.
                if line.strip():
                    lines.append(line.rstrip())
                line = unit
                continue
            # Wider than a line by itself: break it inside, carrying on from what the line holds.
            pieces = _split(line + unit, fnt, width)
            lines.extend(p.rstrip() for p in pieces[:-1])
            line = pieces[-1]
        lines.append(line.rstrip())
    return lines


def _split(text: str, fnt: Measures, width: int) -> list[str]:
    """Characters into lines no wider than ``width``, never starting a line with closing punctuation
    nor ending one with opening punctuation (unless a line would be left empty)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if not line or fnt.size(line + ch)[0] <= width or ch in NO_LINE_START and len(line) == 1:
            line += ch
            continue
        carried = ""
        while len(line) > 1 and ((carried + ch)[0] in NO_LINE_START or line[-1] in NO_LINE_END):
            line, carried = line[:-1], line[-1] + carried
        lines.append(line)
        line = carried + ch
    lines.append(line)
    return lines


def fit(text: str, size: int, floor: int, width: int,
        font_at: Callable[[int], Measures]) -> tuple[int, list[str]]:
    """The largest size from ``size`` down to ``floor`` (steps of 2) at which every wrapped line of
    ``text`` fits ``width``, and those lines; at ``floor`` the lines as they come (the caller clips)."""
    step = size
    while True:
        fnt = font_at(step)
        lines = wrap(text, fnt, width)
        if step <= floor or all(fnt.size(line)[0] <= width for line in lines):
            return step, lines
        step = max(floor, step - 2)
