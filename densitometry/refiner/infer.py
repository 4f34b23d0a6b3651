"""Inference: the hair probability map of a photo, tiled for any size, and the refined hair mask.

The network runs at a fixed physical pixel size (see `RefinerConfig.model_um_per_px`); its output is
resized back to the photo, thresholded by hysteresis with the thresholds stored next to the weights, and
then measured by the same skeleton and diameter code as the classic pipeline.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..calibration import Calibration
from ..segment import (
    PEAK_RADIUS_UM,
    PINHOLE_WIDTH_UM,
    RidgeMap,
    fill_pinholes,
    hysteresis,
    nearby_peak,
    ridge_filter,
)
from ._torch import INSTALL_HINT, RefinerUnavailableError, import_torch
from .config import RefinerConfig, sha256_of
from .features import colour_detail, feature_channels, luma_contrast, model_shape, resample
from .model import load_network

#: Name of the config file in a model directory.
CONFIG_FILE = "refiner.json"
#: Backends `Refiner` can run on.
BACKENDS = ("auto", "torch", "onnx")


def default_model_dir() -> Path:
    """The model directory shipped with the package (``densitometry.models``)."""
    return Path(str(importlib.resources.files("densitometry.models")))


@dataclass(frozen=True)
class Refiner:
    """A loaded refiner: config plus a callable that maps (N, C, H, W) float32 inputs to logits.

    Build it with `load_refiner`. ``backend`` is ``"torch"`` or ``"onnx"``; ``device`` the torch device
    (``"cpu"`` for onnx).
    """

    config: RefinerConfig
    backend: str
    device: str
    _run: object

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw network output (N, 2, H, W) for input (N, C, H, W); H, W multiples of the stride."""
        return self._run(np.ascontiguousarray(batch, dtype=np.float32))


def load_refiner(model_dir=None, *, device="auto", backend="auto", num_threads=None) -> Refiner:
    """Load the refiner's config and weights (and the ONNX export when it is usable).

    Parameters
    ----------
    model_dir : str or path-like, optional
        Folder holding ``refiner.json`` and the weights (default: the shipped ``densitometry.models``).
    device : {"auto", "cuda", "mps", "cpu"}
        Torch device (see `densitometry.refiner.select_device`).
    backend : {"auto", "torch", "onnx"}
        ``"auto"`` uses onnxruntime on the CPU when it is installed and the ONNX file matches the
        weights' checksum (it is faster there), otherwise torch.
    num_threads : int, optional
        CPU threads for onnxruntime (default: torch's current setting).

    Returns
    -------
    Refiner

    Raises
    ------
    RefinerUnavailableError
        torch is missing (with the install command), or the weights/config are missing or inconsistent.
    ParameterError
        The config is invalid, or an unknown backend/device is requested.
    """
    from ..errors import ParameterError
    from .device import select_device

    torch = import_torch()
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {backend!r}")
    model_dir = default_model_dir() if model_dir is None else Path(model_dir)
    config_path = model_dir / CONFIG_FILE
    if not config_path.is_file():
        raise RefinerUnavailableError(
            f"no refiner config at {config_path}; train one with densitometry train-refiner"
        )
    config = RefinerConfig.load(config_path)
    torch_device = select_device(device)
    threads = int(num_threads) if num_threads is not None else torch.get_num_threads()
    if backend != "torch" and torch_device.type == "cpu":
        session = _onnx_session(model_dir, config, threads, required=backend == "onnx")
        if session is not None:
            name = session.get_inputs()[0].name

            def run_onnx(batch):
                return session.run(None, {name: batch})[0]

            return Refiner(config, "onnx", "cpu", run_onnx)
    network = load_network(config, model_dir / config.weights_file, device=torch_device)

    def run_torch(batch):
        with torch.inference_mode():
            return network(torch.from_numpy(batch).to(torch_device)).float().cpu().numpy()

    return Refiner(config, "torch", str(torch_device), run_torch)


