"""Field of view: a dark surround (a dermatoscope's round field, dark corners) or a flat margin is no scalp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from phantoms import phantom

import densitometry
from densitometry.calibration import Calibration
from densitometry.preprocess import field_of_view

UM_PER_PX = 5.0
SHAPE = (480, 640)
CENTRE = np.array([240.0, 320.0])
RADIUS_PX = 225.0
#: Shafts (start, end, width px, contrast): four inside the round field, two crossing its rim.
INSIDE = [
    ((150, 200), (170, 330), 14, 0.6),
    ((300, 220), (360, 300), 12, 0.6),
    ((200, 400), (320, 430), 16, 0.6),
    ((330, 350), (300, 460), 10, 0.6),
]
CROSSING = [
    ((240, 60), (250, 200), 14, 0.6),  # enters from the left, 120 px inside the field less its margin
    ((20, 330), (130, 340), 12, 0.6),  # enters from the top
]


def framed(image, *, radius_px=RADIUS_PX, centre=CENTRE, surround=0.03, edge_blur_px=2.0):
    """``image`` (grey or RGB float) seen through a round field with a dark surround and a soft rim."""
    rows, cols = np.indices(image.shape[:2])
    inside = (np.hypot(rows - centre[0], cols - centre[1]) <= radius_px).astype(np.float32)
    weight = cv2.GaussianBlur(inside, (0, 0), edge_blur_px)
    if image.ndim == 3:
        weight = weight[..., None]
    return (image * weight + surround * (1.0 - weight)).astype(np.float32)


def test_a_round_field_is_found_and_only_its_hairs_count():
    photo = framed(phantom(INSIDE + CROSSING, shape=SHAPE))
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX)
    assert result.field_mask is not None
    # The field is the disc less a margin of the thickest hair (150 µm = 30 px), so its rim is not read.
    margin_px = 150.0 / UM_PER_PX
    expected_px = np.pi * (RADIUS_PX - margin_px) ** 2
    assert result.field_area_cm2 == pytest.approx(Calibration(UM_PER_PX).area_cm2(expected_px), rel=0.03)
    assert result.field_fraction == pytest.approx(expected_px / (SHAPE[0] * SHAPE[1]), rel=0.03)
    # Every shaft once, the rim never: the count and the density over the field.
    assert result.hair_count == len(INSIDE) + len(CROSSING)
    assert result.density_per_cm2 == pytest.approx(result.hair_count / result.field_area_cm2)
    for coords in result.centerlines_px:
        assert np.all(np.hypot(*(coords - CENTRE).T) <= RADIUS_PX - margin_px + 2)
    # The two shafts cut by the field's edge are marked like shafts cut by the photo's border.
    assert int(result.hairs["touches_border"].sum()) == len(CROSSING)
    assert result.summary()["field_fraction"] == pytest.approx(result.field_fraction)


def test_whole_field_of_view_when_asked_or_when_nothing_frames_the_photo():
    photo = framed(phantom(INSIDE, shape=SHAPE))
    whole = densitometry.analyze(photo, um_per_px=UM_PER_PX, field_of_view="whole")
    assert whole.field_mask is None
    assert whole.field_area_cm2 == pytest.approx(Calibration(UM_PER_PX).area_cm2(SHAPE[0] * SHAPE[1]))
    plain = densitometry.analyze(phantom(INSIDE, shape=SHAPE), um_per_px=UM_PER_PX)
    assert plain.field_mask is None and plain.field_fraction == 1.0
    assert plain.hair_count == len(INSIDE)
    with pytest.raises(densitometry.ParameterError, match="field_of_view"):
        densitometry.AnalysisParameters(field_of_view="round")


def test_a_tangle_of_black_hair_at_the_border_is_no_surround():
    # Thick black shafts packed into a solid tangle at the right border: dark, reaching the border and
    # wider than any hair (it survives the opening that finds a surround), but its edge follows no
    # circle and the photo beyond such a circle is not dark.
    tangle = [((100 + 18 * k, 640), (300 + 15 * k, 500), 28, 0.95) for k in range(8)]
    tangle += [((120 + 20 * k, 500), (260 + 20 * k, 640), 28, 0.95) for k in range(7)]
    photo = phantom(tangle + INSIDE[:2], shape=SHAPE)
    rgb = np.repeat(photo[..., None], 3, axis=2)
    assert field_of_view(rgb, Calibration(UM_PER_PX)) is None


def test_dark_corners_are_outside_the_field():
    # A camera whose image circle is smaller than the sensor: black corners beyond a soft vignette.
    rows, cols = np.indices(SHAPE)
    distance = np.hypot(rows - CENTRE[0], cols - CENTRE[1])
    vignette = np.clip(1.0 - (distance - 280.0) / 60.0, 0.0, 1.0) ** 2
    photo = (phantom(INSIDE, shape=SHAPE) * vignette).astype(np.float32)
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX)
    assert result.field_mask is not None
    assert not result.field_mask[0, 0] and not result.field_mask[-1, -1]
    assert result.field_mask[0, 320] and result.field_mask[479, 320]  # the field reaches the borders
    assert result.field_mask[240, 60] and not result.field_mask[240, 0]
    assert result.hair_count == len(INSIDE)


@pytest.mark.parametrize("level", [0.98, 0.02])
def test_flat_margins_along_the_edges_are_outside_the_field(level):
    # An exported or letterboxed frame: 50 flat rows at the bottom and 20 columns at the right, white or
    # black, with a little noise as JPEG leaves them. Counted over the whole frame the density would be
    # 14 % low, and the skin beside a white margin is darker than it, a line along its edge.
    photo = phantom(INSIDE + CROSSING, shape=SHAPE)
    noise = np.random.default_rng(1).normal(0.0, 0.01, SHAPE)
    photo[-50:] = level + noise[-50:]
    photo[:, -20:] = level + noise[:, -20:]
    photo = np.clip(photo, 0.0, 1.0)
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX)
    inside_rows, inside_cols = SHAPE[0] - 52, SHAPE[1] - 22  # the margins and two lines more
    assert result.field_mask is not None
    assert result.field_mask[:inside_rows, :inside_cols].all()
    assert not result.field_mask[inside_rows:].any() and not result.field_mask[:, inside_cols:].any()
    assert result.field_area_cm2 == pytest.approx(Calibration(UM_PER_PX).area_cm2(inside_rows * inside_cols))
    assert result.hair_count == len(INSIDE) + len(CROSSING)
    for coords in result.centerlines_px:
        assert coords[:, 0].max() < inside_rows and coords[:, 1].max() < inside_cols


def test_overexposed_skin_along_the_edges_is_no_margin():
    # Skin clipped nearly white where no hair crosses the photo's edge: flat and white like a margin,
    # but it fades into the photo without an edge.
    photo = phantom(INSIDE, shape=SHAPE, skin=0.97, noise=0.005)
    rgb = np.repeat(photo[..., None], 3, axis=2)
    assert field_of_view(rgb, Calibration(UM_PER_PX)) is None
    assert densitometry.analyze(photo, um_per_px=UM_PER_PX).field_mask is None


def test_compare_keeps_its_common_field_inside_both_round_fields():
    from densitometry.synthetic_pairs import make_pair

    before, after, truth = make_pair(
        "clean", seed=0, width_px=640, height_px=480, change="none", rotation_deg=8.0, shift_px=(20.0, -30.0)
    )
    rgb_before = framed(before.image.astype(np.float32) / 255.0)
    rgb_after = framed(after.astype(np.float32) / 255.0)
    plain = densitometry.compare(before.image, after, um_per_px=truth["before_um_per_px"])
    cmp = densitometry.compare(rgb_before, rgb_after, um_per_px=truth["before_um_per_px"])
    assert cmp.registered
    corner_error = np.abs(cmp.transform - np.asarray(truth["transform"]))[:2, 2].max()
    assert corner_error < 2.0
    assert 0.0 < cmp.overlap_area_cm2 < plain.overlap_area_cm2
    assert abs(cmp.delta_density_percent) <= 1.0


def test_the_command_line_sets_the_field_of_view(tmp_path):
    from densitometry.cli import main

    photo = framed(phantom(INSIDE, shape=SHAPE))
    path = tmp_path / "framed.png"
    cv2.imwrite(str(path), np.clip(photo * 255 + 0.5, 0, 255).astype(np.uint8))
    for option, fraction in (("auto", None), ("whole", 1.0)):
        out = tmp_path / option
        assert (
            main(["analyze", str(path), "--um-per-px", "5", "--field-of-view", option, "-o", str(out)]) == 0
        )
        rows = (out / "summary.csv").read_text().splitlines()
        header, values = rows[0].split(","), rows[1].split(",")
        value = float(values[header.index("field_fraction")])
        if fraction is None:
            assert value < 0.6  # the round field, less its margin
        else:
            assert value == fraction


def _labelled(photo):
    """``photo`` with a device's burned-in label along the top and a dark scale bar at the bottom right."""
    labelled = np.clip(photo * 255 + 0.5, 0, 255).astype(np.uint8)  # drawn as a device burns it in
    cv2.putText(labelled, "2026-11-28 x50 P0042", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 12, 2, cv2.LINE_AA)
    cv2.line(labelled, (470, 455), (620, 455), 12, 4)  # a 750 µm scale bar, as dark and wide as a hair
    return labelled


