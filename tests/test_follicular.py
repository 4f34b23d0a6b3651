"""Follicular units and pattern-loss indicators: exact grouping on hand-made results, flags at thresholds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from densitometry.calibration import Calibration
from densitometry.errors import ParameterError
from densitometry.follicular import (
    DISCLAIMER,
    UNIT_COLUMNS,
    FollicularUnits,
    follicular_units,
    pattern_indicators,
)
from densitometry.results import HAIR_COLUMNS, AnalysisParameters, AnalysisResult

UM_PER_PX = 5.0  # 150 µm default spacing = 30 px


def fake_result(segments, *, diameters_um=None, shape=(400, 400), um_per_px=UM_PER_PX):
    """An `AnalysisResult` with straight hairs from ``start`` to ``end`` (row, col) on blank skin."""
    diameters_um = diameters_um or [70.0] * len(segments)
    parameters = AnalysisParameters()
    rows, centerlines = [], []
    for index, ((start, end), diameter) in enumerate(zip(segments, diameters_um, strict=True)):
        coords = np.linspace(start, end, 50)
        centerlines.append(coords)
        rows.append(
            {
                "hair_id": index,
                "diameter_um": diameter,
                "length_um": float(np.linalg.norm(np.subtract(end, start))) * um_per_px,
                "thickness_class": parameters.classify(diameter).value,
                "contrast": 0.5,
                "start_row_px": float(start[0]),
                "start_col_px": float(start[1]),
                "end_row_px": float(end[0]),
                "end_col_px": float(end[1]),
                "touches_border": False,
                "junction_count": 0,
                "diameter_sample_count": 10,
            }
        )
    return AnalysisResult(
        image_name="fake",
        calibration=Calibration(um_per_px),
        image_shape_px=shape,
        parameters=parameters,
        polarity="dark",
        hairs=pd.DataFrame(rows, columns=list(HAIR_COLUMNS)),
        centerlines_px=tuple(centerlines),
        hair_mask=np.zeros(shape, bool),
        image=np.full((*shape, 3), 180, np.uint8),
    )


# Units of 1, 2 and 3 hairs, roots well inside the field and > 1 mm apart; tips fan out.
UNIT_1 = [((100, 100), (100, 180))]
UNIT_2 = [((250, 100), (330, 120)), ((251, 101), (330, 80))]
UNIT_3 = [((100, 300), (180, 330)), ((101, 300), (180, 290)), ((100, 301), (180, 250))]


def test_units_of_one_two_three_hairs():
    units = follicular_units(fake_result(UNIT_1 + UNIT_2 + UNIT_3))
    assert units.unit_count == 3
    assert units.hairs_per_unit_mean == pytest.approx(2.0)
    assert units.single_hair_unit_fraction == pytest.approx(1 / 3)
    assert units.size_distribution == {1: 1, 2: 1, 3: 1, "4+": 0}
    assert list(units.table.columns) == list(UNIT_COLUMNS)
    assert sorted(units.table["size"]) == [1, 2, 3]
    assert sorted(map(sorted, units.table["hair_ids"])) == [[0], [1, 2], [3, 4, 5]]
    assert units.hair_unit_ids[1] == units.hair_unit_ids[2] != units.hair_unit_ids[0]
    assert units.density_per_cm2 == pytest.approx(3 / fake_result(UNIT_1).field_area_cm2)
    assert units.summary()["units_4plus_hairs"] == 0


def test_root_is_the_end_shared_with_the_other_hairs_of_the_unit():
    reversed_unit = [(end, start) for start, end in UNIT_3]
    units = follicular_units(fake_result(reversed_unit))
    assert units.unit_count == 1
    assert not units.root_at_start.any()
    np.testing.assert_allclose(units.root_px.mean(axis=0), [100.3, 300.3], atol=1.0)


def test_border_end_is_never_a_root_and_hairs_rooted_outside_belong_to_no_unit():
    hairs = [
        ((0, 200), (80, 200)),  # from the top border; its tip points up, against UNIT_2's stream
        ((0, 50), (399, 60)),  # crosses the field
        ((300, 0), (300, 80)),  # from the left border, across the stream: no root cue at the inner end
    ] + UNIT_2
    units = follicular_units(fake_result(hairs))
    assert list(units.hair_unit_ids[:3]) == [-1, -1, -1]
    assert units.outside_hair_count == 3
    assert list(units.root_ambiguous[:3]) == [False, False, True]
    assert units.summary()["hairs_root_ambiguous"] == 1
    assert units.unit_count == 1
    # A border-cut hair whose inner end leaves with the hairs of a unit belongs to that unit.
    joined = follicular_units(fake_result([((399, 110), (250, 100))] + UNIT_2))
    assert joined.unit_count == 1
    assert joined.table["size"].iloc[0] == 3
    assert not joined.root_at_start[0]


def test_tips_clipped_side_by_side_are_not_companions():
    # Two hairs of a unit clipped to one length: roots touching at (200, 100-113), tips 27 px (135 µm)
    # apart. Both pairs of ends are close and parallel, but going in from the tips the hairs converge
    # (towards their opening), so only the roots are companions. Centrelines run tip to root.
    hairs = [((120, 95), (200, 100)), ((120, 122), (200, 113))]
    units = follicular_units(fake_result(hairs))
    assert units.unit_count == 1
    assert not units.root_at_start.any()
    np.testing.assert_allclose(units.root_px.mean(axis=0), [200, 106.5], atol=1.0)


def test_border_hair_is_rooted_inside_when_it_leaves_along_the_hair_stream():
    # Units of two hairs leave their openings downwards (+row). A hair cut by the bottom border whose
    # inner end leaves downwards, like them, emerges there; one cut by the top border, whose inner end
    # leaves upwards, ends there and is rooted outside. Neither has a companion at its inner end.
    stream = [((60, 60 + 90 * k), (140, 70 + 90 * k)) for k in range(4)]
    stream += [((61, 71 + 90 * k), (140, 90 + 90 * k)) for k in range(4)]
    hairs = stream + [((250, 120), (399, 130)), ((0, 300), (300, 290))]
    units = follicular_units(fake_result(hairs))
    assert units.hair_unit_ids[8] >= 0 and units.root_at_start[8]
    assert units.hair_unit_ids[9] == -1
    assert not units.root_ambiguous[8:].any()
    assert units.unit_count == 5


def test_a_tip_lying_near_a_root_is_not_a_companion():
    # A hair whose tip ends at the unit's root, pointing the other way, is a separate (single) unit.
    hairs = [((250, 100), (330, 120)), ((251, 101), (330, 80)), ((180, 200), (245, 104))]
    units = follicular_units(fake_result(hairs))
    assert units.unit_count == 2
    assert units.root_at_start[2]
    assert sorted(units.table["size"]) == [1, 2]


def test_roots_further_apart_than_the_spacing_are_separate_units():
    hairs = [((200, 100), (200, 20)), ((200, 131), (280, 131))]  # roots 31 px = 155 µm apart
    assert follicular_units(fake_result(hairs)).unit_count == 2
    assert follicular_units(fake_result(hairs), max_unit_spacing_um=160).unit_count == 1


def test_clusters_above_the_cap_are_split():
    # Six roots 10 px apart in a row: one single-linkage chain of six.
    hairs = [((200, 100 + 10 * i), (120, 100 + 10 * i)) for i in range(6)]
    units = follicular_units(fake_result(hairs), max_hairs_per_unit=4)
    assert units.unit_count == 2
    assert units.table["size"].max() <= 4
    assert follicular_units(fake_result(hairs), max_hairs_per_unit=6).unit_count == 1


def test_no_hairs_gives_no_units():
    units = follicular_units(fake_result([]))
    assert units.unit_count == 0
    assert math.isnan(units.hairs_per_unit_mean)
    assert units.summary()["hairs_per_unit_mean"] is None
    indicators = pattern_indicators(fake_result([]), units, region="frontal")
    assert indicators.flags == ()
    assert indicators.to_dict()["thin_hair_fraction"] is None


def test_result_is_not_modified():
    result = fake_result(UNIT_1 + UNIT_2 + UNIT_3)
    before = result.hairs.copy()
    units = follicular_units(result)
    pattern_indicators(result, units, region="frontal")
    pd.testing.assert_frame_equal(result.hairs, before)
    with pytest.raises(ValueError):
        units.hair_unit_ids[0] = 5


@pytest.mark.parametrize("spacing", [0, -150.0, math.nan, math.inf, "wide", None])
def test_spacing_must_be_positive(spacing):
    with pytest.raises(ParameterError, match="max_unit_spacing_um"):
        follicular_units(fake_result(UNIT_1), max_unit_spacing_um=spacing)


@pytest.mark.parametrize("cap", [0, -1, 2.5, True])
def test_cap_must_be_a_positive_integer(cap):
    with pytest.raises(ParameterError, match="max_hairs_per_unit"):
        follicular_units(fake_result(UNIT_1), max_hairs_per_unit=cap)


def _ten_hairs(thin, not_terminal):
    diameters = [20.0] * thin + [45.0] * (not_terminal - thin) + [80.0] * (10 - not_terminal)
    hairs = [((20 + 35 * i, 20), (20 + 35 * i, 120)) for i in range(10)]
    return fake_result(hairs, diameters_um=diameters)


@pytest.mark.parametrize(("thin", "flag"), [(0, False), (1, False), (2, True)])
def test_thin_hair_flag_above_ten_percent(thin, flag):
    result = _ten_hairs(thin, thin)
    indicators = pattern_indicators(result, follicular_units(result))
    assert indicators.thin_hair_fraction == pytest.approx(thin / 10)
    assert indicators.thin_hair_flag is flag


@pytest.mark.parametrize(("not_terminal", "flag"), [(2, False), (3, True)])
def test_heterogeneity_flag_above_twenty_percent(not_terminal, flag):
    result = _ten_hairs(0, not_terminal)
    indicators = pattern_indicators(result, follicular_units(result))
    assert indicators.heterogeneity_fraction == pytest.approx(not_terminal / 10)
    assert indicators.heterogeneity_flag is flag
    assert indicators.thin_hair_flag is False


@pytest.mark.parametrize(
    ("region", "norm", "flag"), [("frontal", 0.35, False), ("occipital", 0.30, True), (None, None, None)]
)
def test_single_hair_unit_flag_against_regional_norm(region, norm, flag):
    result = fake_result(UNIT_1 + UNIT_2 + UNIT_3)  # 1 of 3 units is single: 0.333
    indicators = pattern_indicators(result, follicular_units(result), region=region)
    assert indicators.single_hair_unit_norm == norm
    assert indicators.single_hair_unit_flag is flag
    values = indicators.to_dict()
    assert values["disclaimer"] == DISCLAIMER
    assert "not a diagnosis" in values["disclaimer"]
    assert values["thresholds"]["thin_max_um"] == 30.0


def test_custom_norms_and_bad_thresholds():
    result = fake_result(UNIT_1 + UNIT_2 + UNIT_3)
    units = follicular_units(result)
    custom = pattern_indicators(result, units, region="vertex", single_hair_unit_norms={"vertex": 0.5})
    assert custom.single_hair_unit_flag is False
    with pytest.raises(ParameterError, match="region"):
        pattern_indicators(result, units, region="vertex")
    with pytest.raises(ParameterError, match="thin_fraction_limit"):
        pattern_indicators(result, units, thin_fraction_limit=1.5)
    with pytest.raises(ParameterError, match="thin_max_um"):
        pattern_indicators(result, units, thin_max_um=0)
    with pytest.raises(ParameterError, match="units"):
        pattern_indicators(result, None)


def test_units_object_is_frozen():
    units = follicular_units(fake_result(UNIT_1))
    assert isinstance(units, FollicularUnits)
    with pytest.raises(AttributeError):
        units.table = None


@pytest.fixture(scope="module")
def synthetic_units():
    import densitometry
    from densitometry import synthetic

    photo = synthetic.generate("follicular_units", seed=3, width_px=480, height_px=360)
    return photo, densitometry.analyze(photo.image, um_per_px=photo.um_per_px)


def test_end_to_end_on_a_synthetic_photo_is_consistent(synthetic_units):
    photo, result = synthetic_units
    units = follicular_units(result)
    # Every counted hair is in exactly one unit or rooted outside; no unit above the cap.
    assert int(units.table["size"].sum()) + units.outside_hair_count == result.hair_count
    assert sorted(i for ids in units.table["hair_ids"] for i in ids) == sorted(
        result.hairs["hair_id"][units.hair_unit_ids >= 0]
    )
    assert units.table["size"].between(1, 4).all()
    assert 1.0 <= units.hairs_per_unit_mean <= 4.0
    assert units.unit_count > 0
    # With the roots held fixed (same companion radius), doubling the spacing can only merge units.
    wider = follicular_units(result, max_unit_spacing_um=300, companion_radius_um=150)
    assert wider.unit_count <= units.unit_count


def test_true_hairs_of_a_synthetic_photo_group_into_its_units(synthetic_units):
    """Roots and grouping alone: the true visible hairs (ends in random order) against the true units."""
    import dataclasses

    photo, result = synthetic_units
    truth = photo.truth()
    height, width = result.image_shape_px
    rng = np.random.default_rng(0)
    segments, diameters = [], []
    for hair in photo.counted_hairs():
        coords = hair.centerline_px
        inside = (
            (coords[:, 0] >= 0)
            & (coords[:, 0] <= height - 1)
            & (coords[:, 1] >= 0)
            & (coords[:, 1] <= width - 1)
        )
        coords = coords[inside]
        segments.append(coords[::-1] if rng.random() < 0.5 else coords)
        diameters.append(hair.diameter_um)
    fake = fake_result([(s[0], s[-1]) for s in segments], diameters_um=diameters, shape=(height, width))
    fake = dataclasses.replace(fake, calibration=result.calibration, centerlines_px=tuple(segments))
    units = follicular_units(fake)
    # Tolerances from benchmarks/follicular.py --true-hairs (photos this small hold ~10-20 units).
    assert units.unit_count == pytest.approx(truth["follicular_unit_count"], rel=0.35)
    assert units.hairs_per_unit_mean == pytest.approx(truth["hairs_per_unit_mean"], abs=0.6)


def test_an_end_hidden_under_a_crossing_hair_is_not_a_root():
    # A hair traced in two pieces that stop where a wide hair crosses over them: the mask runs on past
    # those ends, so they are hidden ends (like border ends) and neither piece makes a unit there.
    result = fake_result([((100, 60), (100, 185)), ((100, 215), (100, 340)), ((20, 200), (380, 200))])
    result.hair_mask[95:106, 60:341] = True  # the broken hair
    result.hair_mask[20:381, 186:215] = True  # the wide hair over it
    units = follicular_units(result)
    hidden_ends = units.root_px[:2]
    assert not np.any(np.all(np.isclose(hidden_ends, [[100, 185]]), axis=1))
    assert not np.any(np.all(np.isclose(hidden_ends, [[100, 215]]), axis=1))
    # Without the mask the two facing ends lie within the spacing and pass for one opening.
    assert follicular_units(fake_result([((100, 60), (100, 185)), ((100, 215), (100, 340))])).unit_count == 2


def test_an_end_inside_a_tangle_is_not_a_root():
    # A hair whose tracing stops between other shafts: no shaft runs straight on past its end (so the
    # end is not hidden under one crossing hair), but hair covers most of the skin beyond it, so it is
    # no root, and with no cue at its other end the hair belongs to no unit.
    result = fake_result([((100, 185), (100, 60))])
    result.hair_mask[95:106, 60:186] = True  # the hair itself
    result.hair_mask[66:97, 150:261] = True  # two shafts just above its end
    result.hair_mask[103:134, 150:261] = True  # two just below
    result.hair_mask[40:161, 222:236] = True  # and one across both, beyond the end
    units = follicular_units(result)
    assert units.unit_count == 0 and units.hair_unit_ids.tolist() == [-1]
    # On open skin the same hair is a unit of one, rooted at its first end (the scores tie), and so it
    # is beside a single shaft passing its end.
    for beside in (False, True):
        alone = fake_result([((100, 185), (100, 60))])
        alone.hair_mask[95:106, 60:186] = True
        alone.hair_mask[66:97, 150:261] = beside
        units = follicular_units(alone)
        assert units.unit_count == 1
        np.testing.assert_allclose(units.root_px[0], [100, 185])


def test_roots_of_one_unit_stay_roots_where_the_mask_runs_on_past_them():
    # The hairs of a unit and a dark opening cover each other's roots in the mask; the companions
    # make those ends roots, not ends hidden under a crossing hair.
    result = fake_result(UNIT_2)
    rows, cols = np.mgrid[0:400, 0:400]
    result.hair_mask[(rows - 235) ** 2 + (cols - 100) ** 2 <= 30**2] = True  # opening beyond the roots
    for (r0, c0), (r1, c1) in UNIT_2:
        for t in np.linspace(0, 1, 200):
            r, c = int(round(r0 + t * (r1 - r0))), int(round(c0 + t * (c1 - c0)))
            result.hair_mask[r - 6 : r + 7, c - 6 : c + 7] = True
    units = follicular_units(result)
    assert units.unit_count == 1 and list(units.table["size"]) == [2]
    np.testing.assert_allclose(units.root_px.mean(axis=0), [250.5, 100.5], atol=1.0)
