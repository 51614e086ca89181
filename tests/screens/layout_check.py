"""What a resident would see as broken in a drawn frame, from the layout rectangles the canvas noted
(no pixel comparisons): text cut by its box or the screen's edge, text over text, text half over a
button, a control partly off screen or covered by another control."""

from __future__ import annotations

import pygame

from screens.widgets import Button, Canvas

SLACK = 2  # device px: anti-aliasing and rounding


def _deep(a: pygame.Rect, b: pygame.Rect) -> bool:
    clip = a.clip(b)
    return clip.width > 10 and clip.height > 12


def layout_problems(canvas: Canvas, buttons: list[Button], overlay: pygame.Rect | None = None) -> list[str]:
    """``overlay``: a passing message's opaque panel drawn over the page (the renderer's ``message_rect``):
    the page's texts it hides are not seen, so they overlap nothing."""
    screen = pygame.Rect(0, 0, canvas.width, canvas.height)
    header = canvas.px(160)
    problems: list[str] = []
    blocks = [b for b in canvas.text_blocks if overlay is None or overlay.contains(b) or not overlay.colliderect(b)]
    for i, a in enumerate(blocks):
        problems += [f"text {a} over text {b}" for b in blocks[i + 1:] if _deep(a, b)]
        problems += [f"text {a} half over button {b.target}" for b in buttons
                     if _deep(a, b.rect) and not b.rect.contains(a)]
        if a.top < header < a.bottom:
            problems.append(f"text {a} spills out of the header")
    for text, box in canvas.text_boxes:
        if not screen.contains(text):
            problems.append(f"text {text} outside the screen")
        if not box.inflate(2 * SLACK, 2 * SLACK).contains(text):
            problems.append(f"text {text} cut by its box {box}")
    for i, a in enumerate(buttons):
        if not screen.contains(a.rect):
            problems.append(f"control {a.target} {a.rect} not wholly on screen")
        problems += [f"control {a.target} {a.rect} covered by {b.target} {b.rect}" for b in buttons[i + 1:]
                     if a.rect.colliderect(b.rect)]
    return problems
