"""Tests of the optional CNN refiner: config, tiling, weights, shipped model and the refine=True path.

Architecture tests use a tiny randomly initialised network (no training); torch tests skip cleanly when
torch is not installed.
"""

import sys

import numpy as np
import pytest

import densitometry
from densitometry import ParameterError
from densitometry.refiner import (
    INSTALL_HINT,
    RefinerConfig,
    RefinerUnavailableError,
    default_model_dir,
    refiner_available,
)
from densitometry.refiner import infer as refiner_infer
from densitometry.validation import hair_recall

TINY = {
    "version": "test",
    "channels": (4, 8, 8),
    "convs_per_level": (1, 1, 1),
    "tile_px": 32,
    "tile_margin_px": 24,
}


def _photo(scenario="clean", seed=3, size=(240, 320)):
    from densitometry import synthetic

    return synthetic.generate(scenario, seed=seed, width_px=size[1], height_px=size[0])


# --------------------------------------------------------------------------- without torch


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    refiner_infer._default_refiner.cache_clear()
    yield
    refiner_infer._default_refiner.cache_clear()


def test_missing_torch_is_reported_with_install_hint(no_torch):
    available, reason = refiner_available()
    assert not available
    assert INSTALL_HINT in reason


def test_analyze_refine_without_torch_raises_clear_error(no_torch):
    image = np.full((64, 64, 3), 200, np.uint8)
    with pytest.raises(RefinerUnavailableError, match=r"densitometry\[refiner\]"):
        densitometry.analyze(image, um_per_px=5.0, refine=True)
    assert issubclass(RefinerUnavailableError, densitometry.DensitometryError)


def test_classic_analyze_works_without_torch(no_torch):
    result = densitometry.analyze(np.full((64, 64, 3), 200, np.uint8), um_per_px=5.0)
    assert result.hair_count == 0


# --------------------------------------------------------------------------- config (no torch needed)


def test_config_round_trip_and_validation(tmp_path):
    config = RefinerConfig(**TINY)
    path = tmp_path / "refiner.json"
    config.save(path)
    assert RefinerConfig.load(path) == config
    assert config.tile_margin_px >= config.receptive_radius_px
    with pytest.raises(ParameterError, match="input_offsets"):
        RefinerConfig(**{**TINY, "input_offsets": (0.0, 0.0)})
    with pytest.raises(ParameterError, match="convs_per_level"):
        RefinerConfig(**{**TINY, "convs_per_level": (1, 1)})
    with pytest.raises(ParameterError, match="receptive radius"):
        RefinerConfig(**{**TINY, "tile_margin_px": 8})
    with pytest.raises(ParameterError, match="low_threshold"):
        RefinerConfig(**{**TINY, "low_threshold": 0.8, "high_threshold": 0.5})
    with pytest.raises(ParameterError, match="gap_peak_fraction"):
        RefinerConfig(**{**TINY, "gap_peak_fraction": 1.5})
    with pytest.raises(ParameterError, match="multiples"):
        RefinerConfig(**{**TINY, "tile_px": 30})
    with pytest.raises(ParameterError, match="colour_detail_um"):
        RefinerConfig(**{**TINY, "colour_detail_um": -1.0})
    with pytest.raises(ParameterError, match="unknown field"):
        RefinerConfig.from_dict({**config.to_dict(), "colour": "blue"})


def test_shipped_config_agrees_with_its_files():
    from densitometry.refiner.config import sha256_of

    model_dir = default_model_dir()
    config = RefinerConfig.load(model_dir / "refiner.json")
    assert sha256_of(model_dir / config.weights_file) == config.weights_sha256
    if config.onnx_file:
        assert sha256_of(model_dir / config.onnx_file) == config.onnx_sha256
    assert config.training["command"].startswith("densitometry train-refiner")
    assert (model_dir / "MODEL_CARD.md").is_file()


def test_shipped_network_reads_fine_photos_at_the_core_working_resolution():
    """The core reads photos finer than its working resolution (4 µm/px) at that resolution; the shipped
    network runs there too, not coarser. At 5 µm/px its mask merged touching hairs that the classic mask
    keeps apart (high_res phantoms, 2-3 µm/px: refined count error 29.7 % at 5, 18.8 % at 4 µm/px)."""
    from densitometry.analyze import _WORKING_UM_PER_PX

    config = RefinerConfig.load(default_model_dir() / "refiner.json")
    assert config.model_um_per_px(2.0) == _WORKING_UM_PER_PX
    assert config.model_um_per_px(_WORKING_UM_PER_PX) == _WORKING_UM_PER_PX


