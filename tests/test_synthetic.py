"""Known-answer tests of the synthetic trichoscopy generator (small images, fast)."""

import argparse
import dataclasses
import json

import cv2
import numpy as np
import pytest

from densitometry import synthetic
from densitometry.errors import CalibrationError, DensitometryError, ParameterError
from densitometry.synthetic import SceneParameters, TruthHair, rasterize_hair

W, H = 320, 240


def flat_params(**changes) -> SceneParameters:
    """A scene with a flat background and a perfect camera, for measuring hairs exactly."""
    base = synthetic.scene_parameters("clean", np.random.default_rng(0))
    flat = dict(
        um_per_px=5.0,
        skin_rgb=(200.0, 170.0, 150.0),
        skin_variation=0.0,
        redness=0.0,
        texture_strength=0.0,
        crease_count=0,
        opening_contrast=0.0,
        flake_count=0,
        glare_count=0,
        vignetting=0.0,
        illumination_gradient=0.0,
        white_balance=(1.0, 1.0, 1.0),
        exposure=1.0,
        defocus_um=0.0,
        sharpening=0.0,
        gamma=1.0,
        saturation=1.0,
        noise_sigma=0.0,
        jpeg_quality=None,
        shadow_strength=0.0,
        specular_strength=0.0,
    )
    flat.update(changes)
    return dataclasses.replace(base, **flat)


def straight_hair(start_rc, end_rc, diameter_um, *, colour="black", opacity=1.0):
    line = np.linspace(start_rc, end_rc, 50)
    return TruthHair(
        hair_id=0,
        unit_id=0,
        centerline_px=line,
        diameter_um=diameter_um,
        length_um=0.0,
        visible_length_um=0.0,
        colour=colour,
        emergence_px=tuple(start_rc),
        crosses_border=False,
        centre_opacity=opacity,
    )


def test_same_seed_same_photo_and_different_seed_differs():
    a = synthetic.generate("clinical", seed=3, width_px=W, height_px=H)
    b = synthetic.generate("clinical", seed=3, width_px=W, height_px=H)
    c = synthetic.generate("clinical", seed=4, width_px=W, height_px=H)
    np.testing.assert_array_equal(a.image, b.image)
    assert json.dumps(a.truth()) == json.dumps(b.truth())
    assert not np.array_equal(a.image, c.image)
    assert a.params != c.params


@pytest.mark.parametrize("scenario", sorted(synthetic.SCENARIOS))
def test_every_scenario_renders_with_consistent_truth(scenario):
    photo = synthetic.generate(scenario, seed=1, width_px=W, height_px=H)
    assert photo.image.dtype == np.uint8 and photo.image.shape == (H, W, 3)
    assert photo.hair_mask.dtype == bool and photo.hair_mask.shape == (H, W)
    assert photo.centerline_mask.dtype == bool and photo.centerline_mask.shape == (H, W)
    assert photo.diameter_map_um.dtype == np.float32 and photo.diameter_map_um.shape == (H, W)
    assert photo.params.scenario == scenario
    truth = photo.truth(min_length_um=150.0)
    area = W * H * (photo.um_per_px / 1e4) ** 2
    assert truth["field_area_cm2"] == pytest.approx(area, rel=1e-12)
    expected = sum(h.visible_length_um >= 150.0 for h in photo.hairs)
    assert truth["hair_count"] == expected
    assert truth["density_per_cm2"] == pytest.approx(expected / area)
    assert sum(row["counted"] for row in truth["hairs"]) == expected
    for hair in photo.hairs:
        assert 0 < hair.visible_length_um <= hair.length_um + 1e-9
        assert hair.crosses_border == (hair.visible_length_um < hair.length_um * (1 - 1e-6))
        assert np.allclose(hair.centerline_px[0], hair.emergence_px)
        seg = np.hypot(*np.diff(hair.centerline_px, axis=0).T)
        assert seg.sum() * photo.um_per_px == pytest.approx(hair.length_um, rel=1e-9)
        assert photo.units[hair.unit_id].hair_ids.count(hair.hair_id) == 1
    assert [u.unit_id for u in photo.units] == list(range(len(photo.units)))
    # Empty openings exist only as units; the diameter map is zero off the mask.
    assert not photo.diameter_map_um[~photo.hair_mask].any()
    json.dumps(truth, allow_nan=False)


