"""Known-answer tests of the analyzer core on exact phantoms."""

import importlib
import math
import re

import cv2
import numpy as np
import pandas as pd
import pytest
from phantoms import clipped_shafts, grid_colour_photo, mottled, phantom, shaft_coverage, white_mesh

import densitometry
from densitometry import AnalysisParameters, CalibrationError, ParameterError, synthetic
from densitometry.preprocess import colour_contrast, preprocess

UM_PER_PX = 5.0
# (start, end, width_px, contrast): 80, 45, 25 and 65 µm at 5 µm/px; two crossings.
CROSSING = [
    ((50, 50), (400, 100), 16, 0.7),
    ((60, 300), (420, 250), 9, 0.6),
    ((100, 400), (100, 620), 5, 0.5),
    ((200, 20), (300, 600), 13, 0.6),
]


@pytest.fixture(scope="module")
def crossing_result():
    return densitometry.analyze(phantom(CROSSING), um_per_px=UM_PER_PX)


def test_counts_crossing_hairs_individually(crossing_result):
    assert crossing_result.hair_count == 4


def test_diameters_are_subpixel_accurate(crossing_result):
    measured = np.sort(crossing_result.hairs["diameter_um"].to_numpy())
    truth = np.sort([w * UM_PER_PX for _, _, w, _ in CROSSING])
    np.testing.assert_allclose(measured, truth, atol=3.0)


@pytest.mark.parametrize("gap_px", [6, 10, 16])
@pytest.mark.parametrize("widths_px", [(15, 11), (15, 15)])
def test_a_shaft_with_a_hair_beside_it_is_measured_at_its_own_diameter(gap_px, widths_px):
    """Two parallel shafts 30-80 µm apart: each is measured at its own diameter (a half-maximum taken
    above the profile's ends, one of which lies on the other hair, measured them 3-8 µm thin)."""
    first_row = 200.0
    second_row = first_row + sum(widths_px) / 2 + gap_px
    rows = (first_row, second_row)
    shafts = [((row, 60), (row, 580), width, 0.5) for row, width in zip(rows, widths_px, strict=True)]
    result = densitometry.analyze(phantom(shafts, seed=1), um_per_px=UM_PER_PX)
    assert result.hair_count == 2
    measured = result.hairs.sort_values("start_row_px")["diameter_um"]
    np.testing.assert_allclose(measured, np.multiply(widths_px, UM_PER_PX), atol=2.5)


def test_lengths_and_classes(crossing_result):
    hairs = crossing_result.hairs.sort_values("diameter_um")
    truth_length_um = sorted((np.hypot(e[0] - s[0], e[1] - s[1]) * UM_PER_PX, w) for s, e, w, _ in CROSSING)
    by_width = dict(sorted((w, length) for length, w in truth_length_um))
    for (_, row), width in zip(hairs.iterrows(), sorted(by_width), strict=True):
        assert row["length_um"] == pytest.approx(by_width[width], rel=0.08)
    assert list(hairs["thickness_class"]) == ["vellus", "intermediate", "terminal", "terminal"]
    assert crossing_result.vellus_fraction == pytest.approx(0.25)
    assert crossing_result.terminal_fraction == pytest.approx(0.5)


def test_density_and_cumulative_thickness_follow_from_counts(crossing_result):
    area_cm2 = 480 * 640 * (UM_PER_PX / 1e4) ** 2
    assert crossing_result.field_area_cm2 == pytest.approx(area_cm2)
    assert crossing_result.density_per_cm2 == pytest.approx(4 / area_cm2)
    expected = crossing_result.hairs["diameter_um"].sum() / 1000 / area_cm2
    assert crossing_result.cumulative_thickness_mm_per_cm2 == pytest.approx(expected)


def test_blank_image_gives_zero_hairs():
    result = densitometry.analyze(np.full((200, 300), 0.7, np.float32), um_per_px=UM_PER_PX)
    assert result.hair_count == 0
    assert result.density_per_cm2 == 0
    assert math.isnan(result.mean_diameter_um)
    assert result.to_dict()["summary"]["mean_diameter_um"] is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hairless_scalp_photo_gives_zero_hairs(seed):
    """Textured, vignetted skin with creases, noise and JPEG, and no hair: nothing is counted."""
    photo = synthetic.generate("clean", seed=seed, width_px=640, height_px=480, hair_density_per_cm2=0.0)
    assert densitometry.analyze(photo.image, um_per_px=photo.um_per_px).hair_count == 0


@pytest.mark.parametrize(("skin", "expected"), [(0.06, "underexposed"), (0.99, "overexposed"), (0.7, None)])
def test_exposure_warnings_follow_the_skin_brightness(skin, expected):
    image = phantom(CROSSING, skin=skin, noise=0.002)
    warnings = densitometry.analyze(image, um_per_px=UM_PER_PX).quality_warnings
    exposure = [w for w in warnings if "exposed" in w]
    if expected is None:
        assert exposure == []
    else:
        assert len(exposure) == 1 and exposure[0].startswith(expected)


def test_rotation_by_90_degrees_keeps_count_and_diameters(crossing_result):
    rotated = densitometry.analyze(np.rot90(phantom(CROSSING)), um_per_px=UM_PER_PX)
    assert rotated.hair_count == crossing_result.hair_count
    np.testing.assert_allclose(
        np.sort(rotated.hairs["diameter_um"]), np.sort(crossing_result.hairs["diameter_um"]), atol=2.0
    )


def test_doubling_um_per_px_quarters_density_and_doubles_diameters(crossing_result):
    # Every physical size doubles (the 80 µm shaft becomes 160 µm): scale the size limits with it.
    coarse = densitometry.analyze(
        phantom(CROSSING),
        um_per_px=2 * UM_PER_PX,
        min_diameter_um=30,
        max_diameter_um=300,
        max_single_diameter_um=260,
    )
    assert coarse.hair_count == crossing_result.hair_count
    assert coarse.density_per_cm2 == pytest.approx(crossing_result.density_per_cm2 / 4)
    np.testing.assert_allclose(
        np.sort(coarse.hairs["diameter_um"]), 2 * np.sort(crossing_result.hairs["diameter_um"]), rtol=0.06
    )