def test_model_scale_is_clamped():
    config = RefinerConfig(**TINY)
    assert config.model_um_per_px(2.0) == config.min_um_per_px
    assert config.model_um_per_px(7.0) == 7.0
    assert config.model_um_per_px(20.0) == config.max_um_per_px


# --------------------------------------------------------------------------- tiny model (torch)


@pytest.fixture(scope="module")
def tiny():
    torch = pytest.importorskip("torch")
    from densitometry.refiner.model import build_network

    torch.manual_seed(0)
    config = RefinerConfig(**TINY)
    network = build_network(config)
    for module in network.modules():  # non-trivial batch-norm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return config, network


def _refiner(config, network):
    import torch

    def run(batch):
        with torch.inference_mode():
            return network(torch.from_numpy(batch)).numpy()

    return refiner_infer.Refiner(config, "torch", "cpu", run)


@pytest.mark.parametrize("shape", [(70, 90), (33, 65), (8, 8)])
def test_tiled_equals_untiled(tiny, shape):
    config, network = tiny
    refiner = _refiner(config, network)
    planes = np.random.default_rng(1).normal(size=(4, *shape)).astype(np.float32)
    whole = refiner_infer.hair_probability(refiner, planes)
    tiled = refiner_infer.hair_probability(refiner, planes, tile_px=32)
    assert whole.shape == tiled.shape == (2, *shape)
    assert np.all((whole >= 0) & (whole <= 1))
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tile_size_must_fit_the_stride(tiny):
    config, network = tiny
    with pytest.raises(ParameterError, match="multiple"):
        refiner_infer.hair_probability(
            _refiner(config, network), np.zeros((4, 40, 40), np.float32), tile_px=30
        )


def test_probability_map_has_photo_shape_at_any_scale(tiny):
    config, network = tiny
    refiner = _refiner(config, network)
    photo = _photo(size=(60, 80))
    rgb = photo.image.astype(np.float32) / 255
    contrast = rgb[..., 1].copy()
    for um_per_px in (2.0, 7.0, 15.0):
        probability = refiner_infer.probability_map(
            rgb, contrast, contrast, densitometry.Calibration(um_per_px), refiner=refiner
        )
        assert probability.shape == (60, 80) and probability.dtype == np.float32
    assert np.array_equal(rgb, photo.image.astype(np.float32) / 255)  # input not modified


def test_weights_round_trip(tiny, tmp_path):
    import torch

    from densitometry.refiner.model import load_network, save_weights

    config, network = tiny
    sha = save_weights(network, tmp_path / "w.pt")
    config = RefinerConfig.from_dict({**config.to_dict(), "weights_sha256": sha})
    loaded = load_network(config, tmp_path / "w.pt")
    x = torch.randn(1, 4, 32, 32)
    with torch.inference_mode():
        np.testing.assert_array_equal(loaded(x).numpy(), network(x).numpy())
    stale = RefinerConfig.from_dict({**config.to_dict(), "weights_sha256": "0" * 64})
    with pytest.raises(RefinerUnavailableError, match="do not match"):
        load_network(stale, tmp_path / "w.pt")
    wrong = RefinerConfig.from_dict({**config.to_dict(), "channels": (4, 8, 16), "weights_sha256": sha})
    with pytest.raises(ParameterError, match="architecture"):
        load_network(wrong, tmp_path / "w.pt")


def test_hair_mask_keeps_gap_between_touching_hairs():
    from densitometry.refiner.infer import hair_mask

    config = RefinerConfig(**{**TINY, "gap_peak_fraction": 0.4})
    contrast = np.zeros((40, 40), np.float32)
    contrast[:, 10:16] = 0.5
    contrast[:, 18:24] = 0.5  # two shafts two pixels apart
    probability = np.zeros_like(contrast)
    probability[:, 8:26] = 0.9  # the network sees one blob
    mask = hair_mask(probability, contrast, config, peak_radius_px=4, hole_width_px=4)
    assert mask[:, 12].all() and mask[:, 20].all()
    assert not mask[:, 17].any()
    no_gate = RefinerConfig(**TINY)  # the gate is off by default
    assert hair_mask(probability, contrast, no_gate, peak_radius_px=4, hole_width_px=4)[:, 17].all()