def test_scenario_parameters_differ_in_their_theme():
    rng = np.random.default_rng(5)
    assert 8 <= synthetic.scene_parameters("low_res", rng).um_per_px <= 10
    assert 2 <= synthetic.scene_parameters("high_res", rng).um_per_px <= 3
    assert synthetic.scene_parameters("clipped", rng).length_mode == "clipped"
    grey = synthetic.scene_parameters("grey_hair", rng)
    assert (
        sum(
            p
            for c, p in zip(grey.hair_colours, grey.hair_colour_probabilities, strict=True)
            if c in ("grey", "white")
        )
        >= 0.6
    )
    assert 60 <= synthetic.scene_parameters("blur_noise", rng).jpeg_quality <= 75


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 90.0])
def test_straight_opaque_hair_integrates_to_its_diameter(angle_deg):
    params = flat_params()
    diameter_um = 43.7  # 8.74 px at 5 µm/px
    theta = np.radians(angle_deg)
    centre = np.array([H / 2 + 0.37, W / 2 - 0.21])
    direction = np.array([np.sin(theta), np.cos(theta)])
    hair = straight_hair(centre - 100 * direction, centre + 100 * direction, diameter_um)
    photo = synthetic.render(params, seed=0, width_px=W, height_px=H, hairs=[hair])
    background = np.asarray(params.skin_rgb)
    body = np.asarray(synthetic._geometry.HAIR_LOOK["black"][0])
    darkness = (background - photo.image.astype(float)) / (background - body)
    darkness = darkness.mean(axis=2)
    # Integrate across the shaft along image rows (or columns for a near-horizontal hair).
    if angle_deg < 45:
        widths = darkness[:, W // 2 - 20 : W // 2 + 20].sum(axis=0) * np.cos(theta)
    else:
        widths = darkness[H // 2 - 20 : H // 2 + 20, :].sum(axis=1) * np.sin(theta)
    assert np.abs(widths - diameter_um / params.um_per_px).max() < 0.5
    assert np.mean(widths) == pytest.approx(diameter_um / params.um_per_px, abs=0.1)
    assert photo.hairs[0].diameter_um == diameter_um
    assert photo.hair_mask.any() and photo.diameter_map_um.max() == np.float32(diameter_um)


def test_rasterized_coverage_area_is_exact():
    diameter_px = 7.3
    line = np.array([[50.4, 20.0], [50.4, 120.0]])
    ras = rasterize_hair(line, diameter_px=diameter_px, shape=(100, 150))
    area = diameter_px * 100 + np.pi * (diameter_px / 2) ** 2
    assert ras.coverage.sum() == pytest.approx(area, rel=0.01)
    assert np.unique(ras.index).size == ras.index.size
    # Integrated chord is the cross-section area of the cylinder, pi r², per unit length.
    column = (ras.index % 150) == 70
    assert (ras.coverage[column] * ras.chord_px[column]).sum() == pytest.approx(
        np.pi * (diameter_px / 2) ** 2, rel=1e-6
    )
    assert rasterize_hair(line + 1000, diameter_px=diameter_px, shape=(100, 150)) is None


def test_white_hair_is_brighter_than_the_scalp_and_semi_transparent():
    params = flat_params(skin_rgb=(180.0, 140.0, 115.0))
    hair = straight_hair((120.3, 10.0), (120.3, 300.0), 80.0, colour="white", opacity=0.7)
    photo = synthetic.render(params, seed=0, width_px=W, height_px=H, hairs=[hair])
    centre = photo.image[120, 50:250].astype(float).mean(axis=0)
    assert centre.mean() > np.mean(params.skin_rgb) + 20
    assert (centre < 240).all()  # the scalp still shows through


def test_border_cut_hair_visible_length_is_exact():
    params = flat_params()
    hair = straight_hair((100.0, -60.0), (100.0, 100.0), 70.0)
    photo = synthetic.render(params, seed=0, width_px=W, height_px=H, hairs=[hair])
    (truth,) = photo.hairs
    assert truth.crosses_border
    assert truth.length_um == pytest.approx(160 * 5.0)
    assert truth.visible_length_um == pytest.approx(100.5 * 5.0)
    assert not photo.units[0].inside_field
    assert photo.truth(min_length_um=500.0)["hair_count"] == 1
    assert photo.truth(min_length_um=510.0)["hair_count"] == 0


def test_hair_mask_area_matches_diameter_times_visible_length():
    rng = np.random.default_rng(2)
    params = dataclasses.replace(
        synthetic.scene_parameters("clean", rng),
        unit_size_probabilities=(1.0, 0.0, 0.0, 0.0),
        hair_density_per_cm2=60.0,
        length_mode="clipped",
        um_per_px=5.0,
    )
    photo = synthetic.render(params, seed=2, width_px=640, height_px=480)
    expected = sum(h.diameter_um * h.visible_length_um for h in photo.hairs) / photo.um_per_px**2
    assert len(photo.hairs) > 5
    assert photo.hair_mask.sum() == pytest.approx(expected, rel=0.15)
    # Centrelines lie inside the hair mask (after a 1-px tolerance).
    grown = cv2.dilate(photo.hair_mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert photo.centerline_mask.sum() > 0
    assert (photo.centerline_mask & ~grown).sum() <= 0.02 * photo.centerline_mask.sum()


def test_doubling_pixel_size_quadruples_field_area():
    a = synthetic.generate("clean", seed=7, width_px=W, height_px=H, um_per_px=4.0)
    b = synthetic.generate("clean", seed=7, width_px=W, height_px=H, um_per_px=8.0)
    assert b.truth()["field_area_cm2"] == pytest.approx(4 * a.truth()["field_area_cm2"])
    assert a.um_per_px == 4.0 and b.params.um_per_px == 8.0


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_save_writes_image_and_json_that_round_trip(tmp_path, fmt):
    photo = synthetic.generate("clinical", seed=11, width_px=W, height_px=H)
    image_path, truth_path = photo.save(tmp_path / "out", "clinical_0000", format=fmt)
    assert image_path.name == f"clinical_0000.{fmt}" and truth_path.name == "clinical_0000.json"
    loaded = cv2.cvtColor(cv2.imread(str(image_path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if fmt == "png" or photo.encoded_jpeg is not None:
        np.testing.assert_array_equal(loaded, photo.image)
    truth = json.loads(truth_path.read_text())
    assert truth == json.loads(json.dumps(photo.truth()))
    params = SceneParameters(**truth["params"])
    assert params == photo.params
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([image_path.name, truth_path.name])


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(CalibrationError, match="um_per_px"):
        synthetic.generate("clean", seed=0, um_per_px=-1.0)
    with pytest.raises(ParameterError, match="width_px"):
        synthetic.generate("clean", seed=0, width_px=0)
    with pytest.raises(ParameterError, match="seed"):
        synthetic.generate("clean", seed=-1)
    with pytest.raises(ParameterError, match="unknown scenario 'nope'"):
        synthetic.generate("nope")
    base = synthetic.scene_parameters("clean", np.random.default_rng(0))
    with pytest.raises(ParameterError, match="unit_size_probabilities"):
        dataclasses.replace(base, unit_size_probabilities=(0.5, 0.5, 0.5, 0.0))
    with pytest.raises(ParameterError, match="length_mode"):
        dataclasses.replace(base, length_mode="shaved")
    with pytest.raises(CalibrationError):
        dataclasses.replace(base, um_per_px=float("nan"))
    with pytest.raises(ParameterError, match="hair_density_per_cm2"):
        dataclasses.replace(base, hair_density_per_cm2=-1.0)
    photo = synthetic.generate("clean", seed=0, width_px=32, height_px=32)
    with pytest.raises(ParameterError, match="format"):
        photo.save("/tmp", "x", format="tiff")
    assert issubclass(ParameterError, DensitometryError)


def test_cli_writes_numbered_files(tmp_path, capsys):
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    synthetic.add_arguments(parser)
    assert "default: clinical" in parser.format_help()
    args = parser.parse_args(
        [
            "--out",
            str(tmp_path),
            "-n",
            "2",
            "--scenario",
            "clipped",
            "--width",
            "96",
            "--height",
            "64",
            "--format",
            "png",
        ]
    )
    assert synthetic.run(args) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["clipped_0000.json", "clipped_0000.png", "clipped_0001.json", "clipped_0001.png"]
    assert json.loads((tmp_path / "clipped_0001.json").read_text())["seed"] == 1
    bad = parser.parse_args(["--out", str(tmp_path), "-n", "1", "--width", "0"])
    assert synthetic.run(bad) == 2
    assert "width_px" in capsys.readouterr().err


def test_colour_noise_changes_colour_not_brightness_and_leaves_the_truth_alone():
    base = synthetic.generate("colour_noise", seed=2, width_px=W, height_px=H).params
    assert base.colour_noise_levels > 0
    quiet = dataclasses.replace(base, colour_noise_levels=0.0, noise_sigma=0.0, jpeg_quality=None)
    noisy = dataclasses.replace(quiet, colour_noise_levels=4.0, colour_noise_blotch_px=3.0)
    a = synthetic.render(quiet, seed=5, width_px=W, height_px=H)
    b = synthetic.render(noisy, seed=5, width_px=W, height_px=H)
    difference = b.image.astype(float) - a.image.astype(float)
    unclipped = (a.image > 8).all(axis=2) & (a.image < 247).all(axis=2)
    assert abs(difference.mean(axis=2)[unclipped]).mean() < 0.6  # brightness kept (8-bit rounding)
    assert 2.5 < difference[unclipped].std() < 5.5  # ~4 grey levels of colour per channel
    truth_a, truth_b = a.truth(), b.truth()
    assert json.dumps(truth_a["hairs"]) == json.dumps(truth_b["hairs"])  # same scene, only the camera differs
    assert truth_b["params"]["colour_noise_levels"] == 4.0
    with pytest.raises(ParameterError, match="colour_noise_blotch_px"):
        dataclasses.replace(quiet, colour_noise_blotch_px=0.0)
    with pytest.raises(ParameterError, match="colour_noise_levels"):
        dataclasses.replace(quiet, colour_noise_levels=-1.0)


def test_speckle_whitens_a_share_of_the_skin_and_leaves_the_truth_alone():
    base = synthetic.generate("oily_speckle", seed=2, width_px=W, height_px=H).params
    assert base.speckle_fraction > 0 and base.hair_defocus_um >= 20  # hairs above the skin, out of focus
    quiet = dataclasses.replace(base, speckle_fraction=0.0, noise_sigma=0.0, jpeg_quality=None)
    flaky = dataclasses.replace(quiet, speckle_fraction=0.25, speckle_diameter_um=(15.0, 30.0))
    a = synthetic.render(quiet, seed=5, width_px=W, height_px=H)
    b = synthetic.render(flaky, seed=5, width_px=W, height_px=H)
    brighter = (b.image.astype(float) - a.image.astype(float)).mean(axis=2) > 20
    skin = ~a.hair_mask
    assert 0.05 < brighter[skin].mean() < 0.4  # a share of the bare skin turned nearly white
    assert json.dumps(a.truth()["hairs"]) == json.dumps(b.truth()["hairs"])
    with pytest.raises(ParameterError, match="speckle_fraction"):
        dataclasses.replace(quiet, speckle_fraction=1.5)
    with pytest.raises(ParameterError, match="speckle_diameter_um"):
        dataclasses.replace(quiet, speckle_diameter_um=(30.0, 10.0))


@pytest.mark.parametrize("scenario", ["clean", "clipped", "artefacts"])
def test_a_hairless_scalp_has_skin_and_artefacts_but_no_hair(scenario):
    """Density 0 (e.g. to measure false hairs, see benchmarks/hairless.py): no follicular units, so
    no hairs and no openings, and the same skin, artefacts and camera as the scenario's haired photo."""
    params = synthetic.scene_parameters(scenario, np.random.default_rng(3))
    bald = synthetic.render(
        dataclasses.replace(params, hair_density_per_cm2=0.0), seed=3, width_px=160, height_px=120
    )
    haired = synthetic.render(params, seed=3, width_px=160, height_px=120)
    truth = bald.truth()
    assert truth["hair_count"] == 0 and truth["density_per_cm2"] == 0.0
    assert not bald.hairs and not bald.units and not bald.hair_mask.any()
    assert haired.hairs
    skin = ~haired.hair_mask
    assert np.abs(bald.image.astype(float) - haired.image.astype(float))[skin].mean() < 25


def test_generate_takes_the_hair_density_from_the_caller():
    photo = synthetic.generate("clinical", seed=4, width_px=320, height_px=240, hair_density_per_cm2=0.0)
    assert photo.truth()["hair_count"] == 0 and not photo.hair_mask.any()
    drawn = synthetic.generate("clinical", seed=4, width_px=320, height_px=240)
    assert drawn.hairs and not np.array_equal(drawn.image, photo.image)
    with pytest.raises(ParameterError, match="hair_density_per_cm2"):
        synthetic.generate("clinical", seed=4, width_px=320, height_px=240, hair_density_per_cm2=-1.0)


def test_flat_frame_margins_lie_outside_the_field_and_its_truth():
    # An exported frame: 30 white rows at the bottom, 12 columns at the right. A hair crossing into the
    # bottom margin is visible (and counted) only down to the margin's edge.
    params = flat_params(frame_margins_px=(0, 30, 0, 12), frame_margin_level=255.0, jpeg_quality=90)
    hair = straight_hair((150.0, 100.0), (300.0, 100.0), 70.0)  # rows 150-300; the field ends at 210
    photo = synthetic.render(params, seed=0, width_px=W, height_px=H, hairs=[hair])
    assert photo.field_px == (0, 0, H - 30, W - 12)
    assert photo.field_area_cm2 == pytest.approx((H - 30) * (W - 12) * (5.0e-4) ** 2)
    assert photo.truth()["field_px"] == [0, 0, H - 30, W - 12]
    # Flat white but for the JPEG ringing along its edge (the frame is compressed with the photo).
    assert np.median(photo.image[H - 30 :]) == 255 and np.median(photo.image[:, W - 12 :]) == 255
    assert photo.image[H - 16 :].min() >= 240
    (truth,) = photo.hairs
    np.testing.assert_allclose(truth.centerline_px, hair.centerline_px)  # in the photo's pixels
    assert truth.crosses_border and truth.visible_length_um == pytest.approx((H - 30 - 0.5 - 150.0) * 5.0)
    assert not photo.hair_mask[H - 30 :].any() and photo.hair_mask[150:200, 95:105].all()
    # The analyzer leaves the margins out of its field (and two lines more).
    import densitometry

    result = densitometry.analyze(photo.image, um_per_px=5.0)
    assert result.field_mask is not None and result.field_mask.sum() == (H - 32) * (W - 14)
    assert result.hair_count == 1
    with pytest.raises(ParameterError, match="frame_margins_px"):
        flat_params(frame_margins_px=(0, -1, 0, 0))
    with pytest.raises(ParameterError, match="leave a field"):
        synthetic.render(flat_params(frame_margins_px=(0, H - 10, 0, 0)), seed=0, width_px=W, height_px=H)