def test_fine_pixels_are_analysed_at_the_working_resolution_and_reported_in_photo_pixels(crossing_result):
    # The same scene photographed at 2.5x the magnification (2 µm/px) gives the same hairs and
    # diameters; centrelines, end points and the mask are in the fine photo's own pixels.
    factor = 2.5
    fine_shafts = [
        (tuple(factor * np.array(s)), tuple(factor * np.array(e)), factor * w, c) for s, e, w, c in CROSSING
    ]
    fine = densitometry.analyze(
        phantom(fine_shafts, shape=(1200, 1600), blur_px=2.5), um_per_px=UM_PER_PX / factor
    )
    assert fine.hair_count == crossing_result.hair_count
    assert fine.hair_mask.shape == (1200, 1600)
    assert fine.density_per_cm2 == pytest.approx(crossing_result.density_per_cm2)
    np.testing.assert_allclose(
        np.sort(fine.hairs["diameter_um"]), np.sort(crossing_result.hairs["diameter_um"]), atol=3.0
    )
    for coords in fine.centerlines_px:  # every centreline lies on a shaft of the fine photo
        on_shaft = []
        for s, e, _, _ in fine_shafts:
            d, rel = np.subtract(e, s), coords - np.array(s)
            on_shaft.append(np.abs(d[0] * rel[:, 1] - d[1] * rel[:, 0]) / np.linalg.norm(d))
        assert np.median(np.min(on_shaft, axis=0)) < 3.0


def test_grey_hair_brighter_than_skin_is_detected_automatically():
    shafts = [
        ((40, 40), (400, 120), 14, 0.25),
        ((60, 500), (440, 380), 10, 0.25),
        ((240, 20), (230, 620), 12, 0.25),
    ]
    image = phantom(shafts, skin=0.55, bright=True)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert result.hair_count == 3
    np.testing.assert_allclose(np.sort(result.hairs["diameter_um"]), [50, 60, 70], atol=4.0)
    forced = densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="dark")
    assert forced.polarity is densitometry.Polarity.DARK


#: Six white shafts, 60-85 µm at 5 µm/px, on dark skin.
WHITE_ON_DARK = [((40 + 70 * k, 30 + 15 * k), (60 + 70 * k, 610 - 10 * k), 12 + k, 1.5) for k in range(6)]


def test_white_hair_on_dark_skin_is_flagged_and_counted_when_read_bright():
    """White hair on dark skin: a line detector also answers on both flanks of each bright shaft, so
    the automatic reading may stay dark (it then measures the skin between the hairs); then the photo
    is flagged. Read bright, it gives every hair at its width."""
    image = phantom(WHITE_ON_DARK, skin=0.28, bright=True)
    automatic = densitometry.analyze(image, um_per_px=UM_PER_PX)
    flagged = any("polarity='bright'" in warning for warning in automatic.quality_warnings)
    assert automatic.polarity is densitometry.Polarity.BRIGHT or flagged
    bright = densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="bright")
    assert bright.hair_count == 6
    np.testing.assert_allclose(np.sort(bright.hairs["diameter_um"]), [60, 65, 70, 75, 80, 85], atol=4.0)
    assert not any("polarity='bright'" in warning for warning in bright.quality_warnings)


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_white_mesh_first_read_as_dark_is_read_bright(seed):
    """Dense white hair whose line evidence leaves the first decision at dark: read dark, the skin
    between the hairs is traced, cut short at every crossing (far too many "hairs"); the second,
    bright reading follows whole shafts and replaces it. The shafts are 60-90 µm wide, those inside
    the photo 73-76 µm on average."""
    image, visible = white_mesh(seed)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    dark = densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="dark")
    assert dark.hair_count > 1.25 * visible  # 1.27-1.47 times the visible shafts for these seeds
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert abs(result.hair_count - visible) <= 0.15 * visible
    assert 69 <= result.mean_diameter_um <= 81


@pytest.mark.parametrize("seed", [0, 3])
def test_short_white_hairs_on_light_skin_are_read_bright(seed):
    """Twenty clipped white shafts (0.3-0.8 mm) lying apart on light skin: the flanks of each bright
    shaft leave the first decision at dark, and read dark the photo has next to no "hairs" (the skin
    between short shafts is no line); the bright reading finds them all."""
    shafts = clipped_shafts(seed, (0.2, 0.4))
    image = mottled(phantom(shafts, skin=0.55, seed=seed, bright=True), amplitude=0.03, seed=seed)
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="dark").hair_count <= 3
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert abs(result.hair_count - 20) <= 3


@pytest.mark.parametrize("seed", [3, 4])
def test_short_white_hairs_on_dark_noisy_skin_are_read_bright_without_tails(seed):
    """Twenty clipped white shafts on dark, mottled, noisy skin, 2.5-3.5 times as bright as the skin.
    Read bright, the coarse scales' response to such a shaft once spilled into the skin around it and
    grew its texture into tails counted as extra hairs, and the dark reading (faint skin) was kept;
    lines are now found with a black shaft's contrast at most, and the far stronger bright shafts win."""
    shafts = clipped_shafts(seed, (1.5, 2.5))
    image = mottled(phantom(shafts, skin=0.25, seed=seed, bright=True), amplitude=0.05, seed=seed)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert abs(result.hair_count - 20) <= 3
    assert 60 <= result.mean_diameter_um <= 80


