"""Network input: fixed-normalised feature channels, resampled to the model's pixel size.

Training and inference build their inputs with these same functions, so the network never sees a
differently prepared image at run time.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..preprocess import relative_contrast, to_grey
from .config import RefinerConfig


def luma_contrast(prepared) -> np.ndarray:
    """The contrast the refiner was trained on: relative contrast of luma against the luma background.

    `densitometry.preprocess.preprocess` may refine its own ``contrast`` (e.g. the largest per-channel
    contrast); the network's input stays this fixed definition so the shipped weights keep seeing the
    inputs they were trained on (colour reaches the network through the luma and red-minus-blue channels).

    Parameters
    ----------
    prepared : densitometry.preprocess.Preprocessed

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    return relative_contrast(prepared.grey, prepared.background, prepared.polarity)


def colour_detail(rgb, blue_weight: float, sigma_px: float) -> np.ndarray:
    """The photo with its fine colour detail scaled by ``blue_weight`` (brightness unchanged).

    Colour finer than ``sigma_px`` (a Gaussian) reaches the network only as far as the photo's blue
    weight (`densitometry.preprocess.blue_channel_weight`) says colour carries hair there: on dark hair
    it is the cameras' colour noise, which the network, trained on cleaner colour, takes for blond hair
    (the 1.1.0 weights counted more than 2.5 times the classic count on 9 of the 61 real example photos
    with it, 0 without). The coarse colour (skin tone, redness) is kept. Used where the model's config sets
    ``colour_detail_um``, at inference and (when the training command sets it) in training.

    The coarse colour is blurred on a copy reduced by a whole factor (to about 4 px per ``sigma_px``)
    and brought back bilinearly: the full-size Gaussian (6 ``sigma_px`` wide, 120-240 px at 150 µm)
    took 200-370 ms of a 1280x960 photo on one core, the reduced one 25-40 ms in all, and the two
    outputs differ by at most 0.0003 (of 1) at any pixel.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
    blue_weight : float
        0-1.
    sigma_px : float
        Scale below which colour counts as detail.

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    if blue_weight >= 1.0:
        return rgb
    luma = to_grey(rgb)
    chroma = rgb - luma[..., None]
    height, width = luma.shape
    factor = max(1, int(sigma_px // 4))
    small = chroma
    if factor > 1:
        size = (max(1, width // factor), max(1, height // factor))
        small = cv2.resize(chroma, size, interpolation=cv2.INTER_AREA)
    coarse = cv2.GaussianBlur(small, (0, 0), sigma_px * small.shape[1] / width, borderType=cv2.BORDER_REFLECT)
    if factor > 1:
        coarse = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    out = luma[..., None] + coarse + np.float32(blue_weight) * (chroma - coarse)
    return np.clip(out, 0.0, 1.0, out=out)


def feature_channels(rgb, contrast, ridge_strength, config: RefinerConfig) -> np.ndarray:
    """Stack and normalise the input channels named in ``config.input_channels``.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        Photo in [0, 1].
    contrast : ndarray of float32, shape (H, W)
        Relative hair contrast (`densitometry.preprocess.Preprocessed.contrast`).
    ridge_strength : ndarray of float32, shape (H, W)
        Classic line strength in contrast units (`densitometry.segment.RidgeMap.strength`).
    config : RefinerConfig

    Returns
    -------
    ndarray of float32, shape (C, H, W)
        ``(x - offset) / scale`` with the config's fixed constants (no per-image statistics), clipped to
        ``+-config.input_clip``.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    sources = {
        "contrast": lambda: contrast,
        "ridge_strength": lambda: ridge_strength,
        "luma": lambda: rgb @ np.array([0.299, 0.587, 0.114], np.float32),
        "red_minus_blue": lambda: rgb[..., 0] - rgb[..., 2],
    }
    planes = []
    for name, offset, scale in zip(
        config.input_channels, config.input_offsets, config.input_scales, strict=True
    ):
        plane = (np.asarray(sources[name](), dtype=np.float32) - offset) / scale
        planes.append(np.clip(plane, -config.input_clip, config.input_clip))
    return np.stack(planes).astype(np.float32, copy=False)


def model_shape(shape_px, um_per_px: float, config: RefinerConfig) -> tuple[int, int]:
    """(height, width) in model pixels of an image of ``shape_px`` at ``um_per_px``."""
    factor = float(um_per_px) / config.model_um_per_px(um_per_px)
    return max(1, round(shape_px[0] * factor)), max(1, round(shape_px[1] * factor))


def resample(planes: np.ndarray, shape) -> np.ndarray:
    """Resize (C, H, W) planes to ``shape`` = (h, w): area averaging when shrinking, bilinear otherwise."""
    height, width = planes.shape[-2:]
    if (height, width) == tuple(shape):
        return planes
    shrink = shape[0] * shape[1] < height * width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(p, (shape[1], shape[0]), interpolation=interpolation) for p in planes])
