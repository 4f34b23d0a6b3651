"""Measurements: shaft diameter across the intensity profile, length, and the per-photo summary.

The diameter is measured on profiles sampled across the shaft, perpendicular to its centreline, in the
contrast image (sub-pixel, bilinear). The two shaft edges are where the profile, entered from the skin
on either side, first reaches half the shaft's height above the skin (linear interpolation between
samples); for a blurred opaque shaft these are the true edges as long as the shaft is wider than about
twice the blur, where a binary-mask width is off by up to a pixel either side. The skin is the lower of
the profile's two ends: a hair lying beside the shaft raises the other end, and a half-maximum taken
above the mean of both ends narrowed every shaft with a neighbour (on phantoms with dense hair by
15-20 µm). Each edge is sought from the last sample below 15 % of the shaft's height, so the gap between
the shaft and a hair close beside it bounds it. Samples near junctions (where another hair overlaps) and
near the ends are skipped, and the hair's diameter is the median of its samples: stretches where a
second hair runs alongside (they only widen a profile) do not count while they cover less than half the
hair. (A lower percentile biased every diameter low on blurred and noisy phantoms.)

Whether a band is one hair or touching hairs, and how long a hair is, are decided on its band width:
the half-maximum width above the mean of the profile's two ends (`HairMeasurement.band_width_px`),
on which those decisions were made and measured before the diameter was taken against the skin.
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
        Median shaft diameter against the skin (NaN if no profile could be measured).
    contrast : float
        Median peak relative contrast of the shaft against the skin.
    n_samples : int
        Profiles that gave a width.
    on_shaft_fraction : float
        Share of those profiles whose shaft (between its half-maximum edges) holds the centreline; low
        for a speck beside a hair, whose profiles reach the hair next to it.
    edge_spread_px : float
        Median distance over which the shaft's edges rise from 10 % to 45 % of its contrast: the
        photo's blur for a focused shaft, about a third of its width for one out of focus.
    band_width_px : float
        Median half-maximum width above the mean of each profile's two ends: narrower than the
        diameter where a hair lies close beside the shaft. Decides bundles and lengths (see
        `densitometry.analyze`); NaN where no profile could be measured.
    """

    diameter_px: float
    contrast: float
    n_samples: int
    on_shaft_fraction: float = float("nan")
    edge_spread_px: float = float("nan")
    band_width_px: float = float("nan")


def _resample(coords, sizes, steps_px):
    """Points every ``steps_px`` along each hair's centreline and the unit tangent there.

    Parameters
    ----------
    coords : ndarray of float, shape (N, 2)
        The hairs' centrelines, one after the other.
    sizes : ndarray of int, shape (H,)
        Points of each hair.
    steps_px : ndarray of float, shape (H,)
        Spacing of the samples on each hair.

    Returns
    -------
    points, tangents : ndarray of float, shape (M, 2)
        Samples of all hairs, hair after hair, in order along each.
    owner : ndarray of int, shape (M,)
        Hair of each sample.
    """
    starts = np.cumsum(sizes) - sizes
    # Smooth the 8-connected pixel path so tangents are not quantised to 45 degrees.
    smooth = _smooth(coords, sizes)
    # steps[i]: from point i - 1 to point i of the same hair (0 at each hair's first point).
    steps = np.diff(smooth, axis=0, prepend=smooth[:1])
    steps *= steps
    steps = np.sqrt(steps[:, 0] + steps[:, 1])
    steps[starts[sizes > 0]] = 0.0
    samples, counts = [], np.zeros(len(sizes), int)
    for index in np.flatnonzero(sizes >= 2).tolist():
        chain = slice(starts[index], starts[index] + sizes[index])
        arc = np.cumsum(steps[chain])
        if arc[-1] < steps_px[index]:
            continue
        positions = np.arange(steps_px[index] / 2, arc[-1], steps_px[index])
        # The sample, and 2 px ahead and behind it (within the hair) for its tangent.
        queries = (positions, np.minimum(positions + 2.0, arc[-1]), np.maximum(positions - 2.0, 0.0))
        samples += [np.interp(queries, arc, smooth[chain, k]) for k in (0, 1)]
        counts[index] = len(positions)
    if not samples:
        return np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, int)
    points, ahead, behind = np.stack(
        [np.concatenate(samples[::2], axis=1), np.concatenate(samples[1::2], axis=1)], -1
    )
    owner = np.repeat(np.arange(len(sizes)), counts)
    tangents = ahead - behind
    norms = np.sqrt(tangents[:, 0] ** 2 + tangents[:, 1] ** 2)[:, None]  # as np.linalg.norm
    valid = norms[:, 0] > 0
    return points[valid], tangents[valid] / norms[valid], owner[valid]


