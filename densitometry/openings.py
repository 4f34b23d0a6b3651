"""Empty follicular openings: round dark or yellow dots on the skin that no hair leaves.

Trichoscopy counts follicular openings without a hair beside the hair-bearing units: "empty
follicles" (the skin-coloured to brown-pink dot of an opening whose hair has been shed) and "yellow
dots" (an opening filled with sebum and keratin). Both are more frequent in pattern hair loss and
alopecia areata, and yellow dots are among the trichoscopic criteria for both.

A dot is a round spot 50-200 µm across, darker than the skin around it (brightness: empty
follicles, and black dots, the remnants of hairs broken at the opening) or yellower (the blue channel
darker than the brightness: yellow dots), on the skin left between the hairs:

1. The photo is read at a pixel size of at least `_WORKING_UM_PER_PX` (a 50 µm opening is still 5 px
   wide there). The skin level of the brightness and of the blue channel is taken under the dots and
   hairs (`densitometry.preprocess.skin_background` with a disk wider than any opening), and each
   pixel's darkness and yellowness are read relative to it, as the hair contrast is.
2. The counted hairs' mask components, with a margin, are left out (a mask component that holds no
   counted hair and is small and round is the dot itself, not hair). A centre-minus-surround response
   (box means of the skin only, for a dot of middle size) proposes candidates at its local maxima.
3. Each candidate is measured: the mean of the disc minus the median of a ring of skin around it (1.5
   to 3 radii). It is a dot if that contrast reaches ``min_contrast``, the ring is mostly skin and
   even (no grey or white hair, which the dark hair mask does not hold, no other blotch), its two
   curvatures are alike (creases and the edges of flakes are long), and it lies away from every hair
   end (an opening with a hair is that hair's follicular unit).

On the synthetic phantoms (`benchmarks/follicular.py --photos 10`), every dot found lies on a
follicular opening, but only 57 % of those openings are truly empty: the others have a hair the analysis
missed (faint blond hair); and 13 % of the empty openings are found: most lie under hairs or are as
pale as the skin. The count is a lower bound.

References
----------
Rudnicka L., Olszewska M., Rakowska A. (eds.), "Atlas of Trichoscopy: Dermoscopy in Hair and Scalp
Disease", Springer 2012 (yellow dots and empty follicles).
Rakowska A., Slowinska M., Kowalska-Oledzka E., Olszewska M., Rudnicka L. (2009), "Dermoscopy in
female androgenic alopecia: method standardization and diagnostic criteria", Int J Trichology 1(2):123-130.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from .calibration import Calibration
from .errors import ParameterError
from .preprocess import Polarity, skin_background, to_grey
from .results import hair_ends_px

#: Columns of `find_empty_openings`' table, in order.
OPENING_COLUMNS = ("row_px", "col_px", "diameter_um", "contrast", "kind")

#: The photo is read at this pixel size or coarser (openings are 50-200 µm across).
_WORKING_UM_PER_PX = 10.0
#: Smallest ratio of the weaker to the stronger curvature at a dot's centre (1 for a disc).
_MIN_ROUNDNESS = 0.4
#: A mask component no wider than the largest dot fills at least this share of its bounding box to be
#: a dot (a disc fills pi/4 of it).
_MIN_BOX_FILL = 0.5
#: Hairs are masked out with this margin (their blurred edges and shadows).
_HAIR_MARGIN_UM = 20.0
#: A dot within this distance of a hair end (plus its radius) is that hair's opening.
_HAIR_END_CLEARANCE_UM = 40.0
#: Candidates are the local maxima of a rough centre-minus-surround response above this share of the
#: least contrast; each is then measured exactly (`_isolated_dot`).
_PROPOSAL_SHARE = 0.5
#: Share of a dot's ring (1.5-3 radii) that must be skin, and the largest share of that skin that
#: differs from its median by more than half the dot's contrast or `_RING_TOLERANCE`, whichever is
#: less (grey or white hairs, which are not in the dark hair mask, other dots, blotches).
_MIN_RING_SKIN = 0.6
_MAX_UNEVEN_RING = 0.1
_RING_TOLERANCE = 0.1
#: A dot's contrast must reach this many times the noise of its ring (robust standard deviation):
#: texture mottles on grainy skin reach the contrast but not the ring's calm.
_MIN_SNR = 4.0
#: Share of a dot's surround that must be skin (not masked hair) for its contrast to be read.
_MIN_SKIN_SHARE = 0.5


def find_empty_openings(
    result,
    *,
    min_contrast: float = 0.15,
    diameter_range_um: tuple[float, float] = (50.0, 200.0),
) -> pd.DataFrame:
    """Round dark or yellow dots on the skin away from every hair: empty follicular openings.

    Parameters
    ----------
    result : AnalysisResult
        A finished analysis (its ``image``, ``calibration``, ``hair_mask``, ``field_mask`` and hair ends
        are used). Not modified.
    min_contrast : float
        Least contrast of a dot against the skin ring around it, relative to the skin: darkness
        (brightness) or yellowness (blue darker than the brightness). Default 0.15.
    diameter_range_um : (float, float)
        Diameters of the openings looked for (default 50-200 µm).

    Returns
    -------
    pandas.DataFrame
        One row per dot, columns `OPENING_COLUMNS`: centre ``row_px``/``col_px`` in the photo's
        pixels, ``diameter_um`` (of the disc as large as the part of the dot above half its contrast,
        within ``diameter_range_um``), ``contrast`` (against the ring of skin around it) and ``kind``
        (``"dark"`` or ``"yellow"``).

    Raises
    ------
    ParameterError
        ``min_contrast`` not in (0, 1) or the diameter range not finite, positive and increasing.
    """
    min_contrast = _number(min_contrast, "min_contrast")
    if not 0.0 < min_contrast < 1.0:
        raise ParameterError(f"min_contrast must be in (0, 1), got {min_contrast!r}")
    try:
        low_um, high_um = (_number(value, "diameter_range_um") for value in diameter_range_um)
    except (TypeError, ValueError):
        low_um = high_um = np.nan
    if not (np.isfinite(low_um) and np.isfinite(high_um) and 0.0 < low_um < high_um):
        raise ParameterError(
            f"diameter_range_um must be (low, high) with 0 < low < high, finite, in µm; got {diameter_range_um!r}"
        )

    full = result.calibration
    rgb = result.image
    height, width = rgb.shape[:2]
    factor = max(1.0, _WORKING_UM_PER_PX / full.um_per_px)
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    scale = np.array([height / size[1], width / size[0]])
    calibration = Calibration(full.um_per_px * float(scale.mean()))
    interpolation = cv2.INTER_AREA if factor >= 2.0 else cv2.INTER_LINEAR
    small = cv2.resize(rgb, size, interpolation=interpolation).astype(np.float32) / 255.0
    luma = to_grey(small)
    blue = np.ascontiguousarray(small[..., 2])
    background = skin_background(
        np.dstack([luma, blue]), calibration, polarity=Polarity.DARK, max_hair_diameter_um=1.5 * high_um
    )
    floor = np.float32(1e-3)
    luma_rel = luma / np.maximum(background[..., 0], floor)
    blue_rel = blue / np.maximum(background[..., 1], floor)
    darkness = 1.0 - luma_rel
    yellowness = luma_rel - blue_rel

    min_radius_px, max_radius_px = calibration.px(low_um / 2), calibration.px(high_um / 2)
    skin = _skin(result, size, scale, calibration, max_radius_px)
    weight = skin.astype(np.float32)
    best = _proposal_response(
        np.dstack([darkness, yellowness]), weight, float(np.sqrt(min_radius_px * max_radius_px))
    )

    rows = []
    for channel, (image, kind) in enumerate(((darkness, "dark"), (yellowness, "yellow"))):
        response = np.ascontiguousarray(best[..., channel])
        peak = cv2.dilate(response, np.ones((3, 3), np.uint8))
        for r, c in np.argwhere((response >= _PROPOSAL_SHARE * min_contrast) & (response >= peak) & skin):
            radius = _half_maximum_radius(image, r, c, min_radius_px, max_radius_px)
            contrast = _isolated_dot(image, skin, r, c, radius)
            if contrast >= min_contrast and _round_enough(image, weight, r, c, radius):
                rows.append((r, c, radius, contrast, kind))
    rows = _apart(rows)
    table_rows = []
    ends = hair_ends_px(result.hairs).reshape(-1, 2) / scale  # in working pixels
    clearance = calibration.px(_HAIR_END_CLEARANCE_UM)
    for r, c, radius, contrast, kind in rows:
        if len(ends) and np.min(np.hypot(ends[:, 0] - r, ends[:, 1] - c)) < clearance + radius:
            continue
        if min(r, c, size[1] - 1 - r, size[0] - 1 - c) < radius:
            continue
        table_rows.append(
            {
                "row_px": (r + 0.5) * scale[0] - 0.5,
                "col_px": (c + 0.5) * scale[1] - 0.5,
                "diameter_um": calibration.um(2.0 * radius),
                "contrast": contrast,
                "kind": kind,
            }
        )
    return pd.DataFrame(table_rows, columns=list(OPENING_COLUMNS))


def _proposal_response(channels, weight, radius_px) -> np.ndarray:
    """Centre-minus-surround response of each channel for dots of about ``radius_px``, shape (H, W, C).

    Box means (their cost does not grow with the radius) of the skin only (``weight``) in a
    disc-sized square and in the surround around it: a rough response that proposes candidates.
    """
    masked = channels * weight[..., None]
    centre_size = (2 * int(round(0.8 * radius_px)) + 1,) * 2
    surround_size = (2 * int(round(2.5 * radius_px)) + 1,) * 2
    centre_w = np.maximum(cv2.blur(weight, centre_size), np.float32(1e-3))
    surround_w = cv2.blur(weight, surround_size)
    surround_w = np.where(surround_w > _MIN_SKIN_SHARE, surround_w, np.float32(np.inf))
    response = cv2.blur(masked, centre_size) / centre_w[..., None]
    response -= cv2.blur(masked, surround_size) / surround_w[..., None]
    return response


def _number(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    return float(value)


def _skin(result, size, scale, calibration, max_radius_px) -> np.ndarray:
    """Skin pixels at the working size: not the hairs (with a margin), inside the field.

    A dark dot can itself enter the hair mask (and be rejected as a hair: too short, not line-like):
    mask components that hold no counted hair and are small and round enough to be a dot stay skin.
    """
    mask = cv2.resize(result.hair_mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    holds_hair = ~_dot_shaped(stats, max_radius_px)
    if result.centerlines_px:
        points = np.rint(np.concatenate(result.centerlines_px) / scale).astype(int)
        points = points[(points >= 0).all(axis=1) & (points < labels.shape).all(axis=1)]
        holds_hair[labels[points[:, 0], points[:, 1]]] = True
    holds_hair[0] = False
    margin = max(1, int(round(calibration.px(_HAIR_MARGIN_UM))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    skin = cv2.dilate(holds_hair[labels].view(np.uint8), kernel) == 0
    if result.field_mask is not None:
        skin &= cv2.resize(result.field_mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return skin


def _dot_shaped(stats, max_radius_px) -> np.ndarray:
    """Whether each labelled component could be a dot, from its bounding box and area, shape (count,):
    no wider than the largest dot, about as tall as wide, and filling most of its box (a short hair
    stub lying diagonally has a square box it fills only along one diagonal)."""
    width, height, area = (
        stats[:, cv2.CC_STAT_WIDTH],
        stats[:, cv2.CC_STAT_HEIGHT],
        stats[:, cv2.CC_STAT_AREA],
    )
    side = np.maximum(width, height)
    return (
        (side <= 2.0 * max_radius_px + 2.0)
        & (np.minimum(width, height) >= _MIN_ROUNDNESS * side)
        & (area >= _MIN_BOX_FILL * width * height)
    )


def _half_maximum_radius(image, r, c, min_radius, max_radius) -> float:
    """Radius of the disc as large as the spot at (r, c) where it stands above half its height.

    The height is the centre's value above the median at 1.5-2 ``max_radius`` (the skin beyond any
    dot); the spot is the part above half of it connected to the centre. Clipped to the radii searched.
    """
    half = int(np.ceil(2.0 * max_radius)) + 1
    r0, r1 = max(0, r - half), min(image.shape[0], r + half + 1)
    c0, c1 = max(0, c - half), min(image.shape[1], c + half + 1)
    patch = image[r0:r1, c0:c1]
    rows, cols = np.ogrid[r0 - r : r1 - r, c0 - c : c1 - c]
    distance = np.hypot(rows, cols)
    level = (
        float(np.median(patch[distance >= 1.5 * max_radius])) if np.any(distance >= 1.5 * max_radius) else 0.0
    )
    above = (patch >= 0.5 * (float(image[r, c]) + level)) & (distance <= max_radius)
    _, labels = cv2.connectedComponents(above.view(np.uint8), connectivity=8)
    area = float(np.sum(labels == labels[r - r0, c - c0])) if above[r - r0, c - c0] else 0.0
    return float(np.clip(np.sqrt(area / np.pi), min_radius, max_radius))


def _isolated_dot(image, skin, r, c, radius) -> float:
    """Contrast of the disc of ``radius`` at (r, c) against the skin ring around it; 0 if not a lone dot.

    The disc must be skin, the ring (1.5 to 3 radii) mostly skin and even: a pocket of skin enclosed
    by hairs, or a spot inside a larger blotch, has an uneven or hair-covered ring.
    """
    half = int(np.ceil(3 * radius)) + 1
    r0, r1 = max(0, r - half), min(image.shape[0], r + half + 1)
    c0, c1 = max(0, c - half), min(image.shape[1], c + half + 1)
    rows, cols = np.ogrid[r0 - r : r1 - r, c0 - c : c1 - c]
    distance = np.hypot(rows, cols)
    values, on_skin = image[r0:r1, c0:c1], skin[r0:r1, c0:c1]
    disc = distance <= radius
    ring = (distance >= 1.5 * radius) & (distance <= 3.0 * radius)
    expected_ring = np.pi * 9.0 * radius**2 - np.pi * 2.25 * radius**2
    if on_skin[disc].mean() < 0.8 or (on_skin & ring).sum() < _MIN_RING_SKIN * expected_ring:
        return 0.0
    ring_values = values[ring & on_skin]
    level = float(np.median(ring_values))
    contrast = float(values[disc].mean()) - level
    deviation = ring_values - level
    uneven = float(np.mean(np.abs(deviation) > min(0.5 * contrast, _RING_TOLERANCE)))
    noise = 1.4826 * float(np.median(np.abs(deviation)))
    return contrast if uneven <= _MAX_UNEVEN_RING and contrast >= _MIN_SNR * noise else 0.0


def _round_enough(image, weight, r, c, radius) -> bool:
    """Whether the spot at (r, c) is round: its two curvatures at its scale are alike and both show a dot."""
    half = int(np.ceil(3 * radius)) + 2
    r0, r1 = max(0, r - half), min(image.shape[0], r + half + 1)
    c0, c1 = max(0, c - half), min(image.shape[1], c + half + 1)
    patch = image[r0:r1, c0:c1] * weight[r0:r1, c0:c1]
    smooth = cv2.GaussianBlur(patch, (0, 0), max(0.7, radius / np.sqrt(2.0)))
    pr, pc = r - r0, c - c0
    if not (1 <= pr < smooth.shape[0] - 1 and 1 <= pc < smooth.shape[1] - 1):
        return False
    hrr = smooth[pr + 1, pc] - 2 * smooth[pr, pc] + smooth[pr - 1, pc]
    hcc = smooth[pr, pc + 1] - 2 * smooth[pr, pc] + smooth[pr, pc - 1]
    hrc = 0.25 * (
        smooth[pr + 1, pc + 1] - smooth[pr + 1, pc - 1] - smooth[pr - 1, pc + 1] + smooth[pr - 1, pc - 1]
    )
    mean, diff = 0.5 * (hrr + hcc), np.hypot(0.5 * (hrr - hcc), hrc)
    strong, weak = mean - diff, mean + diff  # eigenvalues; a dot (a peak) has both negative
    return bool(weak < 0 and weak / strong >= _MIN_ROUNDNESS)


def _apart(rows):
    """Keep the strongest of dots whose discs overlap (one dot can peak in both channels)."""
    kept = []
    for row in sorted(rows, key=lambda item: -item[3]):
        if all(np.hypot(row[0] - k[0], row[1] - k[1]) >= max(row[2], k[2]) for k in kept):
            kept.append(row)
    return kept