def test_white_hair_as_bright_as_the_skin_in_luma_is_read_bright():
    """Twenty clipped neutral-white shafts (60-90 µm) whose brightness equals the skin's: they show
    only in colour (brighter in blue than the reddish skin), too weakly for the first decision to
    doubt the dark reading, which then finds no hair at all. A photo read dark that finds hardly any
    hairs, while its bright lines outweigh its dark ones, is read bright as well; that finds them."""
    rng = np.random.default_rng(0)
    skin_rgb = np.array([0.80, 0.66, 0.55])
    skin_luma = float(skin_rgb @ [0.299, 0.587, 0.114])
    image = np.ones((480, 640, 3)) * skin_rgb
    for _ in range(20):
        centre = np.array([rng.uniform(40, 440), rng.uniform(40, 600)])
        angle, half_length = rng.uniform(0, np.pi), rng.uniform(30, 80)
        offset = half_length * np.array([np.sin(angle), np.cos(angle)])
        coverage = shaft_coverage(image.shape[:2], centre - offset, centre + offset, rng.uniform(12, 18))
        image = image * (1 - coverage[..., None]) + skin_luma * coverage[..., None]
    image = cv2.GaussianBlur(image, (0, 0), 1.0) + rng.normal(0, 0.01, image.shape)
    image = np.clip(image, 0, 1).astype(np.float32)
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="dark").hair_count <= 1
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert abs(result.hair_count - 20) <= 2
    assert 65 <= result.mean_diameter_um <= 85


@pytest.mark.parametrize("seed", [0, 3])
def test_dark_hair_with_a_few_white_hairs_keeps_its_dark_reading(seed):
    """Fourteen dark shafts and six white ones: the dark reading counts the dark hairs; read bright, the
    skin between the dark hairs would pass for white hair (far more "hairs" than the six). Not read
    bright."""
    rng = np.random.default_rng(seed)
    shafts = []
    for _ in range(20):
        start = np.array([rng.uniform(-50, 530), rng.uniform(-50, 690)])
        angle = rng.uniform(0, np.pi)
        end = start + 700 * np.array([np.sin(angle), np.cos(angle)])
        shafts.append((tuple(start), tuple(end), float(rng.uniform(12, 18))))
    image = phantom([(*shaft, 0.5) for shaft in shafts[6:]], skin=0.55, seed=seed)
    for start, end, width_px in shafts[:6]:
        image = image * (1 + 0.6 * shaft_coverage(image.shape, start, end, width_px))
    image = mottled(np.clip(image, 0, 1).astype(np.float32), seed=seed)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    dark = densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="dark")
    bright = densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="bright")
    assert result.polarity is densitometry.Polarity.DARK
    assert result.hair_count == dark.hair_count
    assert bright.hair_count >= 2 * 6


def test_long_black_hair_covering_most_of_the_field_keeps_its_dark_reading():
    """Long black hair at 259 hairs/cm² (the generator's clinical scenario, seed 2004: 309 hairs in the
    field) covers most of it, and the skin showing between the hairs makes bright lines enough for a
    second, bright reading. That reading's "skin" is the black hair (median brightness 0.08) and its
    "hairs" are the skin between them, 1108 of them: it is not kept."""
    photo = synthetic.generate("clinical", seed=2004, width_px=1280, height_px=960)
    true_count = photo.truth()["hair_count"]
    bright = densitometry.analyze(photo.image, um_per_px=photo.um_per_px, polarity="bright")
    assert any(warning.startswith("underexposed") for warning in bright.quality_warnings)
    assert bright.hair_count > 2 * true_count
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert result.polarity is densitometry.Polarity.DARK
    assert abs(result.hair_count - true_count) <= 0.3 * true_count


def test_dark_hair_gives_no_bright_hair_warning(crossing_result):
    rng = np.random.default_rng(5)
    mesh = []  # a dense mesh of dark shafts covering about half of the photo, skin showing between
    for _ in range(45):
        start = rng.uniform(-50, 530), rng.uniform(-50, 690)
        angle = rng.uniform(0, np.pi)
        end = start[0] + 700 * np.sin(angle), start[1] + 700 * np.cos(angle)
        mesh.append((start, end, float(rng.uniform(14, 22)), 0.85))
    dense = densitometry.analyze(mottled(phantom(mesh, skin=0.8, seed=2), seed=2), um_per_px=UM_PER_PX)
    for result in (crossing_result, dense):
        assert result.polarity is densitometry.Polarity.DARK
        assert not any("polarity='bright'" in warning for warning in result.quality_warnings)


COLOUR_SHAFTS = [((60, 40), (80, 600), 14), ((200, 60), (170, 600), 14), ((300, 100), (420, 560), 14)]
PINKISH_SKIN = (215, 200, 190)


def colour_phantom(hair_rgb, *, blue_noise_levels=0.0, shape=(480, 640), seed=0):
    """Three 70 µm shafts (at 5 µm/px) of one colour on flat skin, uint8 RGB; optional smooth noise of
    ``blue_noise_levels`` grey levels in the blue channel only (a consumer camera's colour noise)."""
    coverage = np.zeros(shape)
    for start, end, width_px in COLOUR_SHAFTS:
        coverage = np.maximum(coverage, shaft_coverage(shape, start, end, width_px))
    image = np.multiply(PINKISH_SKIN, 1 - coverage[..., None]) + np.multiply(hair_rgb, coverage[..., None])
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    rng = np.random.default_rng(seed)
    image += rng.normal(0, 1.5, image.shape)
    if blue_noise_levels:
        noise = cv2.GaussianBlur(rng.normal(0, 1, shape), (0, 0), 2.0)
        image[..., 2] += blue_noise_levels * noise / noise.std()
    return np.clip(image, 0, 255).astype(np.uint8)


def test_blond_hair_as_bright_as_the_skin_is_found_in_the_blue_channel():
    # Luma within 2 % of the skin's, 40 % darker in blue: only the blue channel shows these hairs.
    image = colour_phantom((225, 205, 110))
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.blue_weight == 1.0
    assert result.hair_count == 3
    np.testing.assert_allclose(result.hairs["diameter_um"], 70, atol=4)
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, blue_weight=0, colour_gain=0).hair_count == 0


def test_hair_less_red_than_the_skin_is_found_in_the_red_channel():
    # Ash-blond on pink skin: 16 % darker than the skin in red, 7 % in brightness, 2 % in blue. Only
    # red shows these hairs (`densitometry.preprocess._red_green_weight`); brightness alone finds none.
    image = colour_phantom((180, 195, 186))
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.blue_weight == result.green_weight == 0.0
    assert result.red_weight == 1.0
    assert result.hair_count == 3
    np.testing.assert_allclose(result.hairs["diameter_um"], 70, atol=4)
    brightness_only = dict(blue_weight=0, red_weight=0, green_weight=0, colour_gain=0)
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, **brightness_only).hair_count == 0


