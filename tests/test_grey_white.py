"""Grey and white shafts among sparse dark hair (salt-and-pepper hair): known answers."""

import importlib
import re

import cv2
import numpy as np
import pytest
from phantoms import grid_colour_photo, phantom, shaft_coverage

import densitometry
from densitometry import AnalysisParameters, ParameterError, grey_white, synthetic
from densitometry.batch import add_analysis_arguments, analysis_parameters
from densitometry.calibration import Calibration
from densitometry.hairs import TracedHair
from densitometry.preprocess import relative_contrast
from densitometry.validation import check_photo, hair_recall, shaft_diameter_errors

UM_PER_PX = 5.0
DARK_BROWN, WHITE = (60, 45, 35), (235, 235, 230)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_white_shafts_among_sparse_dark_ones_are_counted(seed):
    """Six dark-brown and six white shafts lying apart on light skin: read as dark hair, the white ones
    are counted too (and marked), and only they; without the grey/white reading only the dark ones."""
    photo = grid_colour_photo([DARK_BROWN, WHITE], seed)
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX)
    dark_only = densitometry.analyze(photo, um_per_px=UM_PER_PX, grey_white=False)
    assert result.polarity is densitometry.Polarity.DARK
    assert (result.hair_count, result.grey_white_count) == (12, 6)
    assert (dark_only.hair_count, dark_only.grey_white_count) == (6, 0)
    assert result.summary()["grey_white_count"] == 6
    # The grey/white rows are the white shafts: bright against the skin at their ends' midpoint.
    grey = photo.astype(float) @ [0.299, 0.587, 0.114]
    for _, row in result.hairs.iterrows():
        middle = np.round([(row.start_row_px + row.end_row_px) / 2, (row.start_col_px + row.end_col_px) / 2])
        brighter = grey[int(middle[0]), int(middle[1])] > np.median(grey)
        assert brighter == row.grey_white
    white = result.hairs[result.hairs.grey_white]
    assert ((white.diameter_um > 40) & (white.diameter_um < 90)).all()  # 50-80 µm drawn


def test_forced_reading_on_counts_them_where_the_automatic_look_does_not():
    """Seed 2 shows too few bright streaks for the automatic look; ``grey_white=True`` looks anyway, and a
    forced ``polarity="dark"`` counts dark hair only."""
    photo = grid_colour_photo([DARK_BROWN, WHITE], 2)
    assert densitometry.analyze(photo, um_per_px=UM_PER_PX).grey_white_count == 0
    forced = densitometry.analyze(photo, um_per_px=UM_PER_PX, grey_white=True)
    assert (forced.hair_count, forced.grey_white_count) == (12, 6)
    photo = grid_colour_photo([DARK_BROWN, WHITE], 0)
    assert densitometry.analyze(photo, um_per_px=UM_PER_PX, polarity="dark").grey_white_count == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_dark_hair_alone_gains_no_grey_white_hairs(seed):
    photo = grid_colour_photo([DARK_BROWN], seed)
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX, grey_white=True)
    assert (result.hair_count, result.grey_white_count) == (12, 0)