def test_device_selector():
    pytest.importorskip("torch")
    from densitometry.refiner import select_device

    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ParameterError, match="device must be one of"):
        select_device("tpu")


@pytest.mark.gpu
def test_cuda_device_is_selected_when_present():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from densitometry.refiner import select_device

    assert select_device("auto").type == "cuda"


@pytest.mark.gpu
def test_refiner_on_cuda_gives_the_cpu_probabilities(photo):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from densitometry.preprocess import preprocess
    from densitometry.refiner import load_refiner, probability_map
    from densitometry.segment import ridge_filter

    calibration = densitometry.Calibration(photo.um_per_px)
    rgb = photo.image.astype(np.float32) / 255
    prepared = preprocess(rgb, calibration)
    ridge = ridge_filter(prepared.contrast, calibration)
    maps = [
        probability_map(
            rgb,
            prepared.contrast,
            ridge.strength,
            calibration,
            refiner=load_refiner(backend="torch", device=d),
        )
        for d in ("cuda", "cpu")
    ]
    # cuDNN may take TF32 convolutions: close, not bit-identical.
    assert np.abs(maps[0] - maps[1]).max() < 0.02
    assert np.abs(maps[0] - maps[1]).mean() < 1e-3


@pytest.mark.gpu
def test_training_runs_on_cuda_and_writes_a_model_the_cpu_loads(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from densitometry.refiner import load_refiner
    from densitometry.refiner.train import train

    config = train(
        tmp_path, minutes=0.1, device="cuda", onnx=False, scenarios={"clean": 1.0}, log=lambda _: None
    )
    assert config.training["steps"] > 0
    assert config.training["hardware"].endswith(f"trained on {torch.cuda.get_device_name(0)}")
    assert (
        load_refiner(tmp_path, backend="torch", device="cpu").config.weights_sha256 == config.weights_sha256
    )


# --------------------------------------------------------------------------- shipped model


@pytest.fixture(scope="module")
def photo():
    return _photo("clean", seed=3)


def test_shipped_weights_give_probability_map(photo):
    pytest.importorskip("torch")
    from densitometry.preprocess import preprocess
    from densitometry.refiner import load_refiner, probability_map
    from densitometry.segment import ridge_filter

    calibration = densitometry.Calibration(photo.um_per_px)
    rgb = photo.image.astype(np.float32) / 255
    prepared = preprocess(rgb, calibration)
    ridge = ridge_filter(prepared.contrast, calibration)
    refiner = load_refiner(backend="torch", device="cpu")
    probability = probability_map(rgb, prepared.contrast, ridge.strength, calibration, refiner=refiner)
    assert probability.shape == photo.hair_mask.shape
    assert probability[photo.hair_mask].mean() > probability[~photo.hair_mask].mean() + 0.3
    if refiner.config.onnx_file:
        pytest.importorskip("onnxruntime")
        onnx = load_refiner(backend="onnx")
        assert onnx.backend == "onnx"
        other = probability_map(rgb, prepared.contrast, ridge.strength, calibration, refiner=onnx)
        np.testing.assert_allclose(other, probability, atol=1e-3)


def test_analyze_with_refine_runs_end_to_end(photo):
    pytest.importorskip("torch")
    assert refiner_available() == (True, "")
    result = densitometry.analyze(photo.image, um_per_px=photo.um_per_px, refine=True)
    assert result.parameters.refine
    assert result.hair_mask.shape == photo.hair_mask.shape
    truth = photo.truth()["hair_count"]
    assert truth > 0 and abs(result.hair_count - truth) <= max(3, 0.5 * truth)


def test_refine_finds_white_hairs_that_the_classic_dark_reading_misses():
    # Salt-and-pepper hair: the classic detector reads one polarity per photo (here dark) and misses
    # most grey/white shafts; the README sends such photos to refine=True. Clinical phantom with about
    # half grey/white hairs among black ones.
    pytest.importorskip("torch")
    photo = _photo("clinical", seed=2, size=(720, 960))
    assert {"grey", "white", "black"} <= {hair.colour for hair in photo.hairs}
    truth = photo.truth()
    results = [densitometry.analyze(photo.image, um_per_px=photo.um_per_px, refine=r) for r in (False, True)]
    classic, refined = (hair_recall(result.centerlines_px, truth) for result in results)
    assert classic["true_grey_white_count"] >= 20 and classic["true_dark_count"] >= 20
    assert classic["dark_recall"] > 0.8 and refined["dark_recall"] > 0.8
    assert classic["grey_white_recall"] < 0.5
    assert refined["grey_white_recall"] > 0.7
    assert refined["grey_white_recall"] > classic["grey_white_recall"] + 0.3
    # The refined hairs brighter than the skin along their centreline are marked grey/white: grey ones.
    lines = zip(results[1].centerlines_px, results[1].hairs.grey_white, strict=True)
    marked = hair_recall([line for line, grey in lines if grey], truth)
    assert marked["grey_white_recall"] > 0.3 and marked["dark_recall"] < 0.1


def test_refined_reading_adds_the_blond_hairs_only_colour_shows():
    # Faint blond hair (low_contrast phantom): the colour reading follows the refiner's as it follows
    # the classic one, and adds the shafts the network missed, none of those it found a second time.
    pytest.importorskip("torch")
    photo = _photo("low_contrast", seed=3, size=(480, 640))
    truth = photo.truth()
    with_colour, without = (
        densitometry.analyze(photo.image, um_per_px=photo.um_per_px, refine=True, colour_gain=gain)
        for gain in (None, 0)
    )
    assert with_colour.colour_gain > 0
    assert without.hair_count < 0.5 * truth["hair_count"]
    assert abs(with_colour.hair_count - truth["hair_count"]) <= 0.15 * truth["hair_count"]
    recall = [hair_recall(result.centerlines_px, truth)["dark_recall"] for result in (with_colour, without)]
    assert recall[0] > recall[1] + 0.25


def test_training_seams_separate_touching_parallel_hairs_but_not_crossings():
    from types import SimpleNamespace

    from densitometry.refiner.train import _touching_seams

    def hair(start, end, diameter_um):
        return SimpleNamespace(centerline_px=np.linspace(start, end, 30), diameter_um=diameter_um)

    def photo(*hairs):
        return SimpleNamespace(hair_mask=np.zeros((120, 200), bool), um_per_px=5.0, hairs=hairs)

    # Two 50 µm (10 px) shafts 10 px apart, side by side: a seam along rows 54-56 between them.
    parallel = _touching_seams(photo(hair((50, 20), (50, 180), 50.0), hair((60, 20), (60, 180), 50.0)))
    rows = np.flatnonzero(parallel.any(axis=1))
    assert parallel[:, 40:160].any(axis=0).all()  # all along the stretch where they touch
    assert rows.min() >= 53 and rows.max() <= 57
    # The same shafts crossing at 60 degrees overlap too, but a crossing must stay whole.
    crossing = _touching_seams(photo(hair((60, 20), (60, 180), 50.0), hair((10, 70), (110, 128), 50.0)))
    assert not crossing.any()


def test_training_colour_blotches_change_colour_not_brightness():
    from densitometry.refiner.train import _colour_blotches

    field = _colour_blotches((96, 128, 3), np.random.default_rng(1))
    again = _colour_blotches((96, 128, 3), np.random.default_rng(1))
    np.testing.assert_array_equal(field, again)
    np.testing.assert_allclose(field.sum(axis=2), 0.0, atol=1e-3)  # equal and opposite across channels
    red_minus_blue = field[..., 0] - field[..., 2]
    assert 0.5 < red_minus_blue.std() < 20.0  # grey levels: a visible tint, not a recolouring
    # Blotches a few pixels across: neighbouring pixels share their tint.
    assert np.corrcoef(red_minus_blue[:, :-1].ravel(), red_minus_blue[:, 1:].ravel())[0, 1] > 0.5


def test_fine_colour_reaches_the_network_only_as_far_as_the_blue_weight_says():
    from densitometry.refiner.features import colour_detail

    rgb = np.full((64, 96, 3), (0.8, 0.7, 0.6), np.float32)
    rgb[30:33, :, 2] -= 0.3  # a thin line visible in blue only (colour detail)
    rgb[:, 60:] *= np.float32(1.05)  # a coarse tone change (brightness and colour)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_array_equal(colour_detail(rgb, 1.0, 8.0), rgb)
    plain = colour_detail(rgb, 0.0, 8.0)
    np.testing.assert_allclose(plain @ np.array([0.299, 0.587, 0.114], np.float32), luma, atol=1e-5)

    # The network sees colour as red minus blue: the line's colour contrast is what must go.
    def line_colour(image):
        red_minus_blue = image[..., 0] - image[..., 2]
        return float(red_minus_blue[31, 10] - red_minus_blue[20, 10])

    assert line_colour(rgb) == pytest.approx(0.3, abs=1e-6)
    assert abs(line_colour(plain)) < 0.1 * line_colour(rgb)
    assert line_colour(colour_detail(rgb, 0.5, 8.0)) == pytest.approx(0.5 * line_colour(rgb), abs=0.03)
    np.testing.assert_allclose(plain[5, 5], rgb[5, 5], atol=0.02)  # far from the line: colour kept


def test_the_coarse_colour_blurred_on_a_reduced_copy_is_the_full_size_gaussian():
    import cv2

    from densitometry import synthetic
    from densitometry.preprocess import to_grey
    from densitometry.refiner.features import colour_detail

    photo = synthetic.generate("colour_noise", seed=3, width_px=400, height_px=300)
    rgb = photo.image.astype(np.float32) / 255
    luma = to_grey(rgb)
    chroma = rgb - luma[..., None]
    sigma_px = 30.0  # 150 µm at 5 µm/px: reduced by 7
    exact = luma[..., None] + cv2.GaussianBlur(chroma, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(colour_detail(rgb, 0.0, sigma_px), np.clip(exact, 0, 1), atol=1e-3)


def test_training_samples_see_colour_as_the_refiner_will_in_use():
    import cv2

    from densitometry.refiner.config import KNOWN_CHANNELS
    from densitometry.refiner.train import render_sample

    full, plain = (
        render_sample(
            np.random.default_rng(3), RefinerConfig(version="t", colour_detail_um=um), scenario="clean"
        )[0]
        for um in (0.0, 150.0)
    )
    colour = KNOWN_CHANNELS.index("red_minus_blue")

    def detail(plane):
        return float(np.std(plane - cv2.GaussianBlur(plane, (0, 0), 3.0)))

    # Dark hair: blue weight 0, so the fine colour is gone and the other inputs are unchanged.
    assert detail(plain[colour]) < 0.5 * detail(full[colour])
    np.testing.assert_allclose(plain[:colour], full[:colour], atol=1e-3)


def test_training_can_show_the_skin_without_hair():
    """``hairless_share=1``: the scenario's skin and artefacts, and a hair target with no hair."""
    from densitometry.refiner.train import render_sample

    config = RefinerConfig(version="t")
    features, hair, centre = render_sample(
        np.random.default_rng(0), config, scenario="artefacts", hairless_share=1.0
    )
    assert not hair.any() and not centre.any()
    assert features.std() > 0
    assert render_sample(np.random.default_rng(0), config, scenario="artefacts")[1].any()


def test_training_draws_only_the_scenarios_it_is_given(monkeypatch):
    from densitometry import synthetic
    from densitometry.refiner.train import render_sample

    seen, generate = set(), synthetic.generate

    def spy(scenario, **kwargs):
        seen.add(scenario)
        return generate(scenario, **kwargs)

    monkeypatch.setattr(synthetic, "generate", spy)
    rng = np.random.default_rng(1)
    for _ in range(8):
        render_sample(
            rng,
            RefinerConfig(**TINY),
            scenarios={"clean": 1.0, "grey_hair": 1.0, "clinical": 0.0},
            size_px=64,
        )
    assert seen == {"clean", "grey_hair"}


def test_training_rejects_unknown_scenarios_and_bad_weights(tmp_path):
    import argparse

    from densitometry.errors import ParameterError
    from densitometry.refiner.train import _scenario_weight, train

    assert _scenario_weight("oily_speckle=0.5") == ("oily_speckle", 0.5)
    assert _scenario_weight("clean") == ("clean", 1.0)
    with pytest.raises(argparse.ArgumentTypeError, match="weight"):
        _scenario_weight("clean=lots")
    with pytest.raises(ParameterError, match="unknown training scenario"):
        train(tmp_path, minutes=0.01, scenarios={"moon_dust": 1.0})
    with pytest.raises(ParameterError, match="weights"):
        train(tmp_path, minutes=0.01, scenarios={"clean": 0.0})
    with pytest.raises(ParameterError, match="weights"):
        train(tmp_path, minutes=0.01, scenarios={"clean": float("nan")})


def test_training_rejects_a_hairless_share_outside_0_to_1(tmp_path):
    from densitometry.errors import ParameterError
    from densitometry.refiner.train import train

    with pytest.raises(ParameterError, match="hairless_share"):
        train(tmp_path, minutes=0.01, hairless_share=1.5)