def test_red_and_green_weights_are_reported_and_can_be_fixed():
    """The red and green weights decided per photo are in the result and its summary; given as
    parameters they are used as given, and giving the ones decided changes nothing."""
    image = colour_phantom((180, 195, 186))
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    summary = result.to_dict(include_hairs=False)["summary"]
    assert (summary["red_weight"], summary["green_weight"]) == (result.red_weight, result.green_weight)
    assert result.parameters.red_weight is result.parameters.green_weight is None
    same = densitometry.analyze(
        image, um_per_px=UM_PER_PX, red_weight=result.red_weight, green_weight=result.green_weight
    )
    assert same.parameters.red_weight == result.red_weight
    pd.testing.assert_frame_equal(same.hairs, result.hairs)
    half = densitometry.analyze(image, um_per_px=UM_PER_PX, red_weight=0.5, green_weight=0.25)
    assert (half.red_weight, half.green_weight) == (0.5, 0.25)
    bright = densitometry.analyze(image, um_per_px=UM_PER_PX, polarity="bright", red_weight=0.5)
    assert bright.red_weight == bright.green_weight == 0.0  # red and green count in dark readings only


def test_dark_lines_of_hair_brighter_than_the_skin_do_not_let_a_channel_count():
    # Hair 20 % brighter than the skin in red shows there fainter dark lines along its flanks; hair
    # 15 % darker in red but 15 % brighter in blue is grey or white hair on pink skin. Neither lets red
    # count (`densitometry.preprocess._own_dark_lines`); hair darker in red and no brighter in blue does.
    from densitometry.preprocess import Polarity, _own_dark_lines, relative_contrast, skin_background

    calibration = densitometry.Calibration(20.0)  # as on a reduced copy: ~1.75 px per shaft scale
    coverage = np.zeros((240, 320))
    for start, end, _ in COLOUR_SHAFTS:
        shaft = shaft_coverage(coverage.shape, np.divide(start, 2), np.divide(end, 2), 3.5)
        coverage = np.maximum(coverage, shaft)
    noise = np.random.default_rng(0).normal(0, 0.01, (*coverage.shape, 2))
    for red, blue, own in ((1.2, 1.0, False), (0.85, 1.15, False), (0.8, 1.0, True), (0.8, 0.9, True)):
        hair = 0.7 * np.array([red, blue])
        rgb = (0.7 * (1 - coverage[..., None]) + hair * coverage[..., None] + noise).astype(np.float32)
        skin = skin_background(rgb, calibration, polarity=Polarity.DARK, max_hair_diameter_um=150.0)
        signed = relative_contrast(rgb, skin, Polarity.DARK)  # as `_reduce` gives it
        red_signed, blue_signed = (np.ascontiguousarray(signed[..., index]) for index in (0, 1))
        assert _own_dark_lines(red_signed, blue_signed, calibration) is own


BLOND = (206, 183, 166)  # 6 % darker than the skin in brightness, 10 % in blue, 4 % in red


@pytest.mark.parametrize("seed", [0, 1])
def test_blond_hair_hidden_by_noise_in_brightness_is_found_by_its_colour(seed):
    # The shafts are half as dark as the photo's noise is strong in brightness (and in blue, which
    # shares it); blue minus red cancels the shared noise and shows them (`colour_contrast`).
    image = grid_colour_photo([BLOND], seed)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert abs(result.hair_count - 12) <= 1
    np.testing.assert_allclose(result.hairs["diameter_um"].median(), 65, atol=8)
    assert result.hair_mask.mean() > 0.02
    assert 0 < result.colour_gain == result.summary()["colour_gain"] <= 6
    # Without the colour reading, brightness plus blue finds next to nothing.
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, colour_gain=0).hair_count <= 1
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, blue_weight=1).hair_count == result.hair_count


@pytest.mark.parametrize("seed", [1, 2])
def test_blond_hair_as_bright_as_the_skin_is_found_by_its_colour(seed):
    # 2.5 % brighter than the skin, 14 % darker in blue, 5 % brighter in red: no brightness line to
    # follow, and the shared noise drowns it in blue (brightness plus blue finds a third of it).
    image = grid_colour_photo([(226, 204, 160)], seed)
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, colour_gain=0).hair_count <= 6
    assert densitometry.analyze(image, um_per_px=UM_PER_PX).hair_count == 12


@pytest.mark.parametrize("seed", [0, 3])
def test_blond_hair_brighter_than_the_skin_is_read_dark_in_colour(seed):
    # 9 % brighter than the skin (in red too), 5 % darker in blue: decided bright, where the bright
    # reading follows few shafts; the dark reading in colour finds them all (`_pigmented_shafts`).
    image = grid_colour_photo([(235, 215, 175)], seed)
    without_colour = densitometry.analyze(image, um_per_px=UM_PER_PX, colour_gain=0)
    assert without_colour.polarity is densitometry.Polarity.BRIGHT
    assert without_colour.hair_count <= 4
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.DARK and result.colour_gain > 0
    assert result.hair_count == 12


def test_colour_gain_is_decided_on_the_field_of_view_alone():
    # Colour noise inside a field, smooth filled skin around it (as `fill_outside` leaves it), three
    # blond lines: taken over the whole photo, the noise looks half as strong and the gain too high.
    from densitometry.preprocess import _colour_gain

    noise = cv2.GaussianBlur(np.random.default_rng(0).normal(0, 1, (240, 320)), (0, 0), 1.0)
    field = np.zeros((240, 320), bool)
    field[40:200, 60:260] = True
    colour = np.where(field, 0.012 * noise / noise.std(), 0.0).astype(np.float32)
    for row in (80, 120, 160):
        colour[row - 1 : row + 2, 80:240] += 0.08
    calibration = densitometry.Calibration(20.0)  # the gate's own scale: ~1.75 px per shaft scale
    assert _colour_gain(colour, calibration) == 6.0  # the most it may be
    assert 3.0 < _colour_gain(colour, calibration, field) < 5.0


