"""Document camera (高拍仪) scanning: find the page, flatten it, even the light, compress it.

Pipeline (DEVICES.md §4): grey → blur → Canny → dilate → ``findContours`` → the largest contour that
``approxPolyDP`` reduces to a convex quadrilateral → perspective warp to an upright rectangle with
the page's own proportions → divide by a heavily blurred copy of itself to even out lamp light and
shadow → JPEG at the highest quality that fits the platform's size limit (downscaling when even
low quality is too big). A :class:`Material` collects several pages of one submitted material.

Pages are kept in memory only until the caller submits them (into the gateway's encrypted outbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from devices.base import ActionHint, DeviceError

DEFAULT_MAX_BYTES = 500_000  # what the sample platform accepts per page image
_EDGE_PX = 3


class PageNotFound(DeviceError):
    """No page could be found in the frame: the resident should lay the page flat inside the frame."""

    retryable = True
    hint = ActionHint.CLEAR


@dataclass(frozen=True)
class ScannedPage:
    """One flattened, evened, compressed page. ``corners`` are where it was found in the frame."""

    jpeg: bytes
    width: int
    height: int
    quality: int
    corners: tuple[tuple[int, int], ...]

    def __repr__(self) -> str:  # pages carry personal data: never dump them
        return f"ScannedPage({self.width}x{self.height}, q{self.quality}, {len(self.jpeg)} bytes)"


def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (sum / difference of x and y)."""
    pts = points.reshape(4, 2).astype(np.float32)
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)


def find_page(frame: np.ndarray, *, min_area: float = 0.15) -> np.ndarray:
    """The page's corners (4×2, ordered) in ``frame``.

    Raises :class:`PageNotFound` when no quadrilateral covering at least ``min_area`` of the frame is seen.
    """
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    edges = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 50, 150)
    # Dilating closes the small gaps text and shadow leave in the page's outline.
    edges = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        if cv2.contourArea(contour) < min_area * w * h:
            break
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(approx) != 4 or not cv2.isContourConvex(approx):
            continue
        xs, ys = approx[:, 0, 0], approx[:, 0, 1]
        # A quadrilateral touching the frame's edge is the mat, the desk or a page hanging out of
        # view, not a whole page: scanning it would cut the page off.
        if (xs.min() <= _EDGE_PX or ys.min() <= _EDGE_PX
                or xs.max() >= w - 1 - _EDGE_PX or ys.max() >= h - 1 - _EDGE_PX):
            continue
        return order_corners(approx)
    raise PageNotFound("no page found on the document camera: lay the page flat, fully inside the marked "
                       "area, on the dark mat; or ask staff to scan it")


def flatten(frame: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Warp the quadrilateral ``corners`` (ordered) to an upright rectangle of its own proportions."""
    tl, tr, br, bl = corners
    width = round(float(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = round(float(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    # The dilated outline sits a few pixels outside the paper: trim a thin margin after warping.
    target = np.array([(0, 0), (width - 1, 0), (width - 1, height - 1), (0, height - 1)], np.float32)
    page = cv2.warpPerspective(frame, cv2.getPerspectiveTransform(corners, target), (width, height))
    m = max(2, min(width, height) // 100)
    return page[m:height - m, m:width - m]


def even_lighting(page: np.ndarray) -> np.ndarray:
    """Divide out the illumination: each channel over an estimate of the light falling on the paper.

    The estimate is a grey closing (which removes dark marks narrower than its kernel) of a quarter-size
    copy, blurred and scaled back up; dividing by it makes the paper evenly white and keeps the ink dark.
    Dark areas wider than about a sixth of the page (a large photo) come out lighter in their middle.
    """
    h, w = page.shape[:2]
    small = cv2.resize(page, (max(8, w // 4), max(8, h // 4)), interpolation=cv2.INTER_AREA)
    k = max(5, (min(small.shape[:2]) // 6) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    background = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (k, k), 0)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(page, np.maximum(background, 1), scale=245)


def compress(page: np.ndarray, max_bytes: int = DEFAULT_MAX_BYTES, *,
             qualities: tuple[int, ...] = (90, 80, 70, 60, 50, 40)) -> tuple[bytes, int, np.ndarray]:
    """JPEG ``page`` at the best quality under ``max_bytes``, downscaling by 0.8 when none fits.

    Returns (jpeg, quality, the image actually encoded). Raises ValueError for an impossible limit.
    """
    image = page
    while min(image.shape[:2]) >= 64:
        for q in qualities:
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok and buf.size <= max_bytes:
                return buf.tobytes(), q, image
        image = cv2.resize(image, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    raise ValueError(f"a page cannot be compressed under {max_bytes} bytes; raise the limit")


def scan_page(frame: np.ndarray, *, max_bytes: int = DEFAULT_MAX_BYTES, grey: bool = False) -> ScannedPage:
    """Find, flatten, even and compress the page in ``frame``. Raises :class:`PageNotFound`.

    ``grey=True`` stores a grey page (smaller; enough for text documents).
    """
    corners = find_page(frame)
    page = even_lighting(flatten(frame, corners))
    if grey and page.ndim == 3:
        page = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    jpeg, quality, encoded = compress(page, max_bytes)
    h, w = encoded.shape[:2]
    return ScannedPage(jpeg, w, h, quality, tuple((int(x), int(y)) for x, y in corners))


@dataclass
class Material:
    """The pages of one submitted material (e.g. 户口簿 home page and the resident's own page)."""

    name: str
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pages: int = 20
    pages: list[ScannedPage] = field(default_factory=list)

    def add(self, frame: np.ndarray) -> ScannedPage:
        """Scan ``frame`` as the next page. Raises :class:`PageNotFound`, or ValueError when full."""
        if len(self.pages) >= self.max_pages:
            raise ValueError(f"{self.name}: at most {self.max_pages} pages per material")
        page = scan_page(frame, max_bytes=self.max_bytes)
        self.pages.append(page)
        return page

    def remove(self, index: int) -> None:
        """Drop page ``index`` (the resident retakes it)."""
        del self.pages[index]

    def clear(self) -> None:
        """Forget every page (submitted, or the session ended)."""
        self.pages.clear()

    @property
    def total_bytes(self) -> int:
        return sum(len(p.jpeg) for p in self.pages)
