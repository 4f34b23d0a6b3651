"""Empty follicular openings: dots on hand-made skin found where they were drawn, and nowhere else."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

import densitometry
from densitometry import synthetic
from densitometry.errors import ParameterError
from densitometry.follicular import follicular_units
from densitometry.openings import OPENING_COLUMNS, find_empty_openings

UM_PER_PX = 5.0
SKIN_RGB = (205, 172, 160)
#: Dark (brown-pink) empty openings, 80 µm across, and one yellow dot, in (row, col) pixels.
DARK_DOTS = ((120, 150), (130, 470), (420, 110), (470, 480))
YELLOW_DOT = (300, 420)


def _dot(image, centre_rc, diameter_px, factors):
    """Multiply the skin by ``1 - factors`` inside a soft-edged disc."""
    layer = np.zeros(image.shape[:2], np.float32)
    cv2.circle(layer, (centre_rc[1], centre_rc[0]), round(diameter_px / 2), 1.0, -1, cv2.LINE_AA)
    layer = cv2.GaussianBlur(layer, (0, 0), 1.5)
    image *= 1.0 - layer[..., None] * np.asarray(factors, np.float32)


def skin_photo(*, dots=True, hairs=True, seed=0):
    """600x600 px of mottled skin at 5 µm/px with four dark dots, a yellow dot and three dark hairs.

    One hair ends on a dark dot drawn at its root: that opening has a hair and is not empty.
    """
    rng = np.random.default_rng(seed)
    image = np.empty((600, 600, 3), np.float32)
    image[:] = SKIN_RGB
    mottle = cv2.GaussianBlur(rng.normal(0, 1, (600, 600)).astype(np.float32), (0, 0), 6)
    image *= (1.0 + 0.6 * mottle / mottle.std() * 0.03)[..., None]
    if dots:
        for centre in DARK_DOTS:
            _dot(image, centre, 80 / UM_PER_PX, (0.17, 0.3, 0.26))
        _dot(image, YELLOW_DOT, 90 / UM_PER_PX, (-0.03, -0.015, 0.35))
        _dot(image, (250, 560), 80 / UM_PER_PX, (0.17, 0.3, 0.26))  # the opening of the hair below
    if hairs:
        for start, end in (((250, 560), (40, 330)), ((560, 40), (330, 560)), ((0, 250), (599, 330))):
            cv2.line(image, start[::-1], end[::-1], (70, 50, 45), 14, cv2.LINE_AA)
    image += rng.normal(0, 2.0, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_dots_on_skin_are_found_where_they_were_drawn():
    result = densitometry.analyze(skin_photo(), um_per_px=UM_PER_PX)
    assert result.hair_count == 3
    table = find_empty_openings(result)
    assert list(table.columns) == list(OPENING_COLUMNS)
    expected = {centre: "dark" for centre in DARK_DOTS} | {YELLOW_DOT: "yellow"}
    assert len(table) == len(expected)  # not the opening at the hair's root, not the hairs
    for (row, col), kind in expected.items():
        distance = np.hypot(table["row_px"] - row, table["col_px"] - col)
        match = table.iloc[int(np.argmin(distance))]
        assert distance.min() <= 3.0
        assert match["kind"] == kind
        assert 50.0 <= match["diameter_um"] <= 130.0  # drawn 80-90 µm; read at one of three radii
        assert match["contrast"] >= 0.15


def test_plain_skin_and_hairs_alone_give_no_openings():
    assert find_empty_openings(densitometry.analyze(skin_photo(dots=False), um_per_px=UM_PER_PX)).empty
    bare = densitometry.analyze(skin_photo(dots=False, hairs=False), um_per_px=UM_PER_PX)
    assert find_empty_openings(bare).empty


def test_fainter_dots_need_a_lower_contrast_threshold():
    result = densitometry.analyze(skin_photo(), um_per_px=UM_PER_PX)
    assert find_empty_openings(result, min_contrast=0.5).empty
    assert len(find_empty_openings(result, min_contrast=0.1)) >= len(DARK_DOTS) + 1


def test_openings_are_reported_with_the_units_summary_and_overlay():
    result = densitometry.analyze(skin_photo(), um_per_px=UM_PER_PX)
    units = follicular_units(result)
    assert units.empty_opening_count == len(DARK_DOTS) + 1
    assert units.yellow_dot_count == 1
    summary = units.summary()
    assert summary["empty_opening_count"] == len(DARK_DOTS) + 1
    assert summary["empty_opening_density_per_cm2"] == pytest.approx(
        (len(DARK_DOTS) + 1) / result.field_area_cm2
    )
    assert result.summary()["empty_opening_count"] == len(DARK_DOTS) + 1
    assert result.summary()["yellow_dot_count"] == 1
    # The overlay rings each opening; the photo far from any opening or hair is untouched.
    overlay = result.overlay()
    row, col = YELLOW_DOT
    ring = overlay[row - 20 : row + 21, col - 20 : col + 21].astype(int)
    assert np.any(np.all(np.abs(ring - (240, 228, 66)) <= 40, axis=-1))
    assert np.array_equal(overlay[560:580, 200:220], result.image[560:580, 200:220])


def test_dots_found_on_phantoms_lie_on_follicular_openings():
    """On rendered photos nearly every dot found is an opening (empty, or with a hair the analysis missed)."""
    found = on_opening = 0
    for scenario in ("miniaturised", "artefacts", "low_contrast"):
        for seed in range(4):
            photo = synthetic.generate(scenario, seed=seed, width_px=640, height_px=480)
            result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
            openings = np.array([unit.position_px for unit in photo.units]).reshape(-1, 2)
            table = find_empty_openings(result)
            for row, col in zip(table["row_px"], table["col_px"], strict=True):
                found += 1
                on_opening += np.hypot(*(openings - (row, col)).T).min() * photo.um_per_px <= 80.0
    assert found >= 3
    assert on_opening >= 0.75 * found


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_contrast": 0.0}, "min_contrast"),
        ({"min_contrast": 1.5}, "min_contrast"),
        ({"min_contrast": math.nan}, "min_contrast"),
        ({"min_contrast": "high"}, "min_contrast"),
        ({"diameter_range_um": (200.0, 50.0)}, "diameter_range_um"),
        ({"diameter_range_um": (0.0, 50.0)}, "diameter_range_um"),
        ({"diameter_range_um": (50.0, math.inf)}, "diameter_range_um"),
        ({"diameter_range_um": 100.0}, "diameter_range_um"),
    ],
)
def test_bad_settings_are_clear_errors(options, message):
    result = densitometry.analyze(skin_photo(dots=False, hairs=False), um_per_px=UM_PER_PX)
    with pytest.raises(ParameterError, match=message):
        find_empty_openings(result, **options)