def test_glints_down_glossy_blond_shafts_do_not_make_its_colour_lines_two_sided(monkeypatch):
    # Clipped blond hair with a neutral glint down each shaft: blue shows twice the line structure of
    # brightness, and without the lines the glints draw in colour the photo is read in colour.
    from densitometry import preprocess as preprocess_module

    photo = synthetic.generate("clipped", seed=2009)
    truth = photo.truth()["hair_count"]
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert result.colour_gain > 2
    assert abs(result.hair_count - truth) <= 0.15 * truth
    monkeypatch.setattr(preprocess_module, "_GLINT_BLUE_FROM", np.inf)
    with_glints = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert with_glints.colour_gain == 0.0
    assert with_glints.hair_count < 0.8 * truth


def test_white_specks_among_blond_hair_are_no_glints():
    # Blond hair among dense white specks of sebum: the specks are as bright and bluish as glints, but
    # lie on the skin, not down a yellowish shaft. Left out of the test, they would have the photo read
    # in colour and the skin between them traced (73 hairs).
    photo = synthetic.generate("oily_speckle", seed=1014)
    truth = photo.truth()["hair_count"]
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert result.colour_gain == 0.0
    assert abs(result.hair_count - truth) <= 0.15 * truth


@pytest.mark.parametrize("seed", [3000, 3003])
def test_hairless_skin_whose_blue_outweighs_brightness_is_not_read_in_colour(seed):
    # Without hair, brightness shows next to no lines and blue a few of its noise: a blue ratio of 5-7,
    # but no colour lines of either sign stand out, glints or not.
    photo = synthetic.generate("colour_noise", seed=seed, width_px=960, height_px=720, hair_density_per_cm2=0)
    calibration = densitometry.Calibration(photo.um_per_px)
    rgb = photo.image.astype(np.float32) / 255
    prepared = preprocess(rgb, calibration)
    assert prepared.blue_ratio > 2
    assert colour_contrast(rgb, prepared, calibration) is None
    assert densitometry.analyze(photo.image, um_per_px=photo.um_per_px).hair_count == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_hair_that_brightness_and_colour_both_show_counts_once(seed):
    # Every other shaft is light brown, 22 % darker than the skin: both readings find it.
    image = grid_colour_photo([BLOND, (180, 150, 120)], seed)
    assert densitometry.analyze(image, um_per_px=UM_PER_PX).hair_count == 12


@pytest.mark.parametrize("seed", [0, 1])
def test_colour_lines_far_from_one_sided_in_a_cheap_look_are_not_looked_at_again(seed, monkeypatch):
    # Light brown hair: darker in blue than in brightness, which opens the colour look, but its colour
    # lines are its own fringe. The cheaper look on the reduced copy finds them far from one-sided and
    # the full look (12-17 ms of a 1280x960 photo) is skipped; where it is taken, it agrees.
    import dataclasses

    from densitometry import preprocess as preprocess_module

    calibration = densitometry.Calibration(UM_PER_PX)
    rgb = grid_colour_photo([(160, 130, 90)], seed).astype(np.float32) / 255
    prepared = preprocess(rgb, calibration)
    assert prepared.blue_ratio > 1.12 and prepared.colour_ratio < 1.0
    assert colour_contrast(rgb, dataclasses.replace(prepared, colour_ratio=np.nan), calibration) is None

    def no_full_look(*args):
        raise AssertionError("the colour lines were looked at in full")

    monkeypatch.setattr(preprocess_module, "_colour", no_full_look)
    assert colour_contrast(rgb, prepared, calibration) is None
    blond = grid_colour_photo([BLOND], seed).astype(np.float32) / 255
    with pytest.raises(AssertionError, match="in full"):
        colour_contrast(blond, preprocess(blond, calibration), calibration)


def test_colour_contrast_is_left_out_without_blond_hair():
    calibration = densitometry.Calibration(UM_PER_PX)
    for colours, blue_weight in (([(215, 195, 185)], 0.0), ([(120, 100, 95)], 0.0), ([BLOND], 1.0)):
        rgb = grid_colour_photo(colours, 0).astype(np.float32) / 255
        prepared = preprocess(rgb, calibration)
        assert prepared.blue_weight == blue_weight
        found = colour_contrast(rgb, prepared, calibration)
        # Hairless skin and dark hair: no colour lines, nothing read again.
        assert (found is not None) == (colours == [BLOND])
    assert colour_contrast(rgb, prepared, calibration, gain=2.5).gain == 2.5
    bright = preprocess(rgb, calibration, polarity="bright")
    assert colour_contrast(rgb, bright, calibration) is None


@pytest.mark.parametrize("noise_levels", [12, 20])
def test_blue_channel_noise_on_dark_hair_is_not_read_as_hair(noise_levels):
    # Consumer cameras keep colour at half resolution and quantise it coarsely: the blue channel is
    # their noisiest. On dark hair it shows nothing brightness does not, so it is left out.
    image = colour_phantom((70, 55, 50), blue_noise_levels=noise_levels)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.blue_weight == 0.0
    assert result.hair_count == 3
    assert result.summary()["blue_weight"] == 0.0
    # Read with blue, the noise enters the hair mask (its short pieces are then rejected as too faint
    # on their own, and at 20 levels some are not).
    with_blue = densitometry.analyze(image, um_per_px=UM_PER_PX, blue_weight=1)
    assert with_blue.hair_mask.mean() > 1.15 * result.hair_mask.mean()


def test_touching_hairs_of_one_follicular_unit_count_twice():
    # Two 70 µm hairs leaving one opening 12 degrees apart: they touch for the first ~150 µm.
    opening = (400, 300)
    angle = np.deg2rad(12)
    length = 330
    ends = [
        (opening[0] - length * np.cos(a), opening[1] + length * np.sin(a)) for a in (-angle / 2, angle / 2)
    ]
    image = phantom([(opening, ends[0], 14, 0.7), (opening, ends[1], 14, 0.7)])
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.hair_count == 2


