"""Document camera scanning on generated desk videos: page geometry, uprightness, lighting, size limit."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.base import ActionHint
from devices.camera import Camera, Material, PageNotFound, find_page, scan_page
from devices.camera.document import compress, flatten
from devices.camera.simulate import PAGE_CORNERS, PAGE_SIZE, FaceScene, document_scene, write_video

A4 = PAGE_SIZE[1] / PAGE_SIZE[0]


def first_frame(path: Path) -> np.ndarray:
    with Camera(str(path), stall_timeout_s=5.0) as cam:
        return cam.wait_frame(timeout=5).image


@pytest.fixture(scope="module")
def desk_frame(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = write_video(tmp_path_factory.mktemp("doc") / "document.avi", document_scene(), count=5)
    return first_frame(path)


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def region(img: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> float:
    h, w = img.shape[:2]
    return float(img[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)].mean())


def test_the_page_is_found_where_it_lies(desk_frame: np.ndarray) -> None:
    corners = find_page(desk_frame)
    for found, drawn in zip(corners, PAGE_CORNERS, strict=True):
        assert np.linalg.norm(found - np.array(drawn)) < 8, (corners, PAGE_CORNERS)


def test_the_scan_is_upright_with_the_pages_proportions(desk_frame: np.ndarray) -> None:
    page = scan_page(desk_frame)
    img = decode(page.jpeg)
    assert (img.shape[1], img.shape[0]) == (page.width, page.height)
    assert page.height / page.width == pytest.approx(A4, rel=0.05)  # A4, not the skewed outline
    assert 250 < page.width < 300  # the page is ~280 px wide in the frame: no blow-up, no crop
    # The orientation mark: dark at the top-left, paper at the other three corners.
    mark = (24 / 420, 24 / 594, 64 / 420, 64 / 594)
    assert region(img, *mark) < 60
    assert region(img, 1 - mark[2], mark[1], 1 - mark[0], mark[3]) > 200
    assert region(img, mark[0], 1 - mark[3], mark[2], 1 - mark[1]) > 200
    assert region(img, 1 - mark[2], 1 - mark[3], 1 - mark[0], 1 - mark[1]) > 200
    # No desk left at the borders: the outer rim is paper-bright.
    for rim in (img[:3], img[-3:], img[:, :3], img[:, -3:]):
        assert rim.mean() > 180


def test_uneven_lamp_light_is_evened_out(desk_frame: np.ndarray) -> None:
    raw = flatten(desk_frame, find_page(desk_frame))
    img = decode(scan_page(desk_frame).jpeg)
    # Blank paper in the left and right margins, beside the text lines.
    left, right = (0.02, 0.3, 0.07, 0.55), (0.93, 0.3, 0.98, 0.55)
    raw_l, raw_r = region(raw, *left), region(raw, *right)
    out_l, out_r = region(img, *left), region(img, *right)
    assert abs(raw_l - raw_r) > 15  # the scene really is lit unevenly
    assert abs(out_l - out_r) < 6
    assert min(out_l, out_r) > 225  # and the paper comes out white


def test_pages_fit_the_platforms_size_limit(desk_frame: np.ndarray) -> None:
    roomy = scan_page(desk_frame, max_bytes=500_000)
    assert len(roomy.jpeg) <= 500_000 and roomy.quality == 90
    tight = scan_page(desk_frame, max_bytes=9_000)
    assert len(tight.jpeg) <= 9_000
    assert tight.quality < 90 or tight.width < roomy.width
    assert tight.height / tight.width == pytest.approx(A4, rel=0.05)
    with pytest.raises(ValueError, match="cannot be compressed"):
        compress(np.full((600, 600, 3), 128, np.uint8), max_bytes=100)


def test_a_material_collects_several_pages(desk_frame: np.ndarray) -> None:
    material = Material("户口簿", max_bytes=200_000, max_pages=2)
    material.add(desk_frame)
    material.add(np.ascontiguousarray(desk_frame[:, ::-1]))  # a second page, mirrored on the desk
    assert len(material.pages) == 2 and material.total_bytes <= 2 * 200_000
    with pytest.raises(ValueError, match="at most 2 pages"):
        material.add(desk_frame)
    material.remove(0)
    assert len(material.pages) == 1
    material.clear()
    assert material.pages == [] and material.total_bytes == 0
    assert "bytes" in repr(scan_page(desk_frame)) and len(repr(scan_page(desk_frame))) < 100


def test_no_page_on_the_desk_says_what_to_do(tmp_path: Path) -> None:
    for name, scene in {"desk": document_scene(with_page=False), "hall": FaceScene()}.items():
        frame = first_frame(write_video(tmp_path / f"{name}.avi", scene, count=3))
        with pytest.raises(PageNotFound, match="lay the page flat") as info:
            scan_page(frame)
        assert info.value.hint is ActionHint.CLEAR and info.value.retryable
        assert "staff" in str(info.value)  # the other way


def test_a_page_hanging_out_of_view_is_not_scanned(desk_frame: np.ndarray) -> None:
    # Slide the scene 250 px left: the page (x 160-470) now runs off the frame's left edge. A scan of
    # the visible part would cut the page off, so it must not pass as a page.
    shifted = np.empty_like(desk_frame)
    shifted[:, :-250] = desk_frame[:, 250:]
    shifted[:, -250:] = desk_frame[:40, -40:].mean(axis=(0, 1))  # bare desk fills the gap
    with pytest.raises(PageNotFound):
        find_page(shifted)
