"""Synthetic before/after pairs of one scalp site with exact truth, for testing `densitometry.compare`.

The scene is rendered on a canvas larger than the photo. The before photo is its centre; the after photo
is the same scene with hairs added, removed or thickened, rendered with the same skin (same seed), then
seen through a similarity transform (shift, rotation, scale), with another exposure and white balance,
so the two photos overlap only partly.

`reshot_pair` makes an unchanged pair from any photo, a real one included: the photo and a copy taken as
a second visit would be, to measure the false changes a comparison reads where nothing changed.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from . import synthetic
from .calibration import check_positive_finite
from .compare import FIELD_MARGIN_UM, inside_length_px
from .errors import ParameterError
from .registration import common_field
from .synthetic._render import _jpeg

#: Kinds of change between the visits.
CHANGES = ("none", "growth", "loss", "thickening")


def make_pair(
    scenario: str = "clinical",
    *,
    seed: int = 0,
    width_px: int = 480,
    height_px: int = 360,
    change: str = "none",
    rotation_deg: float = 0.0,
    shift_px: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    exposure: float = 0.9,
    white_balance: tuple[float, float, float] = (1.05, 1.0, 0.92),
    change_fraction: float = 0.15,
    um_per_px: float | None = None,
    field_margin_um: float = FIELD_MARGIN_UM,
):
    """Render a before/after pair with a known transform and a known change.

    Parameters
    ----------
    scenario : str
        A key of `densitometry.synthetic.SCENARIOS`.
    seed : int
        Seeds the scene, the rendering and the change.
    width_px, height_px : int
        Size of both photos.
    change : {"none", "growth", "loss", "thickening"}
        ``growth``: ``change_fraction`` more hairs, and 70 % of the hairs 300 µm longer (anagen);
        ``loss``: ``change_fraction`` of the hairs removed; ``thickening``: every hair under 40 µm
        (vellus and thin intermediate) becomes terminal (60-75 µm).
    rotation_deg, shift_px, scale : float, (float, float), float
        The after photo's view: rotation about the photo centre (counter-clockwise in image
        coordinates), shift (rows, cols) in pixels and magnification (> 1 zooms in).
    exposure, white_balance : float, (float, float, float)
        Gain and per-channel RGB gain applied to the after photo.
    um_per_px : float, optional
        Pixel size of the before photo (default: drawn from the scenario).
    field_margin_um : float, optional
        The true common field is the photos' overlap less this rim, as in `densitometry.compare`.

    Returns
    -------
    before : SyntheticPhoto
        The before photo with its exact truth (hairs in before pixel coordinates).
    after_image : ndarray of uint8, shape (height_px, width_px, 3)
    truth : dict
        ``before_um_per_px``, ``after_um_per_px`` (the before's divided by ``scale``),
        ``transform`` (3x3 list, after -> before pixel (x, y)), ``common_field_area_cm2``,
        ``before``/``after`` (``hair_count``, ``density_per_cm2``, ``mean_diameter_um``,
        ``vellus_fraction``, ``terminal_fraction`` in the common field),
        ``delta_density_per_cm2``, ``delta_density_percent``, ``delta_mean_diameter_um``,
        ``added_hairs``, ``removed_hairs``, ``thickened_hairs``, ``lengthened_hairs``, ``change``.
    """
    if change not in CHANGES:
        raise ParameterError(f"change must be one of {CHANGES}, got {change!r}")
    scale = check_positive_finite(scale, "scale")
    rng = np.random.default_rng([int(seed), 7919])
    after_to_before = _similarity(rotation_deg, shift_px, scale, width_px, height_px)
    margin = _margin(after_to_before, width_px, height_px)
    world_w, world_h = width_px + 2 * margin, height_px + 2 * margin
    world = synthetic.generate(scenario, seed=seed, width_px=world_w, height_px=world_h, um_per_px=um_per_px)
    # Both photos are crops of one scene: no frame margins (an exported frame's, at the scene's border).
    params = dataclasses.replace(world.params, frame_margins_px=(0, 0, 0, 0))
    if params != world.params:
        world = synthetic.render(params, seed=seed, width_px=world_w, height_px=world_h)
    before_hairs = list(world.hairs)
    after_hairs, info = _changed_hairs(
        before_hairs, change, change_fraction, rng, params, seed, world_w, world_h
    )

    before_world = synthetic.render(
        params, seed=seed, width_px=world_w, height_px=world_h, hairs=before_hairs
    )
    after_world = synthetic.render(params, seed=seed, width_px=world_w, height_px=world_h, hairs=after_hairs)
    crop = (slice(margin, margin + height_px), slice(margin, margin + width_px))
    before_hairs_px = [
        dataclasses.replace(h, centerline_px=h.centerline_px - margin) for h in before_world.hairs
    ]
    before = synthetic.render(
        params, seed=seed, width_px=width_px, height_px=height_px, hairs=before_hairs_px
    )
    # Keep the exact skin of the large canvas (the crop), with the truth of the cropped hairs.
    before = dataclasses.replace(
        before,
        image=np.ascontiguousarray(before_world.image[crop]),
        hair_mask=np.ascontiguousarray(before_world.hair_mask[crop]),
        diameter_map_um=np.ascontiguousarray(before_world.diameter_map_um[crop]),
        encoded_jpeg=None,
    )
    world_to_after = np.linalg.inv(after_to_before) @ _translation(-margin, -margin)
    after_image = cv2.warpAffine(
        after_world.image.astype(np.float32) / 255.0,
        world_to_after[:2],
        (width_px, height_px),
        flags=cv2.INTER_LINEAR,
    )
    gain = np.asarray(white_balance, dtype=np.float32) * np.float32(exposure)
    after_image = (np.clip(after_image * gain, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    s = params.um_per_px
    common = common_field(
        after_to_before, (height_px, width_px), (height_px, width_px), margin_px=field_margin_um / s
    )
    area_cm2 = float(common.sum() * (s / 1e4) ** 2)
    before_truth = _field_truth(before_world.hairs, common, margin, s, area_cm2)
    after_truth = _field_truth(after_world.hairs, common, margin, s, area_cm2)
    delta_density = after_truth["density_per_cm2"] - before_truth["density_per_cm2"]
    truth = {
        "change": change,
        "before_um_per_px": float(s),
        "after_um_per_px": float(s / scale),
        "transform": after_to_before.tolist(),
        "common_field_area_cm2": area_cm2,
        "before": before_truth,
        "after": after_truth,
        "delta_density_per_cm2": delta_density,
        "delta_density_percent": 100.0 * delta_density / before_truth["density_per_cm2"]
        if before_truth["density_per_cm2"]
        else math.nan,
        "delta_mean_diameter_um": after_truth["mean_diameter_um"] - before_truth["mean_diameter_um"],
        **info,
    }
    return before, after_image, truth


def _similarity(rotation_deg, shift_px, scale, width_px, height_px) -> np.ndarray:
    """After -> before (x, y): the after camera is zoomed by ``scale`` and rotated about the centre."""
    centre = np.array([(width_px - 1) / 2.0, (height_px - 1) / 2.0])
    angle = math.radians(float(rotation_deg))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) / scale
    shift = np.array([float(shift_px[1]), float(shift_px[0])])
    matrix = np.eye(3)
    matrix[:2, :2] = rot
    matrix[:2, 2] = centre + shift - rot @ centre
    return matrix


def _translation(dx, dy) -> np.ndarray:
    matrix = np.eye(3)
    matrix[:2, 2] = dx, dy
    return matrix


def _margin(after_to_before, width_px, height_px) -> int:
    corners = np.array(
        [[0, 0, 1], [width_px - 1, 0, 1], [0, height_px - 1, 1], [width_px - 1, height_px - 1, 1]]
    )
    mapped = corners @ after_to_before.T
    low = -mapped[:, :2].min()
    high = max(mapped[:, 0].max() - (width_px - 1), mapped[:, 1].max() - (height_px - 1))
    return int(math.ceil(max(low, high, 0.0))) + 16


def _changed_hairs(hairs, change, fraction, rng, params, seed, world_w, world_h):
    info = {"added_hairs": 0, "removed_hairs": 0, "thickened_hairs": 0, "lengthened_hairs": 0}
    out = list(hairs)
    if change == "loss":
        n_remove = int(round(fraction * len(out)))
        drop = set(rng.choice(len(out), size=n_remove, replace=False).tolist()) if n_remove else set()
        out = [h for i, h in enumerate(out) if i not in drop]
        info["removed_hairs"] = n_remove
    elif change == "thickening":
        for i, h in enumerate(out):
            if h.diameter_um < 40.0:
                out[i] = dataclasses.replace(
                    h, diameter_um=float(rng.uniform(60.0, 75.0)), centre_opacity=1.0
                )
                info["thickened_hairs"] += 1
    elif change == "growth":
        extra_scene = synthetic.render(params, seed=int(seed) + 100003, width_px=world_w, height_px=world_h)
        n_add = int(round(fraction * len(out)))
        pool = list(extra_scene.hairs)
        pick = rng.choice(len(pool), size=min(n_add, len(pool)), replace=False) if pool else []
        step_px = 300.0 / params.um_per_px
        for i, h in enumerate(out):
            if rng.random() < 0.7:
                points = np.asarray(h.centerline_px, dtype=float)
                direction = points[-1] - points[-2]
                norm = float(np.hypot(*direction))
                if norm > 0:
                    tip = points[-1] + direction / norm * step_px
                    out[i] = dataclasses.replace(h, centerline_px=np.vstack([points, tip]))
                    info["lengthened_hairs"] += 1
        out += [pool[int(i)] for i in pick]
        info["added_hairs"] = len(pick)
    return out, info


def _field_truth(hairs, common, margin, um_per_px, area_cm2, min_length_um=150.0) -> dict:
    """Hairs with at least ``min_length_um`` of shaft inside the common field (the rule of `compare`)."""
    diameters = []
    for h in hairs:
        points = np.asarray(h.centerline_px, dtype=float) - margin
        if inside_length_px(points, common) * um_per_px >= min_length_um:
            diameters.append(h.diameter_um)
    d = np.asarray(diameters, dtype=float)
    n = len(d)
    return {
        "hair_count": n,
        "density_per_cm2": n / area_cm2 if area_cm2 > 0 else math.nan,
        "mean_diameter_um": float(d.mean()) if n else math.nan,
        "vellus_fraction": float(np.mean(d < 30.0)) if n else math.nan,
        "terminal_fraction": float(np.mean(d >= 60.0)) if n else math.nan,
    }


def reshot_pair(
    rgb,
    *,
    seed: int = 0,
    max_rotation_deg: float = 6.0,
    max_shift_px: float = 15.0,
    crop_fraction: float = 0.13,
    jpeg_quality: int = 85,
) -> tuple[np.ndarray, np.ndarray]:
    """A photo and a re-shot copy of it: the same scalp site, nothing changed.

    The copy sees the scene rotated (up to ``max_rotation_deg``), magnified (up to 3 %) and shifted (up
    to ``max_shift_px``), with another exposure (0.85-1.1) and white balance (0.9-1.1 per channel), saved
    as JPEG. Both are then cropped from the one scene, ``crop_fraction`` off each side, so that neither
    shows made-up content at its edges (keep the rotation and shift within the crop).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (H, W, 3)
    seed : int
        Seeds the view and the exposure.

    Returns
    -------
    before, after : ndarray of uint8, shape (H', W', 3)
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ParameterError(f"reshot_pair needs an RGB uint8 image, got {rgb.dtype} of shape {rgb.shape}")
    if not 0.0 <= crop_fraction < 0.5:
        raise ParameterError(f"crop_fraction must be in [0, 0.5), got {crop_fraction!r}")
    rng = np.random.default_rng(seed)
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D(
        (width / 2, height / 2),
        float(rng.uniform(-max_rotation_deg, max_rotation_deg)),
        float(rng.uniform(1.0, 1.03)),
    )
    matrix[:, 2] += rng.uniform(-max_shift_px, max_shift_px, 2)
    copy = cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_LINEAR)
    copy = np.clip(copy * rng.uniform(0.9, 1.1, 3) * rng.uniform(0.85, 1.1), 0, 255).astype(np.uint8)
    copy, _ = _jpeg(copy, jpeg_quality)
    margin = int(crop_fraction * min(height, width))
    crop = (slice(margin, height - margin), slice(margin, width - margin))
    return np.ascontiguousarray(rgb[crop]), np.ascontiguousarray(copy[crop])