def test_band_wider_than_any_single_hair_counts_as_touching_hairs():
    # Two 70 µm hairs running side by side over the whole field: one 140 µm band in the mask.
    image = phantom([((100, 60), (110, 600), 14, 0.7), ((114, 60), (124, 600), 14, 0.7)], blur_px=1.5)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.hair_count == 2
    assert list(result.hairs["bundle_size"]) == [2, 2]
    np.testing.assert_allclose(result.hairs["diameter_um"], 70, atol=6)


def test_band_is_split_by_the_photos_own_typical_width():
    # Five 70 µm hairs and one 140 µm band of two touching ones: the band is two hairs.
    singles = [((40 + 70 * k, 60), (50 + 70 * k, 600), 14, 0.7) for k in range(5)]
    band = [((400, 60), (410, 600), 14, 0.7), ((414, 60), (424, 600), 14, 0.7)]
    result = densitometry.analyze(phantom(singles + band, blur_px=1.5), um_per_px=UM_PER_PX)
    assert result.hair_count == 7
    assert sorted(result.hairs["bundle_size"]) == [1, 1, 1, 1, 1, 2, 2]
    assert not any("calibration" in warning for warning in result.quality_warnings)
    # The same photo with the scale given 2.2x too coarse: every shaft now measures 150 µm or more,
    # wider than any single hair, but the band is still two of the photo's shafts across and the
    # others one: a wrong calibration must not turn each hair into a bundle.
    result = densitometry.analyze(phantom(singles + band, blur_px=1.5), um_per_px=2.2 * UM_PER_PX)
    assert result.hairs["diameter_um"].min() > result.parameters.max_single_diameter_um
    assert sorted(result.hairs["bundle_size"]) == [1, 1, 1, 1, 1, 2, 2]
    # ... and the user is told that such shafts are thicker than scalp hair, with the scale at which
    # they would be typical terminal hairs (75 µm): these 70 µm hairs were drawn at UM_PER_PX.
    (warning,) = [warning for warning in result.quality_warnings if "check the calibration" in warning]
    hinted = float(re.search(r"nearer ([0-9.]+) µm per pixel", warning).group(1))
    assert hinted == pytest.approx(75 / 70 * UM_PER_PX, rel=0.1)


@pytest.mark.parametrize(("length_px", "expected"), [(70, [2, 2]), (400, [4, 4, 4, 4])])
def test_short_wide_band_counts_no_more_hairs_than_it_is_long_in_band_widths(length_px, expected):
    # Five 70 µm hairs and a sharp band four of them wide (280 µm). 2 mm long it is four touching
    # hairs; 350 µm long (370 µm traced, 1.3 band widths) it is the shape of a follicle's dark plug or
    # a blob of crossing hairs and counts as at most ceil(1.3) = 2, each still a quarter of the band.
    singles = [((40 + 70 * k, 60), (50 + 70 * k, 600), 14, 0.7) for k in range(5)]
    band = [((400 + 14 * j, 300), (400 + 14 * j, 300 + length_px), 14, 0.7) for j in range(4)]
    result = densitometry.analyze(phantom(singles + band, blur_px=1.5), um_per_px=UM_PER_PX)
    assert sorted(result.hairs["bundle_size"]) == [1] * 5 + expected
    np.testing.assert_allclose(result.hairs["diameter_um"], 70, atol=6)


def test_short_thin_stubs_do_not_make_long_thick_shafts_bundles():
    # Four long 70 µm shafts and six short 30 µm ones (the stubs a tangle leaves), analysed at a scale
    # 2.2x too coarse: the long shafts measure ~150 µm, wider than any single hair, and the stubs
    # ~65 µm, the majority by count. Most of the photo's hair (by length) is the long shafts: they are
    # its typical shaft, one hair each, and the user is told to check the calibration.
    long = [((60 + 90 * k, 40), (70 + 90 * k, 600), 14, 0.7) for k in range(4)]
    stubs = [((420, 60 + 90 * k), (450, 66 + 90 * k), 6, 0.7) for k in range(6)]
    result = densitometry.analyze(phantom(long + stubs, blur_px=1.5), um_per_px=2.2 * UM_PER_PX)
    assert result.hair_count == 10
    assert list(result.hairs["bundle_size"]) == [1] * 10
    assert result.median_diameter_um < result.parameters.max_single_diameter_um  # by count: the stubs
    (warning,) = [warning for warning in result.quality_warnings if "check the calibration" in warning]
    hinted = float(re.search(r"nearer ([0-9.]+) µm per pixel", warning).group(1))
    assert hinted == pytest.approx(75 / 70 * UM_PER_PX, rel=0.1)


@pytest.mark.parametrize("defocus_px", [10, 12])
def test_one_defocused_hair_wider_than_any_hair_counts_once(defocus_px):
    # A 100 µm hair lying above the focal plane, blurred to a 135-150 µm wide band with soft edges,
    # next to a sharp 70 µm hair: the wide band is one hair out of focus, not touching hairs.
    shape = (400, 640)
    sharp = phantom([((60, 40), (70, 600), 14, 0.7)], shape=shape)
    defocused = cv2.GaussianBlur(shaft_coverage(shape, (250, 40), (260, 600), 20), (0, 0), defocus_px)
    image = (sharp * (1 - 0.7 * defocused)).astype(np.float32)
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)
    assert result.hair_count == 2
    assert list(result.hairs["bundle_size"]) == [1, 1]
    assert result.hairs["diameter_um"].max() > result.parameters.max_single_diameter_um


@pytest.mark.parametrize(
    ("offset_px", "contrast", "width_px"),
    [(17, 0.25, 16), (18, 0.25, 16), (18, 0.3, 14), (18, 0.35, 14), (19, 0.3, 16)],
)
def test_a_speck_beside_a_thick_hair_is_not_counted_as_that_hair_again(offset_px, contrast, width_px):
    # A short faint blob next to a 90 µm shaft: its cross profiles reach the shaft beside it, which
    # once gave it that shaft's diameter and contrast and so a count of its own.
    speck = ((100 + offset_px, 300), (100 + offset_px, 336), width_px, contrast)
    image = phantom([((100, 40), (100, 600), 18, 0.7), speck], shape=(240, 640), noise=0.005)
    result = densitometry.analyze(image, um_per_px=5.0)
    assert result.hair_count == 1
    assert result.hairs["diameter_um"].iloc[0] == pytest.approx(90.0, abs=5.0)


