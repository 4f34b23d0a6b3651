"""Hair segmentation: a multi-scale Hessian ridge filter in contrast units, then hysteresis.

For a shaft of width ``w`` and relative contrast ``C`` the scale-normalised second derivative
``sigma**2 * |L_nn|`` peaks at ``sigma = w / 2`` with the value ``2 * phi(1) * C = 0.484 C``
(``phi``: the standard normal density). Dividing by 0.484 makes the filter output read directly as the
shaft's contrast against the skin, at every scale and in every photo, so the thresholds below are fixed
physical contrasts rather than fractions of a per-image maximum (the trap of ``skimage.filters.frangi``).

References
----------
Lindeberg T. (1998) Edge detection and ridge detection with automatic scale selection. IJCV 30(2).
Frangi A.F. et al. (1998) Multiscale vessel enhancement filtering. MICCAI, LNCS 1496.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .calibration import Calibration
from .compiled import jit

#: Neighbourhood radius of the half-maximum (gap) test of the mask: half a typical terminal shaft.
PEAK_RADIUS_UM = 40.0
#: Holes in the mask narrower than this are glints on a shaft, not skin between hairs (filled).
PINHOLE_WIDTH_UM = 50.0
#: Peak of the scale-normalised second derivative of a unit-contrast bar (see module docstring).
_BAR_RESPONSE = 2.0 * np.exp(-0.5) / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class RidgeMap:
    """Output of `ridge_filter`.

    Attributes
    ----------
    strength : ndarray of float32, shape (H, W)
        Line strength in contrast units (about the shaft's relative contrast on its centreline).
    sigma_px : ndarray of float32, shape (H, W)
        Gaussian scale (pixels) of the strongest response; about half the shaft width.
    """

    strength: np.ndarray
    sigma_px: np.ndarray


def scales_px(calibration: Calibration, *, min_diameter_um: float, max_diameter_um: float):
    """Gaussian scales (px) matched to shaft widths from min to max diameter, ratio ~1.5 apart."""
    low = max(0.7, calibration.px(min_diameter_um) / 2.0)
    high = max(low, calibration.px(max_diameter_um) / 2.0)
    count = max(1, int(np.ceil(np.log(high / low) / np.log(1.5))) + 1)
    return np.geomspace(low, high, count)


def _line_response(image, sigma, *, both_signs=False):
    """Scale-normalised line strength of bright ridges at one scale, in contrast units.

    With ``both_signs``, a pair: that and the strength of the dark ridges (those of the negated image,
    bit for bit), from the same derivatives.
    """
    smooth = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    padded = cv2.copyMakeBorder(smooth, 1, 1, 1, 1, cv2.BORDER_REFLECT)
    bright = np.empty_like(smooth)
    dark = np.empty_like(smooth) if both_signs else np.empty((0, 0), np.float32)
    jit(_hessian_lines)(padded, sigma * sigma / _BAR_RESPONSE, bright, dark)
    return (bright, dark) if both_signs else bright


def _hessian_lines(padded, weight, bright, dark):
    """Bright-ridge strength (and, where ``dark`` has the image's shape, dark-ridge strength) of a
    smoothed float32 image, times ``weight``, written into ``bright`` (and ``dark``); ``padded``: the
    image with one mirrored pixel added on every side (OpenCV's ``BORDER_REFLECT``).

    The Hessian is taken with 3x3 Sobel kernels (scale 1/4), all in one pass over the image: the chain
    of whole-image OpenCV and numpy steps it replaces (three derivatives, then ten arithmetic passes)
    cost ~2x more, all in memory traffic. Per pixel, with the eigenvalues ``half_trace -/+ radius``:
    ``across = half_trace - radius`` is the most negative curvature, across a bright line; ``along =
    half_trace + radius`` is ~0 on a line and < 0 on a blob. Blob-like spots (both curvatures
    negative) are penalised by half, which still keeps crossings: ``strength = max(-across - 0.5 *
    max(-along, 0), 0)``. The negated image has the negated Hessian: the same radius, the negated half
    trace.
    """
    height, width = bright.shape
    both = dark.shape[0] == height
    weight = np.float32(weight)
    quarter, half, two, zero = np.float32(0.25), np.float32(0.5), np.float32(2.0), np.float32(0.0)
    for row in range(height):
        above, here, below = padded[row], padded[row + 1], padded[row + 2]
        out_bright, out_dark = bright[row], dark[row] if both else bright[row]
        for col in range(width):
            a, b, c = above[col], above[col + 1], above[col + 2]
            d, e, f = here[col], here[col + 1], here[col + 2]
            g, h, i = below[col], below[col + 1], below[col + 2]
            dxx = quarter * ((a - two * b + c) + two * (d - two * e + f) + (g - two * h + i))
            dyy = quarter * ((a - two * d + g) + two * (b - two * e + h) + (c - two * f + i))
            dxy = quarter * ((a - c) - (g - i))
            half_trace = half * (dxx + dyy)
            difference = half * (dxx - dyy)
            radius = np.sqrt(difference * difference + dxy * dxy)
            out_bright[col] = weight * max(radius - half_trace + half * min(half_trace + radius, zero), zero)
            if both:
                out_dark[col] = weight * max(
                    radius + half_trace + half * min(radius - half_trace, zero), zero
                )


def ridge_filter(contrast, calibration: Calibration, *, min_diameter_um=15.0, max_diameter_um=150.0):
    """Multi-scale line strength of a contrast image (hair positive).

    Large scales are computed on a reduced copy (area-averaged) and combined there, so each reduced
    level costs one upsampling and the total stays close to the cost of the finest scale.

    Parameters
    ----------
    contrast : ndarray of float32, shape (H, W)
        Output of `densitometry.preprocess.preprocess`.
    calibration : Calibration
    min_diameter_um, max_diameter_um : float
        Range of shaft diameters to respond to.

    Returns
    -------
    RidgeMap
    """
    height, width = contrast.shape
    sigmas = scales_px(calibration, min_diameter_um=min_diameter_um, max_diameter_um=max_diameter_um)
    levels: dict[int, list] = {}
    for index, sigma in enumerate(sigmas):
        # Power-of-two reductions keep the number of distinct levels (and upsamplings) small.
        levels.setdefault(2 ** int(np.log2(max(1.0, sigma / 1.2))), []).append(index)
    # The winning scale is tracked as a uint8 label (index + 1; 0 where no scale responds) and turned
    # into pixels at the end: a quarter of the memory traffic of a float map through every level.
    strength = scale_label = None
    for factor, indices in sorted(levels.items()):
        image = contrast
        if factor > 1:
            size = (max(8, width // factor), max(8, height // factor))
            image = cv2.resize(contrast, size, interpolation=cv2.INTER_AREA)
        level_strength = np.zeros(image.shape, np.float32)
        level_label = np.zeros(image.shape, np.uint8)
        filled = np.empty(image.shape, np.uint8)
        for index in indices:
            response = _line_response(image, float(sigmas[index]) * image.shape[1] / width)
            filled.fill(index + 1)
            _keep_stronger(level_strength, level_label, response, filled)
        if factor > 1:
            level_strength = cv2.resize(level_strength, (width, height), interpolation=cv2.INTER_LINEAR)
            level_label = cv2.resize(level_label, (width, height), interpolation=cv2.INTER_NEAREST)
        if strength is None:  # the finest level: nothing to compare with yet
            strength, scale_label = level_strength, level_label
        else:
            _keep_stronger(strength, scale_label, level_strength, level_label)
    sigma_of_label = np.concatenate([[0.0], sigmas]).astype(np.float32)
    return RidgeMap(strength, sigma_of_label[scale_label])


def _keep_stronger(strength, scale_label, candidate, candidate_label):
    """Where ``candidate`` is strictly stronger, take it and its scale label (in place).

    One compiled pass over the four images: OpenCV's compare, maximum and masked copy took three (and
    numpy's boolean-mask assignment costs ~20x more on a scattered mask).
    """
    jit(_keep_stronger_pass)(strength, scale_label, candidate, candidate_label)


def _keep_stronger_pass(strength, scale_label, candidate, candidate_label):
    height, width = strength.shape
    for row in range(height):
        for col in range(width):
            value = candidate[row, col]
            if value > strength[row, col]:
                strength[row, col] = value
                scale_label[row, col] = candidate_label[row, col]


def along_ridge(contrast, points_rc, sigma_px) -> float:
    """How closely a path follows the crests of the lines of ``contrast`` (bright positive) it lies on:
    the median over its points of |cos| of its angle to the crest there, 0 where no crest lies under
    it (1: along a crest all the way; 0: across one, or off any).

    At the scale ``sigma_px`` (px), with Gaussian derivative kernels at the path's points only, a point
    lies on a crest where the Hessian's negative eigenvalue outweighs the other, and the crest runs
    along the other's axis. A path along a shaft follows its crest; one that runs off a shaft's blunt
    or rounded end, along its flank, or from shaft to shaft across the skin between them (the fork of a
    skeleton at a clipped tip, a strand of skin texture grown onto a hair) does not.

    Parameters
    ----------
    contrast : ndarray of float32, shape (H, W)
    points_rc : ndarray of float, shape (N, 2)
        The path, (row, col), in order; N >= 3.
    sigma_px : float
        The scale of the lines (about half the shaft's width; at least 0.7 px is used).
    """
    points = np.asarray(points_rc, dtype=float)
    sigma_px = max(float(sigma_px), 0.7)  # the finest scale `scales_px` gives
    step = max(1, int(round(sigma_px)))
    lag = min(2, len(points) - 1)  # tangents over 2 points each way
    tangents = (points[lag:] - points[:-lag])[::step]
    centres = (0.5 * (points[lag:] + points[:-lag]))[::step]
    half_px = int(np.ceil(3.0 * sigma_px))
    offsets = np.arange(-half_px, half_px + 1, dtype=float)
    gauss = np.exp(-0.5 * (offsets / sigma_px) ** 2)
    second = (offsets**2 / sigma_px**2 - 1.0) * gauss  # up to a common factor
    first = offsets / sigma_px * gauss
    kernels = np.stack(
        [np.outer(gauss, second), np.outer(second, gauss), np.outer(first, first)]
    )  # d2/dx2 (cols), d2/dy2 (rows), d2/dxdy
    padded = cv2.copyMakeBorder(contrast, half_px, half_px, half_px, half_px, cv2.BORDER_REFLECT)
    rows = np.clip(np.rint(centres[:, 0]).astype(int), 0, contrast.shape[0] - 1)
    cols = np.clip(np.rint(centres[:, 1]).astype(int), 0, contrast.shape[1] - 1)
    window = np.arange(2 * half_px + 1)
    patches = padded[rows[:, None, None] + window[None, :, None], cols[:, None, None] + window[None, None, :]]
    dxx, dyy, dxy = np.einsum("nij,kij->kn", patches.astype(float), kernels)
    # On a bright line's crest the curvature across it is strongly negative, the larger eigenvalue's
    # (least curvature's) axis runs along it. Elsewhere (its flanks, where the curvature across turns
    # positive, the skin beyond) no crest lies under the path: it follows none there. Eigenvalues:
    # half_trace -/+ spread.
    half_trace, difference = 0.5 * (dxx + dyy), 0.5 * (dxx - dyy)
    spread = np.hypot(difference, dxy)
    on_crest = half_trace - spread < -np.abs(half_trace + spread)
    along = 0.5 * np.arctan2(2.0 * dxy, dxx - dyy)
    path = np.arctan2(tangents[:, 0], tangents[:, 1])
    return float(np.median(np.where(on_crest, np.abs(np.cos(path - along)), 0.0)))


def line_evidence(contrast, calibration: Calibration, *, diameter_um=70.0) -> float:
    """Mean line strength above 0.05 at one typical shaft width (used to decide polarity)."""
    response, _ = typical_line_response(contrast, calibration, diameter_um)
    return float(np.mean(np.maximum(response - 0.05, 0.0)))


def polarity_evidence(dark_contrast, calibration: Calibration, *, diameter_um=70.0) -> tuple:
    """Line evidence of the dark and the bright reading of ``dark_contrast`` (dark positive).

    Returns ``(dark, bright, own_dark, own_bright)``: the mean line strength above 0.05 at one typical
    shaft width (as `line_evidence`) of each reading, over all lines and over the lines that are no
    flank of a stronger line of the other reading. Across a dark shaft the curvature is strongest at
    its centre and of the other sign, about half as strong, on either flank: a bright-line detector
    sees a dark hair as two fainter bright lines beside it, and the other way round. A response counts
    as the reading's own where no stronger response of the other reading lies within two shaft radii.
    """
    (dark, bright), sigma = typical_line_response(dark_contrast, calibration, diameter_um, both_signs=True)
    side = 2 * int(np.ceil(2.0 * sigma)) + 1
    kernel = np.ones((side, side), np.uint8)
    dark_above = np.maximum(dark - 0.05, 0.0)
    bright_above = np.maximum(bright - 0.05, 0.0)
    own_dark = np.where(dark >= cv2.dilate(bright, kernel), dark_above, 0.0)
    own_bright = np.where(bright >= cv2.dilate(dark, kernel), bright_above, 0.0)
    return tuple(float(np.mean(values)) for values in (dark_above, bright_above, own_dark, own_bright))


def area_resized(image, size):
    """``image`` area-resized to ``size`` (width, height); the image itself where it has that size (the
    filters it goes to make new images: no copy needed)."""
    if image.shape[1::-1] == tuple(size):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def typical_line_response(contrast, calibration, diameter_um=70.0, *, both_signs=False):
    """`_line_response` (with ``both_signs``: its pair) at one shaft width on a copy reduced to ~1.5 px
    per scale; and that scale."""
    sigma = calibration.px(diameter_um) / 2.0
    factor = max(1, int(sigma // 1.5))
    height, width = contrast.shape
    small = area_resized(contrast, (max(8, width // factor), max(8, height // factor)))
    small_sigma = sigma * small.shape[1] / width
    return _line_response(small, small_sigma, both_signs=both_signs), small_sigma


def segment(
    ridge: RidgeMap,
    contrast,
    *,
    low_contrast=0.05,
    high_contrast=0.12,
    hole_width_px=8.0,
    peak_radius_px=4.0,
    opposite=None,
) -> np.ndarray:
    """Hair mask by hysteresis on the line strength, limited to pixels that are themselves hair.

    A coarse scale sees two close parallel shafts as one wide line, and its response spills over the
    skin around and between them; requiring each pixel's own contrast to reach 40 % of the highest
    contrast within ``peak_radius_px`` (a little below the shaft's half maximum, so a shaft stays whole
    where a crossing doubles the contrast) keeps that halo and the gaps between close hairs out, so they
    stay separate branches.

    Parameters
    ----------
    ridge : RidgeMap
    contrast : ndarray of float32, shape (H, W)
        The relative contrast image the ridge map was computed from.
    low_contrast, high_contrast : float
        Relative contrasts: a line is seeded where it is at least ``high_contrast`` and grown where it
        is at least ``low_contrast``.
    hole_width_px : float
        Holes in the mask narrower than this are filled (see `fill_pinholes`).
    peak_radius_px : float
        Radius of the neighbourhood whose peak contrast sets the half-maximum level (about half a
        terminal shaft's width).
    opposite : ndarray of float32, shape (H, W), optional
        Contrast of the other polarity (`Preprocessed.opposite_contrast`); pixels fainter than the
        strongest opposite contrast within ``peak_radius_px``, halved, are rims, not hair.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    smooth = cv2.GaussianBlur(contrast, (0, 0), 0.7)
    grow = (smooth >= 0.4 * nearby_peak(smooth, peak_radius_px)) & (ridge.strength >= low_contrast)
    if opposite is not None:
        # Camera sharpening draws a faint dark rim along a white hair (and a light one along a dark
        # hair): a line less than half as strong as an opposite-polarity line right beside it is such
        # a rim. (At 'as strong as', specular highlights on dark hair eat into the hair itself.)
        grow &= smooth >= 0.5 * nearby_peak(cv2.GaussianBlur(opposite, (0, 0), 0.7), peak_radius_px)
    return fill_pinholes(hysteresis(grow, ridge.strength >= high_contrast), hole_width_px)


def nearby_peak(image, radius_px) -> np.ndarray:
    """Highest value of ``image`` within ``radius_px`` (a square: separable, fast) of each pixel."""
    side = 2 * max(1, int(round(radius_px))) + 1
    return cv2.dilate(image, np.ones((side, side), np.uint8))


def hysteresis(grow, seed) -> np.ndarray:
    """The 8-connected regions of ``grow`` that hold a ``seed`` pixel (both bool (H, W))."""
    count, labels = cv2.connectedComponents(grow.astype(np.uint8), connectivity=8)
    seeded = np.zeros(count, bool)
    jit(_mark_labels)(labels.ravel(), (grow & seed).ravel(), seeded)
    seeded[0] = False
    return _look_up(seeded, labels)


#: `fill_pinholes` measures the holes of a mask with at most this many background components (sparse
#: hair: 40-70 on clinical phantoms; dense hair has hundreds to thousands) each in a window around it
#: (`_kept_holes_by_window`), while the windows cover less than this share of the image; otherwise in
#: one pass over the whole image.
_WINDOWED_MAX_COMPONENTS = 100
_WINDOWED_HOLES_AREA = 0.25


def _mark_labels(labels, where, marked):
    """Set ``marked[label]`` for the label of every pixel ``where`` is true (all 1-D)."""
    for index in range(labels.size):
        if where[index]:
            marked[labels[index]] = True


def _label_boxes(labels, boxes):
    """Widen ``boxes[label]`` (first row, first column, last row, last column) to every pixel of
    ``label`` in the 2-D label image ``labels``."""
    for row in range(labels.shape[0]):
        for col in range(labels.shape[1]):
            label = labels[row, col]
            if row < boxes[label, 0]:
                boxes[label, 0] = row
            if col < boxes[label, 1]:
                boxes[label, 1] = col
            boxes[label, 2] = row
            if col > boxes[label, 3]:
                boxes[label, 3] = col


def _look_up(table, labels) -> np.ndarray:
    """``table[labels]`` (bool): a numba loop, 2-3x faster than numpy's indexing by an int32 image."""
    out = np.empty(labels.shape, np.bool_)
    jit(_gather)(table, labels.ravel(), out.ravel())
    return out


def _gather(table, labels, out):
    for index in range(labels.size):
        out[index] = table[labels[index]]


def fill_pinholes(mask, max_width_px) -> np.ndarray:
    """Fill holes narrower than ``max_width_px`` (specular glints along a shaft).

    A glint leaves a slit inside the shaft that would make a loop in the skeleton. The skin enclosed
    between crossing hairs is a hole too, and in dense hair at fine pixel sizes such cells are small
    in area but wide: a hole is filled only if the widest disc that fits inside it is narrower than
    ``max_width_px``, whatever its length.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
    max_width_px : float

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    background = (~mask).astype(np.uint8)
    count, holes = cv2.connectedComponents(background, connectivity=4)
    if count <= 2:
        return mask
    threshold = 0.5 * max_width_px
    kept = None
    if count <= _WINDOWED_MAX_COMPONENTS:
        kept = _kept_holes_by_window(background, holes, count, threshold)
    if kept is None:
        # Twice the distance to the mask is the width of the widest disc centred there.
        distance = cv2.distanceTransform(background, cv2.DIST_L2, 3)
        kept = np.zeros(count, bool)
        jit(_mark_labels)(holes.ravel(), (distance >= threshold).ravel(), kept)
        # Background that reaches the image border is not enclosed: not a hole.
        kept[holes[[0, -1], :]] = True
        kept[holes[:, [0, -1]]] = True
    return mask | _look_up(~kept, holes)


def _kept_holes_by_window(background, holes, count, threshold):
    """`fill_pinholes`'s decision for a few holes, each looked at in a window around it: the
    components of ``background`` (labelled ``holes``) that reach the image border or hold a pixel at
    least ``threshold`` from the mask, as bool of ``count``; None where the windows would cover more
    than `_WINDOWED_HOLES_AREA` of the image (one pass over all of it costs less).

    Walking straight across its narrower side, no pixel of a hole is more than half that side
    (rounded up) from the mask, and `cv2.distanceTransform`'s distance (a chamfer distance with steps
    of at most 1) is no more than such a walk: narrower holes need no distances. Each wider one is
    measured in a window around it larger by the distance sought (the steps are at least 0.9), so that
    every mask pixel near enough lies in it: the distances that decide are those over the whole image.
    """
    height, width = holes.shape
    # First row, first column, last row, last column of each component, in one numba pass over the
    # labels (cv2.connectedComponentsWithStats gives them too, but costs 3x the labelling alone).
    boxes = np.empty((count, 4), np.int64)
    boxes[:, :2], boxes[:, 2:] = np.iinfo(np.int64).max, -1
    jit(_label_boxes)(holes, boxes)
    first_row, first_col, last_row, last_col = boxes.T
    kept = (first_row == 0) | (first_col == 0) | (last_row == height - 1) | (last_col == width - 1)
    kept[0] = True  # the mask itself
    sides = np.minimum(last_row - first_row, last_col - first_col) + 1
    wide = np.flatnonzero(~kept & (np.ceil(sides / 2.0) >= threshold))
    pad = int(np.ceil(threshold / 0.9)) + 2
    top, left = np.maximum(first_row[wide] - pad, 0), np.maximum(first_col[wide] - pad, 0)
    bottom, right = np.minimum(last_row[wide] + 1 + pad, height), np.minimum(last_col[wide] + 1 + pad, width)
    if np.sum((bottom - top) * (right - left)) > _WINDOWED_HOLES_AREA * height * width:
        return None
    for k, label in enumerate(wide.tolist()):
        window = slice(top[k], bottom[k]), slice(left[k], right[k])
        distance = cv2.distanceTransform(background[window], cv2.DIST_L2, 3)
        kept[label] = bool(np.any(distance[holes[window] == label] >= threshold))
    return kept