def _label_free_region():
    region = np.ones(SHAPE, bool)
    region[:45] = False
    region[435:, 450:] = False
    return region


def test_a_region_leaves_burned_in_text_and_a_scale_bar_out(tmp_path):
    photo = _labelled(phantom(INSIDE, shape=SHAPE))
    region = _label_free_region()
    assert densitometry.analyze(photo, um_per_px=UM_PER_PX).hair_count > len(
        INSIDE
    )  # label and bar read as hair
    mask_file = tmp_path / "region.png"
    cv2.imwrite(str(mask_file), region.astype(np.uint8) * 255)
    for given in (region, region.astype(np.uint8) * 255, mask_file, str(mask_file)):
        result = densitometry.analyze(photo, um_per_px=UM_PER_PX, region=given)
        assert result.hair_count == len(INSIDE)
        assert np.array_equal(result.field_mask, region)
        assert result.field_area_cm2 == pytest.approx(Calibration(UM_PER_PX).area_cm2(int(region.sum())))
        assert result.density_per_cm2 == pytest.approx(len(INSIDE) / result.field_area_cm2)


def test_a_hair_cut_by_the_region_edge_counts_once_and_stays_inside():
    photo = phantom(INSIDE, shape=SHAPE)
    region = np.ones(SHAPE, bool)
    region[:, 400:] = False  # cuts the third shaft (cols 400-430) off and the fourth (cols 350-460) in two
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX, region=region)
    assert result.hair_count == 3
    assert result.hairs["touches_border"].sum() == 1
    for coords in result.centerlines_px:
        assert coords[:, 1].max() < 400