def test_short_hairs_below_min_length_are_not_counted():
    image = phantom([((100, 100), (100, 125), 10, 0.7), ((300, 100), (300, 500), 10, 0.7)])
    result = densitometry.analyze(image, um_per_px=UM_PER_PX)  # 125 µm and 2000 µm long
    assert result.hair_count == 1
    assert densitometry.analyze(image, um_per_px=UM_PER_PX, min_length_um=100).hair_count == 2


def test_input_array_is_not_modified():
    image = phantom(CROSSING)
    before = image.copy()
    densitometry.analyze(image, um_per_px=UM_PER_PX)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("bad", [None, 0, -5.0, float("nan"), float("inf"), "five"])
def test_bad_calibration_is_a_clear_error(bad):
    with pytest.raises(CalibrationError, match="um_per_px|calibration"):
        densitometry.analyze(np.zeros((64, 64), np.float32), um_per_px=bad)


def test_calibration_from_field_of_view():
    calibration = densitometry.Calibration.from_field_of_view(6.4, 1280, height_mm=4.8, image_height_px=960)
    assert calibration.um_per_px == pytest.approx(5.0)
    with pytest.raises(CalibrationError, match="square"):
        densitometry.Calibration.from_field_of_view(6.4, 1280, height_mm=6.0, image_height_px=960)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"min_length_um": -1}, "min_length_um"),
        ({"vellus_max_um": 70, "terminal_min_um": 60}, "terminal_min_um"),
        ({"polarity": "purple"}, "polarity"),
        ({"blue_weight": 1.5}, "blue_weight"),
        ({"blue_weight": float("nan")}, "blue_weight"),
        ({"blue_weight": "lots"}, "blue_weight"),
        ({"red_weight": -0.1}, "red_weight"),
        ({"green_weight": 2}, "green_weight"),
        ({"colour_gain": -1}, "colour_gain"),
        ({"colour_gain": 7}, "colour_gain"),
        ({"colour_gain": float("inf")}, "colour_gain"),
        ({"no_such_option": 1}, "unknown option"),
    ],
)
def test_bad_parameters_are_clear_errors(options, match):
    with pytest.raises(ParameterError, match=match):
        densitometry.analyze(np.zeros((64, 64), np.float32), um_per_px=5, **options)


def test_thresholds_are_configurable_and_stored(crossing_result):
    trichoscan = densitometry.analyze(
        phantom(CROSSING), um_per_px=UM_PER_PX, vellus_max_um=40, terminal_min_um=40
    )
    assert trichoscan.intermediate_fraction == 0
    assert trichoscan.vellus_fraction == pytest.approx(0.25)
    assert trichoscan.to_dict()["parameters"]["vellus_max_um"] == 40
    assert AnalysisParameters().terminal_min_um == 60


def test_result_serialises_and_draws(crossing_result):
    import json

    data = json.loads(json.dumps(crossing_result.to_dict()))
    assert data["summary"]["hair_count"] == 4
    assert data["densitometry_version"] == densitometry.__version__
    assert len(data["hairs"]) == 4
    overlay = crossing_result.overlay()
    assert overlay.shape == (480, 640, 3) and overlay.dtype == np.uint8
    assert not np.array_equal(overlay, crossing_result.image)
    counts, edges = crossing_result.diameter_histogram(bin_width_um=10)
    assert counts.sum() == 4 and edges[0] == 0


def test_only_narrow_holes_in_the_mask_are_filled():
    from densitometry.segment import fill_pinholes

    mask = np.zeros((100, 160), bool)
    mask[10:90, 10:20] = mask[10:90, 60:70] = True  # a skin cell 40 px wide between two hairs ...
    mask[10:20, 10:70] = mask[80:90, 10:70] = True  # ... closed by two crossing hairs
    mask[10:90, 100:130] = True
    mask[30:70, 113:116] = False  # a 3 px glint slit inside a shaft
    mask[40:60, 0:5] = True
    filled = fill_pinholes(mask, max_width_px=10)
    assert filled[30:70, 113:116].all()  # the glint is filled
    assert not filled[25:75, 25:55].any()  # the skin cell stays skin
    assert (
        not filled[0:10].any() and not filled[:, 140:].any()
    )  # background reaching the border is not a hole


@pytest.mark.parametrize(("length_px", "counted"), [(100, 1), (200, 2)])
def test_a_faint_short_piece_let_in_by_a_neighbouring_hair_is_not_counted(length_px, counted):
    # Hysteresis lets a faint line (7 % contrast: below the seeding threshold) into the mask through the
    # strong hair it touches. 500 µm of it is too short to trust on its own; 1 mm of it is a faint hair.
    strong = ((240, 80), (240, 400), 14, 0.6)
    angle = np.deg2rad(35)
    faint_end = (240 + length_px * np.sin(angle), 404 + length_px * np.cos(angle))
    faint = ((240, 404), faint_end, 10, 0.07)
    result = densitometry.analyze(phantom([strong, faint], noise=0.005), um_per_px=UM_PER_PX)
    assert result.hair_count == counted


def test_a_path_follows_a_line_only_along_its_crest():
    from densitometry.segment import along_ridge

    image = phantom([((240, 40), (240, 600), 10, 0.5)], noise=0.0, bright=True)  # a level shaft
    columns = np.arange(200.0, 400.0)
    crest = np.column_stack([np.full(columns.size, 240.0), columns])
    flank = np.column_stack([np.full(columns.size, 249.0), columns])  # beside it, on the skin
    rows = np.arange(220.0, 261.0)
    across = np.column_stack([rows, np.full(rows.size, 300.0)])
    slant = np.column_stack([240.0 + 0.5 * (columns - 300.0), columns])[80:120]  # 27 degrees off
    assert along_ridge(image, crest, 3.0) > 0.99
    assert along_ridge(image, flank, 3.0) < 0.1
    assert along_ridge(image, across, 3.0) < 0.1
    assert along_ridge(image, slant, 3.0) == pytest.approx(np.cos(np.arctan(0.5)), abs=0.05)


