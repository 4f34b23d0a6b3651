"""Hairs appearing and disappearing in the difference of two aligned contrast images."""

import numpy as np
import pytest

from densitometry import Calibration
from densitometry.change import changed_hairs, continuing

UM_PER_PX = 5.0
SHAPE = (300, 400)


def _contrast(*hairs):
    """A contrast image (skin 0) with straight hairs ``(start_rc, end_rc, diameter_um, contrast)``."""
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]].astype(float)
    image = np.zeros(SHAPE, dtype=np.float32)
    for start, end, diameter_um, contrast in hairs:
        start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
        direction = (end - start) / np.hypot(*(end - start))
        along = (rows - start[0]) * direction[0] + (cols - start[1]) * direction[1]
        across = np.abs((rows - start[0]) * direction[1] - (cols - start[1]) * direction[0])
        length = np.hypot(*(end - start))
        on = (along >= 0) & (along <= length) & (across <= 0.5 * diameter_um / UM_PER_PX)
        image[on] = np.maximum(image[on], contrast)
    return image


def _line(hair):
    start, end = np.asarray(hair[0], dtype=float), np.asarray(hair[1], dtype=float)
    steps = np.linspace(0.0, 1.0, int(np.hypot(*(end - start))) + 1)
    return start + steps[:, None] * (end - start)


def _changes(before_hairs, after_hairs, *, before_traced=None, after_traced=None):
    """Changes between two photos whose analyses traced ``*_traced`` (default: every hair)."""
    before_traced = before_hairs if before_traced is None else before_traced
    after_traced = after_hairs if after_traced is None else after_traced
    return changed_hairs(
        _contrast(*before_hairs),
        _contrast(*after_hairs),
        np.ones(SHAPE, dtype=bool),
        Calibration(UM_PER_PX),
        before_lines_px=[_line(hair) for hair in before_traced],
        after_lines_px=[_line(hair) for hair in after_traced],
        before_widths_px=[hair[2] / UM_PER_PX for hair in before_traced],
        after_widths_px=[hair[2] / UM_PER_PX for hair in after_traced],
        low_contrast=0.05,
        high_contrast=0.12,
        min_diameter_um=15.0,
        min_length_um=150.0,
    )


STAYING = [((40, 20), (60, 380), 70.0, 0.5), ((150, 30), (280, 200), 60.0, 0.5)]


def test_unchanged_site_shows_no_change():
    changes = _changes(STAYING, STAYING)
    assert changes.new_px == () and changes.lost_px == ()


def test_hair_removed_beside_a_touching_neighbour_is_lost():
    """Two hairs of one unit touching side by side, traced as one band; one is gone at the second visit."""
    pair = [((100, 40), (110, 360), 70.0, 0.5), ((114, 40), (124, 360), 70.0, 0.5)]
    band = [((107, 40), (117, 360), 140.0, 0.5)]
    changes = _changes(STAYING + pair, STAYING + pair[:1], before_traced=STAYING + band)
    assert len(changes.lost_px) == 1 and changes.new_px == ()
    lost = changes.lost_px[0]
    assert np.abs(lost[:, 0] - (114 + (lost[:, 1] - 40) * 10 / 320)).mean() < 4.0  # along the gone hair


def test_new_hair_crossing_others_counts_once():
    """A new hair cut by the hair lying over it is one hair: across it, and along it for 0.7 mm."""
    across = ((10, 200), (290, 220), 60.0, 0.5)
    assert len(_changes(STAYING, STAYING + [across]).new_px) == 1
    staying = [((150, 10), (150, 390), 70.0, 0.5)]
    along = ((120, 20), (183, 380), 60.0, 0.5)  # 10 degrees off the staying hair, under it for 150 px
    changes = _changes(staying, staying + [along])
    assert len(changes.new_px) == 1 and changes.lost_px == ()


def test_hair_that_grew_or_thickened_is_no_new_hair():
    grown = [((40, 20), (60, 380), 70.0, 0.5), ((150, 30), (220, 121.5), 60.0, 0.5)]  # 150 -> 280 row end
    assert _changes(grown, STAYING).new_px == ()
    thick = [((40, 20), (60, 380), 70.0, 0.5), ((150, 30), (280, 200), 110.0, 0.5)]
    changes = _changes(STAYING, thick)
    assert changes.new_px == () and changes.lost_px == ()


@pytest.mark.parametrize(
    "staying, added",
    [
        # Added to a unit: it leaves its neighbour's side at 20 degrees.
        (((150, 10), (150, 390), 70.0, 0.5), ((150, 100), (218, 288), 60.0, 0.5)),
        # Its tip lies under a thick hair it meets at 30 degrees: on that hair's shaft beyond its end,
        # but not along it.
        (((150, 10), (150, 390), 150.0, 0.5), ((45, 18.1), (160, 217.3), 30.0, 0.5)),
    ],
)
def test_new_hair_ending_in_line_with_another_hair_is_new(staying, added):
    changes = _changes([staying], [staying, added], before_traced=[])
    assert len(changes.new_px) == 1 and changes.lost_px == ()


@pytest.mark.parametrize("before_contrast", [0.3, 0.08])
def test_hair_shown_fainter_is_no_change(before_contrast):
    """A vellus hair that darkened, or a shaft defocused in one photo, is the same hair at both visits."""
    faint = ((200, 250), (290, 390), 30.0, before_contrast)
    dark = ((200, 250), (290, 390), 30.0, 0.6)
    changes = _changes(STAYING + [faint], STAYING + [dark], before_traced=STAYING)  # too faint to trace
    assert changes.new_px == () and changes.lost_px == ()


def test_stretch_continuing_a_hair_beyond_its_end_is_told_apart():
    """A hair's grown tip, traced as a hair of its own, continues the other photo's hair; others do not."""
    old = ((150, 30), (220, 121.5), 60.0, 0.5)
    tip = ((222, 124), (280, 200), 60.0, 0.5)  # the same line, on from the old end
    beside = ((240, 60), (298, 136), 60.0, 0.5)  # parallel to the tip, 4 widths to its side
    across = ((200, 150), (290, 100), 60.0, 0.5)  # crosses near the old end
    flags = continuing(
        [_line(tip), _line(beside), _line(across)], [_line(old)], [12.0], Calibration(UM_PER_PX)
    )
    assert flags == [True, False, False]


def test_dark_hair_hidden_under_a_white_one_is_not_lost():
    """At the second visit a white hair lies over a dark one along its length: hidden, not lost."""
    dark = ((200, 40), (230, 380), 60.0, 0.5)
    white_over_it = _contrast(((200, 40), (230, 380), 70.0, 0.4))
    arguments = dict(
        before_lines_px=[_line(hair) for hair in (*STAYING, dark)],
        after_lines_px=[_line(hair) for hair in STAYING],
        before_widths_px=[14.0, 12.0, 12.0],
        after_widths_px=[14.0, 12.0],
        low_contrast=0.05,
        high_contrast=0.12,
        min_diameter_um=15.0,
        min_length_um=150.0,
    )
    images = (
        _contrast(*STAYING, dark),
        _contrast(*STAYING),
        np.ones(SHAPE, dtype=bool),
        Calibration(UM_PER_PX),
    )
    assert len(changed_hairs(*images, **arguments).lost_px) == 1  # without the other polarity: lost
    hidden = changed_hairs(
        *images, **arguments, after_opposite=white_over_it, before_opposite=np.zeros(SHAPE)
    )
    assert hidden.lost_px == () and hidden.new_px == ()