def test_a_region_on_a_photo_analysed_at_a_coarser_working_resolution():
    # At 2 µm/px the photo is analysed at 4 µm/px; the region is reduced with it and the field given
    # back at the photo's size.
    photo = _labelled(phantom(INSIDE, shape=SHAPE))
    region = _label_free_region()
    result = densitometry.analyze(photo, um_per_px=2.0, min_length_um=100.0, region=region)
    assert result.field_mask.shape == SHAPE
    assert np.mean(result.field_mask == region) > 0.99
    whole = densitometry.analyze(photo, um_per_px=2.0, min_length_um=100.0)
    assert result.hair_count < whole.hair_count


@pytest.mark.parametrize(
    ("region", "message"),
    [
        (np.ones((240, 320), bool), "the region is 320x240 px, the photo 640x480 px"),
        (np.zeros(SHAPE, bool), "holds no pixel"),
        ("missing-region.png", "cannot read the region"),
        (np.full(SHAPE, "x"), "must be bool or numeric"),
    ],
)
def test_a_bad_region_is_a_clear_error_naming_the_photo(region, message):
    with pytest.raises(densitometry.ParameterError, match=message) as error:
        densitometry.analyze(
            phantom(INSIDE, shape=SHAPE), um_per_px=UM_PER_PX, name="scalp.png", region=region
        )
    assert "scalp.png" in str(error.value)


def test_a_region_outside_the_round_field_is_an_error():
    photo = framed(phantom(INSIDE, shape=SHAPE))
    region = np.zeros(SHAPE, bool)
    region[:20, :20] = True  # the dark corner only
    with pytest.raises(densitometry.ParameterError, match="none of the photo's field of view"):
        densitometry.analyze(photo, um_per_px=UM_PER_PX, region=region)