def _smooth(coords, sizes, *, pad=3):
    """Each hair's centreline as a moving average over the longest odd window of up to 7 points.

    The end points are repeated, and the terms summed in the order np.convolve sums them (so the result
    is what ``np.convolve(padded, np.ones(k) / k, "valid")`` gives, hair by hair); hairs of one or two
    points are left as they are. ``coords`` holds the hairs one after the other, ``sizes`` their points.
    """
    padded_sizes = sizes + 2 * pad
    padded_starts = np.cumsum(padded_sizes) - padded_sizes
    within = np.arange(padded_sizes.sum()) - np.repeat(padded_starts + pad, padded_sizes)
    lengths = np.repeat(sizes, padded_sizes)
    padded = coords[np.repeat(np.cumsum(sizes) - sizes, padded_sizes) + np.clip(within, 0, lengths - 1)]
    own = (within >= 0) & (within < lengths)  # the rows of the hairs' own points
    kernels = np.repeat(np.minimum(7, sizes - 1 + sizes % 2), sizes)
    smooth = coords.copy()
    for kernel in np.intersect1d(kernels, (3, 5, 7)).tolist():
        total = np.zeros_like(padded)
        for offset in range(-(kernel // 2), kernel // 2 + 1):
            total[pad:-pad] += padded[pad + offset : len(padded) - pad + offset] * (1.0 / kernel)
        smooth[kernels == kernel] = total[own][kernels == kernel]
    return smooth


def profile_widths(profiles, step_px, *, diameter_level=0.5, peak="strongest"):
    """Edge-to-edge widths of cross-shaft profiles.

    Parameters
    ----------
    profiles : ndarray, shape (M, K)
        Contrast profiles (shaft positive) centred on the centreline.
    step_px : ndarray, shape (M,)
        Spacing of the profile samples in pixels.
    diameter_level : float
        Share of the shaft's height above the skin at which the diameter is taken (see
        `measure_hairs`).

    Returns
    -------
    widths_px, peaks, centres_px, edge_spreads_px, diameters_px : ndarray, shape (M,)
        Band width: the width at half the peak above the mean of the profile's two ends (NaN where no
        two edges were found); that peak contrast; the offset of the shaft's middle (half-way between
        its edges) from the profile's centre; how far the edges take to rise from 10 % to 45 % of the
        peak (mean of the two sides; a focused shaft rises within the photo's blur, a defocused one
        over about a third of its width); and the diameter: the width at ``diameter_level`` (half) of
        the shaft's height above the skin, the lower of the profile's two ends (see the module
        docstring).
    """
    count, size = profiles.shape
    tail = max(3, size // 8)
    ends = np.median(profiles[:, :tail], axis=1), np.median(profiles[:, -tail:], axis=1)
    baseline = 0.5 * (ends[0] + ends[1])
    signal = profiles - baseline[:, None]
    centre = size // 2
    rows = np.arange(count)
    if peak == "nearest":
        peak_index = _climb(signal, np.full(count, centre))
    else:
        window = slice(centre - size // 6, centre + size // 6 + 1)
        peak_index = window.start + np.argmax(signal[:, window], axis=1)
    peaks = signal[rows, peak_index]
    # Walk in from each side's last sample below 15 % of the peak to the half-maximum crossing:
    # coming from outside, a specular highlight along the shaft's centre cannot be taken for an edge.
    index = np.arange(size)[None, :]
    low = signal < 0.15 * peaks[:, None]
    # The last low sample before the peak and the first after it (-1, ``size``: none).
    low_before = low & (index < peak_index[:, None])
    left_stop = size - 1 - np.argmax(low_before[:, ::-1], axis=1)
    left_stop[~low_before[rows, left_stop]] = -1
    low_after = low & (index > peak_index[:, None])
    right_stop = np.argmax(low_after, axis=1)
    right_stop[~low_after[rows, right_stop]] = size
    valid = (peaks > 0) & (left_stop >= 0) & (right_stop < size)
    edges = _Edges(signal, peak_index, left_stop, right_stop)
    left_edge, right_edge = edges.at(0.5 * peaks)
    # The skin lies at the lower end; the edges are sought between the same stops (the last low
    # samples, between the shaft and a hair beside it), so the shaft never takes in that hair.
    skin = np.minimum(*ends) - baseline
    skin_left, skin_right = edges.at(skin + diameter_level * (peaks - skin))
    skin_left, skin_right = np.maximum(skin_left, left_stop), np.minimum(skin_right, right_stop)
    foot_left, foot_right = edges.at(0.1 * peaks)
    shoulder_left, shoulder_right = edges.at(0.45 * peaks)
    with np.errstate(invalid="ignore"):  # rows without two edges are masked
        widths = np.where(valid, (right_edge - left_edge) * step_px, np.nan)
        diameters = np.where(valid, (skin_right - skin_left) * step_px, np.nan)
        centres = np.where(valid, (0.5 * (left_edge + right_edge) - centre) * step_px, np.nan)
        rise = 0.5 * ((shoulder_left - foot_left) + (foot_right - shoulder_right))
        spreads = np.where(valid, rise * step_px, np.nan)
    return widths, peaks, centres, spreads, diameters


def _climb(signal, start):
    """Index of the local maximum of each row of ``signal`` reached by ascending from ``start``."""
    rows, size = np.arange(len(signal)), signal.shape[1]
    at = start.copy()
    for _ in range(size):
        left, right = np.maximum(at - 1, 0), np.minimum(at + 1, size - 1)
        upward = np.where(signal[rows, right] > signal[rows, left], right, left)
        moving = signal[rows, upward] > signal[rows, at]
        if not moving.any():
            break
        at[moving] = upward[moving]
    return at


class _Edges:
    """Sub-pixel positions where profiles, entered from the skin on either side, first reach a level.

    The search on each side starts after the last sample below 15 % of the peak (``left_stop``,
    ``right_stop``) and ends at the peak; positions are linearly interpolated between samples.
    """

    def __init__(self, signal, peak_index, left_stop, right_stop):
        size = signal.shape[1]
        index = np.arange(size)[None, :]
        self._signal, self._rows = signal, np.arange(len(signal))
        self._left_range = (index > left_stop[:, None]) & (index <= peak_index[:, None])
        self._right_range = ((index >= peak_index[:, None]) & (index < right_stop[:, None]))[:, ::-1]

    def at(self, level):
        signal, rows = self._signal, self._rows
        size = signal.shape[1]
        high = signal >= level[:, None]
        left = np.clip(np.argmax(high & self._left_range, axis=1), 1, size - 1)
        right = np.clip(size - 1 - np.argmax(high[:, ::-1] & self._right_range, axis=1), 0, size - 2)
        before, at_left = signal[rows, left - 1], signal[rows, left]
        at_right, after = signal[rows, right], signal[rows, right + 1]
        with np.errstate(divide="ignore", invalid="ignore"):  # rows without an edge are masked by callers
            return left - 1 + (level - before) / (at_left - before), right + (at_right - level) / (
                at_right - after
            )


def measure_hairs(
    contrast, hairs: list[TracedHair], sigma_px_map, *, diameter_level=0.5
) -> list[HairMeasurement]:
    """Diameter and contrast of each traced hair.

    Parameters
    ----------
    contrast : ndarray of float32, shape (H, W)
        Relative contrast image (hair positive).
    hairs : list of TracedHair
    sigma_px_map : ndarray, shape (H, W)
        Ridge scale per pixel; sets how far each profile reaches.
    diameter_level : float
        The diameter is the profile's width at this share of the shaft's height above the skin. Half
        (default) gives the edges of an opaque, blurred shaft. A weakly absorbing (unpigmented) shaft
        stands out in proportion to its chord, ``sqrt(1 - (2 x / d) ** 2)`` across a diameter ``d``,
        and is ``d * sqrt(1 - level ** 2)`` wide at a level: 0.87 d at half its height, 0.97 d at a
        quarter.

    Returns
    -------
    list of HairMeasurement, one per hair
    """
    results = [HairMeasurement(float("nan"), float("nan"), 0) for _ in hairs]
    if not hairs:
        return results
    coords = np.concatenate([hair.coords_px for hair in hairs])
    sizes = np.array([len(hair.coords_px) for hair in hairs])
    sigma_medians = group_medians(
        values_at(sigma_px_map, coords), np.repeat(np.arange(len(hairs)), sizes), len(hairs)
    )
    widths_px = np.maximum(2.0, 2.0 * sigma_medians.astype(float))
    steps_px = np.maximum(1.5, 0.5 * widths_px)
    points, tangents, owner = _resample(coords, sizes, steps_px)
    if len(points) == 0:
        return results
    counts = np.bincount(owner, minlength=len(hairs))
    first = np.cumsum(counts) - counts
    # Skip samples near junctions (another hair overlaps there) and within a width of either end.
    keep = ~_near_junctions(points, owner, hairs, 1.5 * widths_px + 2.0)
    arc = (np.arange(len(points)) - first[owner]) * steps_px[owner]
    width = widths_px[owner]
    keep &= (arc > width) & (arc < (counts[owner] - 1) * steps_px[owner] - width)
    keep |= np.bincount(owner, keep, minlength=len(hairs))[owner] == 0  # else measure all of it
    points, tangents, owner = points[keep], tangents[keep], owner[keep]
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], 1)
    reach = np.maximum(5.0, 2.5 * widths_px)[owner]
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
    widths, peaks, centres, spreads, skin_widths = profile_widths(
        profiles.astype(np.float64), 2.0 * reach / (_PROFILE_SAMPLES - 1), diameter_level=diameter_level
    )
    good = np.isfinite(widths)
    counts = np.bincount(owner[good], minlength=len(hairs))
    band_widths = group_medians(widths[good], owner[good], len(hairs))
    contrasts = group_medians(peaks[good], owner[good], len(hairs))
    edge_spreads = group_medians(spreads[good], owner[good], len(hairs))
    on_shaft = np.bincount(owner[good], np.abs(centres[good]) <= 0.5 * widths[good], minlength=len(hairs))
    # A profile whose foot is flat at the skin's level gives no edge against it: take its band width.
    skin_widths = np.where(np.isfinite(skin_widths), skin_widths, widths)
    diameters = group_medians(skin_widths[good], owner[good], len(hairs))
    for index in np.flatnonzero(counts):
        results[index] = HairMeasurement(
            float(diameters[index]),
            float(contrasts[index]),
            int(counts[index]),
            float(on_shaft[index] / counts[index]),
            float(edge_spreads[index]),
            float(band_widths[index]),
        )
    return results


def _near_junctions(points, owner, hairs, radius_px):
    """Whether each sample lies within ``radius_px[owner]`` of a junction of its own hair.

    Distances as np.linalg.norm gives them; every (sample, junction of its hair) pair at once.
    """
    junctions = [hair.junctions_px for hair in hairs]
    counts = np.array([len(j) for j in junctions])
    pairs = counts[owner]
    sample = np.repeat(np.arange(len(points)), pairs)
    if not len(sample):
        return np.zeros(len(points), bool)
    firsts = np.cumsum(counts) - counts
    junction = firsts[owner[sample]] + np.arange(len(sample)) - (np.cumsum(pairs) - pairs)[sample]
    gaps = points[sample] - np.concatenate(junctions)[junction]
    close = np.sqrt(gaps[:, 0] ** 2 + gaps[:, 1] ** 2) <= radius_px[owner[sample]]
    return np.bincount(sample, close, minlength=len(points)) > 0