def _onnx_session(model_dir, config, threads, *, required):
    """An onnxruntime session for the config's ONNX file, or None when it is absent or stale."""
    problem = None
    path = model_dir / config.onnx_file if config.onnx_file else None
    try:
        ort = importlib.import_module("onnxruntime")
    except ImportError:
        ort, problem = None, "onnxruntime is not installed (pip install 'densitometry[onnx]')"
    if ort is not None and (path is None or not path.is_file()):
        problem = f"no ONNX export in {model_dir}"
    elif ort is not None and sha256_of(path) != config.onnx_sha256:
        problem = f"{path} does not match the config's onnx_sha256 (stale export)"
    if problem is None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta().custom_metadata_map
        if meta.get("weights_sha256") == config.weights_sha256 and meta.get("version") == config.version:
            return session
        problem = f"{path} was exported from other weights than {config.weights_file}"
    if required:
        raise RefinerUnavailableError(f"ONNX backend requested but unusable: {problem}")
    return None


@functools.lru_cache(maxsize=1)
def _default_refiner() -> Refiner:
    return load_refiner()


def hair_probability(refiner: Refiner, planes: np.ndarray, *, tile_px=None) -> np.ndarray:
    """Hair probability of model-scale input planes, tiled with overlap when the image is large.

    The image is reflect-padded by ``config.tile_margin_px`` (at least the receptive radius) and every
    tile window starts on the U-Net's pooling grid, so tiled and untiled outputs agree up to float
    rounding.

    Parameters
    ----------
    refiner : Refiner
    planes : ndarray of float32, shape (C, H, W)
        Normalised features at the model's pixel size (see `feature_channels`).
    tile_px : int, optional
        Tile size in model pixels (multiple of the stride); default: untiled up to
        ``config.max_untiled_px`` pixels, else ``config.tile_px``.

    Returns
    -------
    ndarray of float32, shape (2, H, W)
        Probabilities of hair and of centreline.
    """
    config = refiner.config
    channels, height, width = planes.shape
    margin, stride = config.tile_margin_px, config.stride_px
    if tile_px is None:
        tile_px = 0 if height * width <= config.max_untiled_px else config.tile_px
    padded = np.pad(planes, ((0, 0), (margin, margin), (margin, margin)), mode="reflect")
    if not tile_px:
        full_h = -(-padded.shape[1] // stride) * stride
        full_w = -(-padded.shape[2] // stride) * stride
        padded = np.pad(padded, ((0, 0), (0, full_h - padded.shape[1]), (0, full_w - padded.shape[2])))
        logits = refiner.logits(padded[None])[0][:, margin : margin + height, margin : margin + width]
    else:
        if tile_px % stride:
            from ..errors import ParameterError

            raise ParameterError(f"tile_px must be a multiple of {stride}, got {tile_px}")
        rows, cols = -(-height // tile_px), -(-width // tile_px)
        need_h, need_w = rows * tile_px + 2 * margin, cols * tile_px + 2 * margin
        padded = np.pad(padded, ((0, 0), (0, need_h - padded.shape[1]), (0, need_w - padded.shape[2])))
        logits = np.zeros((2, rows * tile_px, cols * tile_px), np.float32)
        window = tile_px + 2 * margin
        for r in range(rows):
            for c in range(cols):
                y, x = r * tile_px, c * tile_px
                out = refiner.logits(padded[None, :, y : y + window, x : x + window])[0]
                logits[:, y : y + tile_px, x : x + tile_px] = out[
                    :, margin : margin + tile_px, margin : margin + tile_px
                ]
        logits = logits[:, :height, :width]
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)


def probability_map(rgb, contrast, ridge_strength, calibration: Calibration, *, refiner=None, tile_px=None):
    """Hair probability of a photo at its own resolution.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        Photo in [0, 1].
    contrast, ridge_strength : ndarray of float32, shape (H, W)
        From `densitometry.preprocess.preprocess` and `densitometry.segment.ridge_filter`.
    calibration : Calibration
    refiner : Refiner, optional
        Default: the shipped model (loaded once and cached).
    tile_px : int, optional
        See `hair_probability`.

    Returns
    -------
    ndarray of float32, shape (H, W)
        Probability in [0, 1] that the pixel is hair.
    """
    refiner = _default_refiner() if refiner is None else refiner
    config = refiner.config
    height, width = contrast.shape
    planes = feature_channels(rgb, contrast, ridge_strength, config)
    planes = resample(planes, model_shape((height, width), calibration.um_per_px, config))
    probability = hair_probability(refiner, planes, tile_px=tile_px)[0]
    if probability.shape != (height, width):
        probability = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(probability, 0.0, 1.0)


def refined_ridge_map(rgb, prepared, calibration: Calibration, parameters, *, refiner=None):
    """Ridge map and hair mask with the CNN refiner (the ``refine=True`` path of `densitometry.analyze`).

    The classic ridge filter, run on the refiner's fixed luma contrast (`features.luma_contrast`, the
    input the weights were trained on), provides the network's ridge-strength input and ``sigma_px``
    (half the local shaft width); the diameters are then measured by `densitometry.analyze` on
    ``prepared.contrast`` exactly as without the refiner. Only the mask comes from the network's hair
    probability, thresholded by hysteresis with the thresholds stored in the model config.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        Photo in [0, 1]; never modified.
    prepared : densitometry.preprocess.Preprocessed
    calibration : Calibration
    parameters : densitometry.AnalysisParameters
        ``min_diameter_um`` and ``max_diameter_um`` set the ridge filter scales.
    refiner : Refiner, optional
        Default: the shipped model.

    Returns
    -------
    ridge : RidgeMap
        Classic ridge strength and scale.
    mask : ndarray of bool, shape (H, W)

    Raises
    ------
    RefinerUnavailableError
        torch is not installed or the model files are missing.
    """
    refiner = _default_refiner() if refiner is None else refiner
    contrast = luma_contrast(prepared)
    ridge = ridge_filter(
        contrast,
        calibration,
        min_diameter_um=parameters.min_diameter_um,
        max_diameter_um=parameters.max_diameter_um,
    )
    if refiner.config.colour_detail_um > 0:
        rgb = colour_detail(rgb, prepared.blue_weight, calibration.px(refiner.config.colour_detail_um))
    probability = probability_map(rgb, contrast, ridge.strength, calibration, refiner=refiner)
    mask = hair_mask(
        probability,
        contrast,
        refiner.config,
        peak_radius_px=calibration.px(PEAK_RADIUS_UM),
        hole_width_px=calibration.px(PINHOLE_WIDTH_UM),
    )
    return RidgeMap(ridge.strength, ridge.sigma_px), mask


def hair_mask(probability, contrast, config: RefinerConfig, *, peak_radius_px, hole_width_px) -> np.ndarray:
    """Hysteresis on the hair probability, kept out of the gaps between touching hairs.

    Seeds are pixels with ``p >= config.high_threshold``, grown through ``p >= config.low_threshold``.
    As in `densitometry.segment.segment`, a pixel may join only where its (lightly smoothed) contrast
    reaches ``config.gap_peak_fraction`` of the highest contrast within ``peak_radius_px``: the network
    marks two touching shafts as one blob, and this test keeps the skin between them out so they stay
    separate skeleton branches. Holes narrower than ``hole_width_px`` (glints on a shaft) are filled.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    grow = probability >= config.low_threshold
    if config.gap_peak_fraction > 0:
        smooth = cv2.GaussianBlur(contrast, (0, 0), 0.7)
        peak = nearby_peak(smooth, peak_radius_px)
        grow &= (smooth >= config.gap_peak_fraction * peak) | (peak < config.gap_min_contrast)
    return fill_pinholes(hysteresis(grow, probability >= config.high_threshold), hole_width_px)


def refiner_available(model_dir=None) -> tuple[bool, str]:
    """Whether ``refine=True`` can run here, and why not (for greying out a UI switch).

    Cheap: checks that torch imports and that a valid config and its weights are present; does not
    build the network.

    Returns
    -------
    available : bool
    reason : str
        ``""`` when available, else a message with the fix (e.g. the install command).
    """
    try:
        import_torch()
    except RefinerUnavailableError as error:
        return False, str(error)
    model_dir = default_model_dir() if model_dir is None else Path(model_dir)
    config_path = model_dir / CONFIG_FILE
    if not config_path.is_file():
        return (
            False,
            f"no refiner model in {model_dir} (reinstall densitometry or run densitometry train-refiner)",
        )
    try:
        config = RefinerConfig.load(config_path)
    except (ValueError, json.JSONDecodeError) as error:
        return False, str(error)
    if not (model_dir / config.weights_file).is_file():
        return False, f"refiner weights {config.weights_file} missing from {model_dir}"
    return True, ""


__all__ = [
    "INSTALL_HINT",
    "Refiner",
    "load_refiner",
    "probability_map",
    "refined_ridge_map",
    "refiner_available",
]