def test_forks_and_texture_at_the_tips_of_bright_shafts_are_not_counted():
    """Twenty clipped white shafts on dark, mottled skin: the skeleton forks at their blunt tips, and
    strands of skin texture grow onto them; such pieces run across the shaft's crest, not along one,
    and are not counted (27 of them off the shafts over these six photos without the rule, 9 with)."""
    off_shaft = 0
    for seed in range(6):
        shafts = clipped_shafts(seed, (1.5, 2.5))
        image = mottled(phantom(shafts, skin=0.25, seed=seed, bright=True), amplitude=0.05, seed=seed)
        covered = np.max([shaft_coverage(image.shape, s, e, w) for s, e, w, _ in shafts], axis=0)
        result = densitometry.analyze(image, um_per_px=UM_PER_PX)
        rows = [
            np.clip(np.rint(line).astype(int), 0, np.array(image.shape) - 1) for line in result.centerlines_px
        ]
        off_shaft += sum(covered[r[:, 0], r[:, 1]].mean() < 0.5 for r in rows)
    assert off_shaft <= 12


def test_traces_alongside_a_counted_shaft_are_told_from_crossing_and_distant_ones():
    """`_alongside_shares` on exact geometry: a horizontal shaft (row 100, columns 20-600, 10 px wide) in
    a 400x640 photo at 4 µm/px (reach 0.25 x 150 µm = 9.4 px beyond its edge). A trace 10 px below
    its centre, along it, lies alongside all the way; the same 12 px further down (beyond the reach)
    and one crossing it at right angles never do (the crossing's direction differs); a trace near the
    shaft's far end reads the direction drawn there, as it would with the whole field drawn."""
    analyze_module = importlib.import_module("densitometry.analyze")
    from densitometry.calibration import Calibration
    from densitometry.hairs import TracedHair

    calibration = Calibration(4.0)
    parameters = AnalysisParameters()
    cols = np.arange(20, 601, dtype=float)
    shaft = TracedHair(np.column_stack([np.full_like(cols, 100.0), cols]), 580.0, (0,), np.zeros((0, 2)))
    row = {"band_um": 40.0}

    def line(r0, c0, r1, c1):
        n = int(max(abs(r1 - r0), abs(c1 - c0))) + 1
        return np.column_stack([np.linspace(r0, r1, n), np.linspace(c0, c1, n)])

    traces = [
        line(110, 100, 110, 300),  # alongside, 10 px from the centre: 5 px beyond the edge
        line(122, 100, 122, 300),  # 17 px beyond the edge: beyond the reach
        line(20, 400, 200, 400),  # crossing at right angles
        line(108, 560, 108, 595),  # alongside, near the far end
    ]
    shares = analyze_module._alongside_shares([(row, shaft)], traces, calibration, (400, 640), parameters)
    assert shares[0] == pytest.approx(1.0)
    assert shares[1] == 0.0
    assert shares[2] == 0.0
    assert shares[3] > 0.9
    assert analyze_module._alongside_shares([(row, shaft)], [], calibration, (400, 640), parameters).size == 0


def test_dense_bright_specks_do_not_lift_the_skin_estimate():
    # Specks 15-35 µm across and a third brighter than the skin cover a tenth of it, closer together
    # than the closing's disk: a closing alone lifts the whole skin by ~14 % towards the specks'
    # level, and the skin between them reads as faint dark hair. (Denser specks, which run together
    # into bright streaks, still lift it: a fifth of the skin, 19 % -> 13 %.)
    from phantoms import speckled

    from densitometry.preprocess import Polarity, skin_background

    shafts = [
        ((60, 20), (420, 300), 14, 0.5),
        ((40, 620), (440, 380), 16, 0.6),
        ((240, 20), (240, 620), 12, 0.45),
    ]
    image = speckled(phantom(shafts, skin=0.6, noise=0.01), share=0.1, level=0.8)
    calibration = densitometry.Calibration(UM_PER_PX)
    skin = skin_background(image, calibration, polarity=Polarity.DARK, max_hair_diameter_um=150.0)
    assert abs(np.median(skin) / 0.6 - 1) < 0.07
    # The three shafts, and nothing between the specks.
    assert densitometry.analyze(image, um_per_px=UM_PER_PX).hair_count == 3


@pytest.mark.parametrize("angle_deg", [0.0, 22.5, 30.0, 45.0, 67.5, 100.0, 160.0])
def test_speck_removal_keeps_bright_lines_at_any_angle(angle_deg):
    # Spots 3 px across go; a bright line (the skin between two close hairs, a bright hair) stays
    # whatever its direction: whole where it is 2 px wide, in long stretches even where it is 1 px wide
    # (openings along 4 directions only keep none of it at 22.5, 30, 67.5 or 160 degrees).
    from densitometry.preprocess import _without_specks

    def kept_along_line(width_px):
        image = np.zeros((80, 80), np.float32)
        for centre in ((12, 12), (12, 66), (66, 12), (66, 66)):
            cv2.circle(image, centre, 1, 1.0, -1)
        dx, dy = 30 * np.cos(np.radians(angle_deg)), 30 * np.sin(np.radians(angle_deg))
        cv2.line(image, (round(40 - dx), round(40 - dy)), (round(40 + dx), round(40 + dy)), 1.0, width_px)
        kept = _without_specks(image)
        for col, row in ((12, 12), (12, 66), (66, 12), (66, 66)):
            assert kept[row - 2 : row + 3, col - 2 : col + 3].max() == 0.0
        line = np.zeros_like(image)
        ends = (round(40 - 0.8 * dx), round(40 - 0.8 * dy)), (round(40 + 0.8 * dx), round(40 + 0.8 * dy))
        cv2.line(line, *ends, 1.0, 1)
        return kept[line > 0].mean()

    assert kept_along_line(2) > 0.95
    assert kept_along_line(1) > 0.25