def test_a_photo_read_bright_marks_every_hair_grey_white():
    shafts = [
        ((40, 40), (400, 120), 14, 0.25),
        ((60, 500), (440, 380), 10, 0.25),
        ((240, 20), (230, 620), 12, 0.25),
    ]
    result = densitometry.analyze(phantom(shafts, skin=0.55, bright=True), um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert result.grey_white_count == result.hair_count == 3


def test_synthetic_salt_and_pepper_phototrichogram():
    """A clipped phantom with 41 of its 106 counted hairs grey or white (seed 1015): read dark alone it
    misses 30 % of the hairs; with the grey/white reading within 15 %, most grey hairs found."""
    photo = synthetic.generate("clipped", seed=1015, width_px=1280, height_px=960)
    truth = photo.truth()
    grey_truth = sum(hair["counted"] and hair["colour"] in ("grey", "white") for hair in truth["hairs"])
    assert (truth["hair_count"], grey_truth) == (106, 41)
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    dark_only = densitometry.analyze(photo.image, um_per_px=photo.um_per_px, grey_white=False)
    assert dark_only.hair_count < 0.8 * truth["hair_count"]
    assert abs(result.hair_count - truth["hair_count"]) <= 0.15 * truth["hair_count"]
    assert 0.6 * grey_truth <= result.grey_white_count <= 1.2 * grey_truth
    recall = hair_recall(result.centerlines_px, truth)
    assert recall["grey_white_recall"] > 0.6
    assert hair_recall(dark_only.centerlines_px, truth)["grey_white_recall"] < 0.2


def test_skin_level_averages_the_skin_between_the_hairs():
    """Skin at 0.8 with dark shafts at 0.3 and a white one at 0.95 masked out: the skin level is 0.8
    everywhere, on the hairs too; the fallback where no skin lies within reach."""
    calibration = Calibration(UM_PER_PX)
    grey = np.full((300, 400), 0.8, np.float32)
    hairs = np.zeros(grey.shape, bool)
    for start, end, value in (
        ((20, 30), (280, 90), 0.3),
        ((40, 300), (260, 200), 0.3),
        ((150, 0), (150, 399), 0.95),
    ):
        on = shaft_coverage(grey.shape, start, end, 14) > 0
        grey[on] = value
        hairs |= on
    level = grey_white.skin_level(grey, hairs, calibration, fallback=np.zeros_like(grey))
    np.testing.assert_allclose(level, 0.8, atol=2e-3)
    covered = grey_white.skin_level(
        grey, np.ones(grey.shape, bool), calibration, fallback=np.full_like(grey, 0.5)
    )
    np.testing.assert_allclose(covered, 0.5)
    bright = relative_contrast(np.float32([0.96]), np.float32([0.8]), densitometry.Polarity.BRIGHT)
    assert bright[0] == pytest.approx(0.2)


def test_bright_streaks_are_thin_long_and_apart_from_the_hair():
    calibration = Calibration(UM_PER_PX)
    contrast = np.zeros((300, 400), np.float32)
    for row in (40, 90, 140):  # three streaks 300 px (1.5 mm) long, 6 px (30 µm) wide
        contrast[row - 3 : row + 3, 50:350] = 0.3
    contrast[200:260, 50:110] = 0.3  # a blob (a flake)
    contrast[280:284, 50:350] = 0.3  # a streak along a dark hair's edge
    hair = np.zeros(contrast.shape, bool)
    hair[286:296, 40:360] = True
    near_hair = grey_white.bridge_mask(hair, calibration)
    assert grey_white.bright_streaks(contrast, near_hair, calibration, level=0.12) == 3
    assert grey_white.bright_streaks(contrast, near_hair, calibration, level=0.5) == 0


def _trace(points):
    coords = np.asarray(points, float)
    return TracedHair(coords, float(np.hypot(*np.diff(coords, axis=0).T).sum()), (0,), np.zeros((0, 2)))


def test_shafts_in_a_blob_are_not_compact():
    calibration = Calibration(UM_PER_PX)
    mask = np.zeros((200, 300), bool)
    mask[20:30, 20:280] = True  # a shaft: 260 x 10 px
    mask[80:180, 40:200] = True  # a blob with one trace across it
    shafts = [
        (
            {"length_um": 260 * UM_PER_PX, "band_um": 10 * UM_PER_PX},
            _trace([(25, 20 + k) for k in range(260)]),
        ),
        (
            {"length_um": 160 * UM_PER_PX, "band_um": 10 * UM_PER_PX},
            _trace([(130, 40 + k) for k in range(160)]),
        ),
    ]
    assert grey_white.compact_shafts(mask, shafts, calibration) == [True, False]


def test_a_dark_trace_no_darker_than_the_skin_is_skin_between_bright_shafts():
    coords = [np.array([(5.0, k) for k in range(10)])]
    grey = np.full((10, 10), 0.68, np.float32)
    background = np.full_like(grey, 0.8)  # the (raised) closing: the trace is 0.15 darker than it
    darker = grey_white.darker_than_skin(
        coords, grey, background, np.full_like(grey, 0.687), low_contrast=0.05
    )
    assert darker.tolist() == [False]  # 0.01 darker than the skin between the hairs: that skin
    darker = grey_white.darker_than_skin(
        coords, grey, background, np.full_like(grey, 0.78), low_contrast=0.05
    )
    assert darker.tolist() == [True]  # 0.13 darker than the skin: a dark hair
    # Faint in brightness (blond hair read in blue: 0.02 against the background): kept.
    faint = np.full_like(grey, 0.784)
    assert grey_white.darker_than_skin(
        coords, faint, background, np.full_like(grey, 0.75), low_contrast=0.05
    )[0]


def test_grey_white_parameter_is_checked_and_set_from_the_command_line():
    assert AnalysisParameters().grey_white is None
    assert AnalysisParameters(grey_white=np.bool_(True)).grey_white is True
    with pytest.raises(ParameterError, match="grey_white"):
        AnalysisParameters(grey_white="yes")
    assert AnalysisParameters(grey_white=False).to_dict()["grey_white"] is False
    import argparse

    parser = argparse.ArgumentParser()
    add_analysis_arguments(parser)
    for choice, value in (("auto", None), ("on", True), ("off", False)):
        assert analysis_parameters(parser.parse_args(["--grey-white", choice])).grey_white is value


def test_grey_hair_among_a_dense_dark_mask_is_counted():
    """A grey_hair phantom (seed 1001: 114 of its 183 counted hairs grey or white) whose dark mask covers
    more than `grey_white.SPARSE_COVERAGE`, tracing the skin between the grey shafts: the grey shafts are
    read against the middle brightness, by their bodies, and the skin traces dropped (read dark alone:
    a third too many hairs, 72 of them skin, a quarter of the grey ones found)."""
    photo = synthetic.generate("grey_hair", seed=1001, width_px=1280, height_px=960)
    checked = check_photo(photo)
    assert (checked["true_hair_count"], checked["true_grey_white_count"]) == (183, 114)
    assert abs(checked["count_error_percent"]) <= 10
    assert checked["false_count"] <= 5
    assert checked["grey_white_recall"] > 0.5


@pytest.mark.parametrize("seed", [1003, 1004])
def test_long_white_hair_among_dense_dark_hair_is_counted(seed):
    """colour_noise phantoms of dense dark hair (its mask is dark hair, not skin between grey shafts) with
    white hairs among it (30 of 102 and 21 of 47 counted hairs): the white shafts are read against the
    skin between the dark hairs, and counted where whole (read dark only: 23 and 14 % of them found,
    count -17 and -9 %; counting every white piece from 200 µm: +49 % on seed 1004, each white hair
    about two pieces)."""
    photo = synthetic.generate("colour_noise", seed=seed, width_px=1280, height_px=960)
    checked = check_photo(photo)
    assert checked["true_grey_white_count"] >= 20
    assert checked["grey_white_recall"] >= 0.5
    assert abs(checked["count_error_percent"]) <= 10
    assert checked["false_count"] <= 8


def test_neutral_skin_is_the_middle_brightness_between_dark_and_bright_shafts():
    """Skin at 0.6 under dark shafts at 0.2 and grey ones at 0.8, a third of the field each way at most:
    the wide median is the skin everywhere, where the mean outside the dark shafts is raised."""
    calibration = Calibration(UM_PER_PX)
    grey = np.full((300, 400), 0.6, np.float32)
    for column in range(20, 400, 60):
        grey[:, column : column + 12] = 0.2  # dark shafts 60 µm wide
        grey[:, column + 30 : column + 42] = 0.8  # grey shafts between them
    skin = grey_white.neutral_skin(grey, calibration, max_hair_diameter_um=150.0)
    np.testing.assert_allclose(skin[20:-20, 20:-20], 0.6, atol=0.01)


def test_body_contrast_caps_a_glint_at_the_seeding_contrast():
    contrast = np.float32([0.02, 0.1, 0.2, 0.8])
    np.testing.assert_allclose(grey_white.body_contrast(contrast, level=0.12), [0.02, 0.1, 0.12, 0.12])


def test_a_dense_mask_is_revised_only_where_much_of_it_is_skin():
    assert grey_white.mostly_skin([600.0, 700.0], [900.0])
    assert not grey_white.mostly_skin([300.0], [2000.0, 1500.0])
    assert not grey_white.mostly_skin([], [2000.0])


def test_grey_shafts_stand_only_where_they_run_as_long_as_the_traces_they_drop():
    assert grey_white.follows_whole_shafts([900.0, 1200.0, 800.0], [600.0, 700.0])
    assert not grey_white.follows_whole_shafts([300.0, 250.0, 400.0], [1500.0, 1800.0])
    # A few long bright gaps between many dark hairs: long, but a twentieth of the length they replace.
    assert not grey_white.follows_whole_shafts([700.0] * 3, [600.0] * 60)
    # The cheap first look allows for streaks cut at every crossing, up to twice as short.
    assert grey_white.may_follow_whole_shafts([300.0, 350.0, 400.0], [700.0])
    assert not grey_white.may_follow_whole_shafts([250.0, 300.0, 320.0], [1500.0])
    assert not grey_white.may_follow_whole_shafts([], [700.0])


def test_darker_than_skin_judges_each_trace_by_its_median_darkness():
    rng = np.random.default_rng(0)
    grey = rng.uniform(0.2, 0.8, (40, 40)).astype(np.float32)
    background = np.full_like(grey, 0.8)
    # Skin as bright as the background in the upper half (dark hair there), as the traces below.
    skin = np.where(np.arange(40)[:, None] < 20, 0.8, grey + rng.uniform(-0.05, 0.1, grey.shape))
    skin = skin.astype(np.float32)
    traces = [np.array([(row, k) for k in range(5, 35)], float) for row in range(2, 40, 4)]
    each = grey_white.darker_than_skin(traces, grey, background, skin, low_contrast=0.05)
    darkness = relative_contrast(grey, background, densitometry.Polarity.DARK)
    against_skin = relative_contrast(grey, skin, densitometry.Polarity.DARK)
    expected = []
    for trace in traces:
        rows, cols = trace.astype(int).T
        dark, skin_dark = float(np.median(darkness[rows, cols])), float(np.median(against_skin[rows, cols]))
        expected.append(dark < 0.05 or (skin_dark >= 0.5 * dark and dark - skin_dark <= 0.05))
    assert each.tolist() == expected
    assert 0 < sum(expected) < len(expected)  # both answers occur
    assert grey_white.darker_than_skin([], grey, background, skin, low_contrast=0.05).shape == (0,)


def _glinting_grey_photo(seed, *, skin=(215, 195, 185), body=(200, 200, 200), dark=True):
    """Twelve shafts as in `grid_colour_photo`, every other one dark brown (with ``dark``) and the rest
    grey: a neutral body as bright as the skin (luma 200), 85 % opaque, with a white glint a quarter of
    its width along its middle. uint8 RGB, and the grey shafts' (centre (row, col), diameter µm) at
    5 µm/px."""
    shape = (480, 640)
    rng = np.random.default_rng(seed)
    image = np.empty((*shape, 3))
    image[:] = skin
    grey_shafts = []
    for index in range(12):
        centre = np.array([80 + 160 * (index // 4), 80 + 160 * (index % 4)])
        angle, half_length = rng.uniform(0, np.pi), rng.uniform(50, 70)
        offset = half_length * np.array([np.sin(angle), np.cos(angle)])
        width_px = rng.uniform(10, 16)
        start, end = centre - offset, centre + offset
        coverage = shaft_coverage(shape, start, end, width_px)[..., None]
        if index % 2 or not dark:
            image = image * (1 - 0.85 * coverage) + np.multiply(body, 0.85 * coverage)
            glint = 0.6 * shaft_coverage(shape, start, end, width_px / 4)[..., None]
            image = image * (1 - glint) + 255.0 * glint
            grey_shafts.append((centre, width_px * UM_PER_PX))
        else:
            image = image * (1 - coverage) + np.multiply(DARK_BROWN, coverage)
    texture = cv2.GaussianBlur(rng.normal(0, 1, shape), (0, 0), 3.0)
    image *= (1 + 0.03 * texture / texture.std())[..., None]
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    image += rng.normal(0, 4, shape)[..., None] + rng.normal(0, 1, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), grey_shafts


@pytest.mark.parametrize("seed", [0, 3])
def test_grey_shafts_as_bright_as_the_skin_are_measured_by_their_colour(seed):
    """Grey shafts whose body is as bright as the skin show only their glint in brightness (a quarter of
    their width: read there, 35-52 µm too thin); their colour shows the whole body."""
    photo, grey_shafts = _glinting_grey_photo(seed)
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX, grey_white=True)
    grey = result.hairs[result.hairs.grey_white]
    assert len(grey) >= 4
    for _, row in grey.iterrows():
        middle = np.array([(row.start_row_px + row.end_row_px) / 2, (row.start_col_px + row.end_col_px) / 2])
        _, true_um = min(grey_shafts, key=lambda shaft: np.hypot(*(shaft[0] - middle)))
        assert abs(row.diameter_um - true_um) <= 10


def test_off_skin_colour_follows_a_hairs_coverage_whatever_the_brightness():
    """Grey hair H over a share ``a`` of a pixel of skin S: the colour off the skin's hue is ``a`` times
    H's, on bright and on dark skin alike (whose own colour reads 0)."""
    skin = np.array([0.8, 0.6, 0.55], np.float32)
    hair = np.array([0.7, 0.7, 0.7], np.float32)
    calibration = Calibration(UM_PER_PX)
    for brightness in (1.0, 0.4):
        rgb = np.empty((60, 80, 3), np.float32)
        rgb[:] = brightness * skin
        shares = (0.25, 0.5, 1.0)
        for column, share in zip((20, 40, 60), shares, strict=True):
            rgb[:, column] = share * hair + (1 - share) * brightness * skin
        hair_mask = np.zeros(rgb.shape[:2], bool)
        hair_mask[:, [20, 40, 60]] = True
        contrast, _ = grey_white.off_skin_colour(rgb, hair_mask, calibration)
        s = brightness * skin
        off = hair - (hair @ s) / (s @ s) * s
        full = np.linalg.norm(off) / np.linalg.norm(s)
        np.testing.assert_allclose(contrast[30, [20, 40, 60]], np.multiply(shares, full), rtol=1e-4)
        np.testing.assert_allclose(contrast[30, [10, 30, 50, 70]], 0.0, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_photo_of_grey_hair_read_bright_measures_it_by_its_colour(seed):
    """Every shaft grey, as bright as the skin but for its glint: the photo is read as bright hair and
    each shaft measured across its body in colour (in brightness, its glint: 26-52 µm too thin)."""
    photo, grey_shafts = _glinting_grey_photo(seed, dark=False)
    result = densitometry.analyze(photo, um_per_px=UM_PER_PX)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert result.hair_count == result.grey_white_count == 12
    for _, row in result.hairs.iterrows():
        middle = np.array([(row.start_row_px + row.end_row_px) / 2, (row.start_col_px + row.end_col_px) / 2])
        _, true_um = min(grey_shafts, key=lambda shaft: np.hypot(*(shaft[0] - middle)))
        assert abs(row.diameter_um - true_um) <= 10


def test_glossy_grey_hair_read_bright_is_measured_below_its_glint(monkeypatch):
    """The generator's grey_hair phantom seed 2002: 13 glossy grey and white shafts of 54-90 µm under a
    specular stripe a third as wide, read bright. At half height in colour only the stripes are
    measured (median 55 µm too thin hair by hair); where half height is that narrow against a quarter,
    the shafts are measured at a quarter (16 µm)."""
    photo = synthetic.generate("grey_hair", seed=2002, width_px=1280, height_px=960)
    truth = photo.truth()
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert result.polarity is densitometry.Polarity.BRIGHT
    errors_um = shaft_diameter_errors(result.hairs, result.centerlines_px, truth)
    assert len(errors_um) >= 10
    assert abs(np.median(errors_um)) <= 25
    analyze_module = importlib.import_module("densitometry.analyze")
    monkeypatch.setattr(analyze_module, "_GLINT_WIDTH_RATIO", 0.0)  # always at half height
    at_half = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert np.median(shaft_diameter_errors(at_half.hairs, at_half.centerlines_px, truth)) < -40


@pytest.mark.parametrize(
    ("scenario", "seed", "warned"), [("grey_hair", 2008, True), ("colour_noise", 1005, False)]
)
def test_a_bright_reading_warns_of_the_dark_hair_it_does_not_count(scenario, seed, warned):
    """Generator phantoms first read dark, then bright: grey_hair seed 2008 holds 22 black hairs among
    219 grey and white ones, which a bright reading does not count; colour_noise seed 1005 holds blond,
    grey and white hair only (blond is pigmented but not dark)."""
    photo = synthetic.generate(scenario, seed=seed, width_px=1280, height_px=960)
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert result.polarity is densitometry.Polarity.BRIGHT
    assert result.grey_white_count == result.hair_count
    warnings = [warning for warning in result.quality_warnings if "dark (pigmented) shafts" in warning]
    assert len(warnings) == int(warned)
    if warned:
        unread = int(re.search(r"(\d+) dark \(pigmented\) shafts", warnings[0]).group(1))
        true_dark = sum(hair["colour"] == "black" for hair in photo.truth()["hairs"] if hair["counted"])
        assert true_dark == 22
        assert 10 <= unread <= true_dark


@pytest.mark.parametrize(
    ("scenario", "seed", "warned"), [("colour_noise", 1005, True), ("grey_hair", 2002, False)]
)
def test_blond_hair_read_bright_is_warned_of_its_glint_diameters(scenario, seed, warned):
    """colour_noise seed 1005 is read bright: 190 of its 241 hairs are glossy blond, whose colour does
    not leave the skin's towards grey, so they keep their widths in brightness, those of the glint
    along them (hair by hair more than 30 µm thin). The photo is warned, with the count of such shafts.
    grey_hair seed 2002, read bright too, holds grey and white hair: measured in colour, not warned."""
    photo = synthetic.generate(scenario, seed=seed, width_px=1280, height_px=960)
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px)
    assert result.polarity is densitometry.Polarity.BRIGHT
    warnings = [warning for warning in result.quality_warnings if "not grey or white in colour" in warning]
    assert len(warnings) == int(warned)
    if warned:
        pigmented = int(re.search(r"but (\d+) shafts", warnings[0]).group(1))
        assert result.hair_count / 2 <= pigmented <= result.hair_count
        errors_um = shaft_diameter_errors(result.hairs, result.centerlines_px, photo.truth())
        assert np.median(errors_um) < -30


def test_towards_grey_tells_white_hair_from_blond_hair_over_darker_skin():
    """A shaft covering 60 % of its pixels: white over pink skin and over dark skin leaves the skin's
    hue straight towards grey (1); blond over dark skin towards yellow (well below
    `grey_white.MIN_TOWARDS_GREY`); over grey skin there is no hue to leave (NaN)."""
    trace = [np.array([(10.0, k) for k in range(5, 35)])]

    def cosine(hair, skin):
        rgb = np.empty((20, 40, 3), np.float32)
        rgb[:] = skin
        rgb[10, 5:35] = 0.6 * np.asarray(hair) + 0.4 * np.asarray(skin)
        return grey_white.towards_grey(rgb, np.broadcast_to(np.float32(skin), rgb.shape), trace)[0]

    pink, dark, grey = (0.84, 0.76, 0.73), (0.31, 0.26, 0.23), (0.6, 0.6, 0.6)
    assert cosine((0.86, 0.86, 0.86), pink) == pytest.approx(1.0)
    assert cosine((0.86, 0.86, 0.86), dark) == pytest.approx(1.0)
    assert cosine((0.78, 0.63, 0.42), dark) < grey_white.MIN_TOWARDS_GREY
    assert np.isnan(cosine((0.86, 0.86, 0.86), grey))
