"""Measurements: shaft diameter across the intensity profile, length, and the per-photo summary.

The diameter is measured on profiles sampled across the shaft, perpendicular to its centreline, in the
contrast image (sub-pixel, bilinear). The two shaft edges are where the profile, entered from the skin
on either side, first reaches half its peak (linear interpolation between samples); for a blurred opaque
shaft these are the true edges as long as the shaft is
wider than about twice the blur, where a binary-mask width is off by up to a pixel either side. Samples
near junctions (where another hair overlaps) and near the ends are skipped, and the hair's diameter is
the median of its samples: stretches where a second hair runs alongside (they only widen a profile) do
not count while they cover less than half the hair. (A lower percentile biased every diameter low on
blurred and noisy phantoms.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .hairs import TracedHair, group_medians, values_at

#: Samples along one cross-shaft profile.
_PROFILE_SAMPLES = 81


@dataclass(frozen=True)
class HairMeasurement:
    """Per-hair measurement in pixels.

    Attributes
    ----------
    diameter_px : float
        Median shaft width (NaN if no profile could be measured).
    contrast : float
        Median peak relative contrast of the shaft against the skin.
    n_samples : int
        Profiles that gave a width.
    """

    diameter_px: float
    contrast: float
    n_samples: int


def _resample(coords, step_px):
    """Points every ``step_px`` along a polyline and the unit tangent there."""
    if len(coords) < 2:
        return coords[:0], coords[:0]
    # Smooth the 8-connected pixel path so tangents are not quantised to 45 degrees.
    kernel = min(7, len(coords) if len(coords) % 2 else len(coords) - 1)
    if kernel >= 3:
        pad = kernel // 2
        padded = np.concatenate([coords[:1].repeat(pad, axis=0), coords, coords[-1:].repeat(pad, axis=0)])
        smooth = np.stack([np.convolve(padded[:, k], np.ones(kernel) / kernel, "valid") for k in (0, 1)], 1)
    else:
        smooth = coords
    steps = np.diff(smooth, axis=0)
    steps *= steps
    # The Euclidean norm of each step, summed in the same order as np.linalg.norm(..., axis=1).
    arc = np.concatenate([[0.0], np.cumsum(np.sqrt(steps[:, 0] + steps[:, 1]))])
    if arc[-1] < step_px:
        return coords[:0], coords[:0]
    positions = np.arange(step_px / 2, arc[-1], step_px)
    points = np.stack([np.interp(positions, arc, smooth[:, k]) for k in (0, 1)], 1)
    ahead = np.stack([np.interp(np.minimum(positions + 2.0, arc[-1]), arc, smooth[:, k]) for k in (0, 1)], 1)
    behind = np.stack([np.interp(np.maximum(positions - 2.0, 0.0), arc, smooth[:, k]) for k in (0, 1)], 1)
    tangent = ahead - behind
    norm = np.linalg.norm(tangent, axis=1, keepdims=True)
    valid = norm[:, 0] > 0
    return points[valid], tangent[valid] / norm[valid]


def profile_widths(profiles, step_px):
    """Edge-to-edge widths of cross-shaft profiles.

    Parameters
    ----------
    profiles : ndarray, shape (M, K)
        Contrast profiles (shaft positive) centred on the centreline.
    step_px : ndarray, shape (M,)
        Spacing of the profile samples in pixels.

    Returns
    -------
    widths_px, peaks : ndarray, shape (M,)
        Width (NaN where no two edges were found) and the peak contrast above the local baseline.
    """
    count, size = profiles.shape
    tail = max(3, size // 8)
    baseline = 0.5 * (np.median(profiles[:, :tail], axis=1) + np.median(profiles[:, -tail:], axis=1))
    signal = profiles - baseline[:, None]
    centre = size // 2
    window = slice(centre - size // 6, centre + size // 6 + 1)
    peak_index = window.start + np.argmax(signal[:, window], axis=1)
    peaks = signal[np.arange(count), peak_index]
    # Walk in from each side's last sample below 15 % of the peak to the half-maximum crossing:
    # coming from outside, a specular highlight along the shaft's centre cannot be taken for an edge.
    index = np.arange(size)[None, :]
    rows = np.arange(count)
    low = signal < 0.15 * peaks[:, None]
    left_stop = np.where(low & (index < peak_index[:, None]), index, -1).max(axis=1)
    right_stop = np.where(low & (index > peak_index[:, None]), index, size).min(axis=1)
    valid = (peaks > 0) & (left_stop >= 0) & (right_stop < size)
    half = 0.5 * peaks[:, None]
    high = signal >= half
    left = np.argmax(high & (index > left_stop[:, None]) & (index <= peak_index[:, None]), axis=1)
    right = (
        size
        - 1
        - np.argmax((high & (index >= peak_index[:, None]) & (index < right_stop[:, None]))[:, ::-1], axis=1)
    )
    left = np.clip(left, 1, size - 1)
    right = np.clip(right, 0, size - 2)
    before, at_left = signal[rows, left - 1], signal[rows, left]
    at_right, after = signal[rows, right], signal[rows, right + 1]
    with np.errstate(divide="ignore", invalid="ignore"):  # rows without two edges are masked below
        left_edge = left - 1 + (half[:, 0] - before) / (at_left - before)
        right_edge = right + (at_right - half[:, 0]) / (at_right - after)
        widths = np.where(valid, (right_edge - left_edge) * step_px, np.nan)
    return widths, peaks


def measure_hairs(contrast, hairs: list[TracedHair], sigma_px_map) -> list[HairMeasurement]:
    """Diameter and contrast of each traced hair.

    Parameters
    ----------
    contrast : ndarray of float32, shape (H, W)
        Relative contrast image (hair positive).
    hairs : list of TracedHair
    sigma_px_map : ndarray, shape (H, W)
        Ridge scale per pixel; sets how far each profile reaches.

    Returns
    -------
    list of HairMeasurement, one per hair
    """
    all_points, all_normals, all_reach, owner = [], [], [], []
    results = [HairMeasurement(float("nan"), float("nan"), 0) for _ in hairs]
    if not hairs:
        return results
    coords = np.concatenate([hair.coords_px for hair in hairs])
    sizes = np.array([len(hair.coords_px) for hair in hairs])
    sigma_medians = group_medians(
        values_at(sigma_px_map, coords), np.repeat(np.arange(len(hairs)), sizes), len(hairs)
    )
    for index, hair in enumerate(hairs):
        width_px = max(2.0, 2.0 * float(sigma_medians[index]))
        points, tangents = _resample(hair.coords_px, max(1.5, 0.5 * width_px))
        if len(points) == 0:
            continue
        keep = np.ones(len(points), bool)
        if len(hair.junctions_px):
            distance = np.linalg.norm(points[:, None, :] - hair.junctions_px[None, :, :], axis=2).min(axis=1)
            keep &= distance > 1.5 * width_px + 2.0
        arc = np.arange(len(points)) * max(1.5, 0.5 * width_px)
        keep &= (arc > width_px) & (arc < arc[-1] - width_px)
        if not keep.any():
            keep[:] = True
        points, tangents = points[keep], tangents[keep]
        all_points.append(points)
        all_normals.append(np.stack([-tangents[:, 1], tangents[:, 0]], 1))
        all_reach.append(np.full(len(points), max(5.0, 2.5 * width_px)))
        owner.append(np.full(len(points), index))
    if not all_points:
        return results
    points = np.concatenate(all_points)
    normals = np.concatenate(all_normals)
    reach = np.concatenate(all_reach)
    owner = np.concatenate(owner)
    offsets = np.linspace(-1.0, 1.0, _PROFILE_SAMPLES)[None, :] * reach[:, None]
    map_rows = (points[:, 0:1] + offsets * normals[:, 0:1]).astype(np.float32)
    map_cols = (points[:, 1:2] + offsets * normals[:, 1:2]).astype(np.float32)
    # cv2.remap handles at most 32767 rows per call.
    profiles = np.concatenate(
        [
            cv2.remap(
                contrast,
                map_cols[i : i + 30000],
                map_rows[i : i + 30000],
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            for i in range(0, len(map_rows), 30000)
        ]
    )
    widths, peaks = profile_widths(profiles.astype(np.float64), 2.0 * reach / (_PROFILE_SAMPLES - 1))
    good = np.isfinite(widths)
    counts = np.bincount(owner[good], minlength=len(hairs))
    diameters = group_medians(widths[good], owner[good], len(hairs))
    contrasts = group_medians(peaks[good], owner[good], len(hairs))
    for index in np.flatnonzero(counts):
        results[index] = HairMeasurement(float(diameters[index]), float(contrasts[index]), int(counts[index]))
    return results
