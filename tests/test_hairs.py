"""Individual hairs: pieces of one shaft left apart by the junction pairing are joined, others not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from phantoms import phantom

import densitometry
from densitometry.hairs import TracedHair, join_collinear


def piece(start, end, n=40):
    coords = np.linspace(start, end, n)
    return TracedHair(coords, float(np.linalg.norm(np.subtract(end, start))), (), np.zeros((0, 2)))


def widths(shape=(200, 300), bands=()):
    """A width map (0 off the mask) with horizontal/vertical bands ``(row0, row1, col0, col1)`` of width 8."""
    width_map = np.zeros(shape, np.float32)
    for r0, r1, c0, c1 in bands:
        width_map[r0:r1, c0:c1] = 8.0
    return width_map


def test_pieces_facing_across_a_crossing_are_joined():
    # One horizontal hair traced as two pieces, stopping either side of a crossing 20 px wide.
    hairs = [piece((100, 20), (100, 130)), piece((100, 152), (100, 280))]
    joined = join_collinear(hairs, widths(bands=[(96, 105, 20, 281), (20, 180, 130, 152)]))
    assert len(joined) == 1
    coords = joined[0].coords_px
    assert {tuple(coords[0]), tuple(coords[-1])} == {(100.0, 20.0), (100.0, 280.0)}
    assert joined[0].length_px == np.linalg.norm(np.diff(coords, axis=0), axis=1).sum()
    assert len(joined[0].junctions_px) == 1  # the gap: no diameters measured there


def path(*corners):
    """A piece through ``corners`` sampled every pixel, as a traced skeleton is."""
    coords = [np.array(corners[0], float)]
    for start, end in zip(corners[:-1], corners[1:], strict=True):
        steps = int(np.ceil(np.linalg.norm(np.subtract(end, start))))
        coords.extend(np.linspace(start, end, steps + 1)[1:])
    coords = np.array(coords)
    return TracedHair(
        coords, float(np.linalg.norm(np.diff(coords, axis=0), axis=1).sum()), (), np.zeros((0, 2))
    )


def test_pieces_whose_ends_hook_are_joined():
    # A crossing hair cut the mask askew, so each piece's last width bends 5 px off the shaft's line
    # (about 30 degrees): the ends point away from each other, the shafts do not.
    hairs = [path((100, 20), (100, 122), (105, 130)), path((105, 152), (100, 160), (100, 280))]
    joined = join_collinear(hairs, widths(bands=[(96, 111, 20, 281)]))
    assert len(joined) == 1
    assert {tuple(joined[0].coords_px[0]), tuple(joined[0].coords_px[-1])} == {(100.0, 20.0), (100.0, 280.0)}
    # A piece that turns for good is another hair, hooked end or not.
    turned = [path((100, 20), (100, 122), (105, 130)), path((105, 152), (130, 200), (170, 270))]
    assert len(join_collinear(turned, widths(bands=[(96, 111, 20, 281)]))) == 2


@pytest.mark.parametrize("angle_deg", [30, 45, 60])
def test_a_hair_cut_askew_by_a_hair_lying_over_it_is_traced_whole(angle_deg):
    # A white hair lying over a dark one hides it: the dark mask is cut askew, and the skeleton of
    # each piece ends in the cut's far corner, 7 px (half a width) off the shaft's axis on opposite
    # sides, so that the two ends do not point at each other; the axes 1.5 widths in do.
    from densitometry.hairs import trace_hairs
    from densitometry.skeleton import skeleton_branches

    mask = np.zeros((200, 400), np.uint8)
    cv2.line(mask, (20, 100), (380, 100), 1, 13)
    reach = np.round(150 * np.array([np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))]))
    centre = np.array([200, 100])
    cv2.line(mask, (centre - reach).astype(int).tolist(), (centre + reach).astype(int).tolist(), 0, 12)
    width_map = 2.0 * cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    traced = trace_hairs(skeleton_branches(mask.astype(bool)), width_map)
    assert len(traced) == 1
    assert sorted(traced[0].coords_px[[0, -1], 1].tolist()) == [22.0, 378.0]
    # The refiner's mask holds both polarities: a cut there is no hair lying over the shaft.
    assert len(trace_hairs(skeleton_branches(mask.astype(bool)), width_map, askew_cuts=False)) == 2


def test_pieces_whose_axes_lie_apart_stay_apart():
    # Two shafts side by side, 12 px (1.5 widths) apart, one ending where the other starts: their
    # inner stretches line up within 20 degrees, but each lies off the other's axis.
    band = widths(bands=[(96, 117, 20, 281)])
    side_by_side = [piece((100, 20), (100, 130)), piece((112, 140), (112, 280))]
    assert len(join_collinear(side_by_side, band)) == 2
    in_line = [piece((100, 20), (100, 130)), piece((102, 140), (102, 280))]  # 2 px: one shaft
    assert len(join_collinear(in_line, band)) == 1


def test_pieces_across_a_wide_crossing_are_joined():
    # A hair as wide crosses at about 30 degrees (or two cross together): 40 px of mask between the
    # pieces, five of their 8 px widths; 60 px is too far.
    crossing = [piece((100, 20), (100, 130)), piece((100, 170), (100, 280))]
    assert len(join_collinear(crossing, widths(bands=[(96, 105, 20, 281), (20, 180, 130, 170)]))) == 1
    wider = [piece((100, 20), (100, 120)), piece((100, 180), (100, 280))]
    assert len(join_collinear(wider, widths(bands=[(96, 105, 20, 281), (20, 180, 120, 180)]))) == 2


def test_pieces_at_an_angle_over_skin_or_too_far_apart_stay_apart():
    band = widths(bands=[(96, 105, 20, 281), (20, 180, 130, 152)])
    bent = [piece((100, 20), (100, 130)), piece((110, 152), (180, 250))]  # turns ~35 degrees
    assert len(join_collinear(bent, band)) == 2
    over_skin = [piece((100, 20), (100, 130)), piece((100, 152), (100, 280))]
    assert len(join_collinear(over_skin, widths(bands=[(96, 105, 20, 131), (96, 105, 152, 281)]))) == 2
    far = [piece((100, 20), (100, 100)), piece((100, 200), (100, 280))]  # 100 px gap > 5 widths + 6
    assert len(join_collinear(far, widths(bands=[(96, 105, 20, 281)]))) == 2


@pytest.mark.parametrize(("rise_px", "width_px"), [(100, 10), (130, 14), (160, 18), (200, 10)])
def test_a_shallow_crossing_keeps_each_hair_on_its_own_line(rise_px, width_px):
    # Two shafts crossing at 9-19 degrees share a stretch of mask that forks at both ends; each traced
    # hair must leave the shared stretch on its own side (not swap prongs at the far fork).
    shafts = [
        ((240 - rise_px / 2, 20), (240 + rise_px / 2, 620), width_px, 0.6),
        ((240 + rise_px / 2, 20), (240 - rise_px / 2, 620), width_px, 0.6),
    ]
    result = densitometry.analyze(phantom(shafts, shape=(480, 640)), um_per_px=5.0)
    assert result.hair_count == 2
    for coords in result.centerlines_px:
        start, end = coords[0], coords[-1]
        assert (start[0] - 240) * (end[0] - 240) < 0  # from one side of the crossing to the other
        assert abs(abs(start[0] - end[0]) - rise_px * abs(start[1] - end[1]) / 600) < 12  # on one line


@pytest.mark.parametrize("notch_px", [6, 10, 14])
def test_touching_hairs_that_part_at_their_tips_are_traced_whole(notch_px):
    # Two hairs leave one opening touching (a band 31 px wide with a blunt, notched base) and part near
    # their tips. The notch forks the skeleton into two short stubs at the base; stubs are no hairs, so
    # the band is not the shared stretch of a crossing and each hair runs through it to the base.
    from densitometry.hairs import trace_hairs
    from densitometry.skeleton import skeleton_branches

    mask = np.zeros((300, 500), np.uint8)
    cv2.rectangle(mask, (60, 135), (330, 165), 1, -1)
    cv2.line(mask, (320, 140), (430, 120), 1, 12)
    cv2.line(mask, (320, 160), (430, 180), 1, 12)
    notch = [(60, 150 - notch_px // 2), (60 + notch_px, 150), (60, 150 + notch_px // 2)]
    cv2.fillPoly(mask, [np.array(notch, np.int32)], 0)
    width_map = 2.0 * cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    hairs = trace_hairs(skeleton_branches(mask.astype(bool)), width_map)
    assert len(hairs) == 2
    for hair in hairs:
        assert hair.length_px > 330  # base (col 60 + notch) to tip (col 430), not the free prong alone
        assert min(hair.coords_px[0][1], hair.coords_px[-1][1]) < 60 + 30


@pytest.mark.parametrize(
    ("contrast", "junctions", "counted"),
    [(0.08, 6, False), (0.08, 4, True), (0.5, 6, True)],
)
def test_a_faint_trace_through_a_net_of_junctions_is_no_hair(contrast, junctions, counted):
    """A straight 1 mm trace: faint (contrast 0.08) and meeting other traces 6 times, it is a path
    through the net of skin between bright specks (sebum, scale); meeting them 4 times, or dark (a hair
    in a tangle), it is a hair."""
    from densitometry.analyze import _looks_like_a_shaft
    from densitometry.measure import HairMeasurement

    parameters = densitometry.AnalysisParameters()
    um_per_px = 5.0
    coords = np.stack([np.full(191, 50.0), np.arange(191, dtype=float)], axis=1)  # 190 px
    hair = TracedHair(coords, 190.0, (0,), coords[np.linspace(10, 180, junctions).astype(int)])
    measurement = HairMeasurement(
        10.0, contrast, 40, on_shaft_fraction=1.0, edge_spread_px=1.0, band_width_px=10.0
    )
    strength = np.full((100, 200), 0.2, np.float32)  # line-like along all of it
    min_length_px = parameters.min_length_um / um_per_px
    assert _looks_like_a_shaft(hair, measurement, parameters, min_length_px, strength) is counted


@pytest.mark.parametrize(("widths_px", "overlap_px"), [((12, 12), 250), ((16, 10), 150), ((10, 14), 300)])
def test_touching_hairs_with_staggered_ends_are_counted_apart(widths_px, overlap_px):
    # Two hairs of one unit lie side by side and touch (no skin between them) along ``overlap_px``; one
    # runs on alone. The band is no wider than one thick hair (120-130 µm at 5 µm/px), has no fork, and
    # its skeleton is one line: only its width, stepping from one hair to two, tells.
    alone, beside = widths_px
    shafts = [
        ((240, 100), (240, 500), alone, 0.6),
        ((240 + (alone + beside) / 2, 500 - overlap_px), (240 + (alone + beside) / 2, 500), beside, 0.6),
    ]
    result = densitometry.analyze(phantom(shafts), um_per_px=5.0)
    assert result.hair_count == 2
    assert sorted(result.hairs.diameter_um) == pytest.approx(
        [5.0 * min(widths_px), 5.0 * max(widths_px)], abs=12
    )


def test_a_hair_whose_width_changes_for_a_stretch_is_still_one():
    # A hair with a speck lying against its side (the band widens over about one width), and two hairs
    # crossing at a shallow angle (the band widens where they overlap) are one hair each.
    speck = [((240, 100), (240, 500), 12, 0.6), ((250, 290), (250, 304), 10, 0.6)]
    assert densitometry.analyze(phantom(speck), um_per_px=5.0).hair_count == 1
    crossing = [((200, 60), (280, 580), 12, 0.6), ((280, 60), (200, 580), 12, 0.6)]
    assert densitometry.analyze(phantom(crossing), um_per_px=5.0).hair_count == 2
