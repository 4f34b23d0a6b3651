"""Grey and white shafts among dark hair: the bright lines a dark reading does not count.

A photo is read with one polarity (`densitometry.preprocess.preprocess`): read as dark hair, its grey and
white hairs, brighter than the skin, are not counted, and the dark reading traces their dark rims and the
skin between them instead. Where the dark hair is sparse (clipped for a phototrichogram, or thinned), the
skin between the hairs shows its own brightness, so the grey and white shafts can be read against it as
well: `skin_level` averages the skin outside the dark hair, the lines brighter than that skin are found
with the dark reading's own ridge filter and hysteresis (less the bright rims of dark hair) and kept
apart from the dark hair (`apart_from_hair`), and `darker_than_skin` tells the dark traces that are
hair from those that were only darker than the closing background of the dark reading (skin between
bright shafts). `densitometry.analyze` traces the
bright lines, keeps the shafts that `compact_shafts` passes and that run apart from the dark hair, and
drops the dark traces that are no darker than the skin.

In dense dark hair the skin shows too little to be averaged and the skin between dark hairs is itself a
bright line: there the photo keeps its one reading (see `bright_streaks` and `SPARSE_COVERAGE`).
"""

from __future__ import annotations

import cv2
import numpy as np

from .calibration import Calibration
from .hairs import values_at
from .segment import PEAK_RADIUS_UM, hysteresis

#: Grey and white shafts are looked for (automatically) where the dark hair mask covers at most this share
#: of the field. Denser dark hair leaves the skin between the hairs too narrow to average, and shows
#: that skin as bright lines of its own (phantoms of long dense hair: 0.2-0.6 covered).
SPARSE_COVERAGE = 0.12
#: ... and where at least this many bright streaks stand apart from the dark hair (`bright_streaks`):
#: 32 clipped and miniaturised phantoms of dark hair alone show 0-3 (skin texture between the hairs; one
#: shows 5), the 9 with grey hair 4-17.
MIN_BRIGHT_STREAKS = 4
#: ... and at least this many grey or white shafts pass the tests of `densitometry.analyze`.
MIN_SHAFTS = 3
#: A grey or white shaft counts from this visible length (µm): shorter bright pieces are mostly skin
#: texture or glare between dark hairs.
MIN_LENGTH_UM = 200.0
#: ... and up to this band width (µm): the thickest terminal hair is 110-120 µm, and wider bright bands
#: are skin between hairs or flakes (phantoms: 1.5 % of true grey and white shafts wider than 100 µm,
#: 76 % of the false ones).
MAX_BAND_UM = 110.0
#: Grey and white shafts are measured at this share of their height above the skin
#: (`densitometry.measure.measure_hairs`): unpigmented hair absorbs little, and its brightness follows
#: its chord, rounded across the shaft, not flat like an opaque dark shaft's (phantoms: median diameter
#: error -18 µm at half height, -7 µm at a quarter).
DIAMETER_LEVEL = 0.25
#: A bright streak (`bright_streaks`) is at least `MIN_LENGTH_UM` long and, on average, at most this wide.
STREAK_WIDTH_UM = 55.0
#: A connected bright region is a blob (flake, glare, skin), not shafts, where its area exceeds this many
#: times the band area of the shafts traced in it (`compact_shafts`).
MAX_AREA_PER_BAND = 2.0
#: The skin level is averaged over about this distance (µm, Gaussian sigma): a few hair spacings, so it
#: follows vignetting and illumination but not single hairs.
SKIN_LEVEL_UM = 300.0


def skin_level(grey, hair_mask, calibration: Calibration, *, fallback) -> np.ndarray:
    """Local mean brightness of the skin between the hairs.

    The pixels outside ``hair_mask`` (grown by 2 px, the hairs' blurred edges) are averaged with a
    Gaussian weight over `SKIN_LEVEL_UM` (normalised convolution), at a resolution reduced to a quarter of
    that scale. The closing background of a dark reading (`densitometry.preprocess.skin_background`) is
    instead the skin's upper envelope, raised by grey hair and bright skin alike.

    Parameters
    ----------
    grey : ndarray of float32, shape (H, W)
        Luma in [0, 1].
    hair_mask : ndarray of bool, shape (H, W)
        Pixels that are hair, not skin.
    calibration : Calibration
    fallback : ndarray of float32, shape (H, W)
        Used where no skin lies within reach.

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    height, width = grey.shape
    skin = cv2.dilate(hair_mask.view(np.uint8), np.ones((5, 5), np.uint8)) == 0
    sigma_px = calibration.px(SKIN_LEVEL_UM)
    factor = max(1, int(sigma_px // 4))
    size = (max(1, width // factor), max(1, height // factor))
    weight = cv2.resize(skin.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    weighted = cv2.resize(np.where(skin, grey, 0.0).astype(np.float32), size, interpolation=cv2.INTER_AREA)
    small_sigma = sigma_px * size[0] / width
    weight = cv2.GaussianBlur(weight, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)
    weighted = cv2.GaussianBlur(weighted, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)
    small_fallback = cv2.resize(fallback, size, interpolation=cv2.INTER_AREA)
    # Where the weight is negligible no skin lies within about three scales.
    level = np.where(weight > 1e-3, weighted / np.maximum(weight, 1e-3), small_fallback)
    return cv2.resize(level.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def bright_streaks(bright_contrast, near_hair, calibration: Calibration, *, level) -> int:
    """How many bright streaks stand apart from the hair: a cheap first look for grey hair.

    Connected regions where ``bright_contrast`` (lightly smoothed) reaches ``level``, outside
    ``near_hair``, at least `MIN_LENGTH_UM` across (their bounding box's diagonal) and on average at
    most `STREAK_WIDTH_UM` wide (area over that diagonal).

    Parameters
    ----------
    bright_contrast : ndarray of float32, shape (H, W)
        Relative brightness above the skin (e.g. `Preprocessed.opposite_contrast` of a dark reading).
    near_hair : ndarray of bool, shape (H, W)
        The hair mask grown by `PEAK_RADIUS_UM` (`bridge_mask`).
    calibration : Calibration
    level : float
        Relative brightness of a streak (the seeding contrast of the hysteresis).
    """
    streaks = (cv2.GaussianBlur(bright_contrast, (0, 0), 1.0) >= level) & ~near_hair
    # Grana's block-based labelling: a third of the time of OpenCV's default here.
    _, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        streaks.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA
    )
    stats = stats[1:]
    across = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    thin = stats[:, cv2.CC_STAT_AREA] <= across * calibration.px(STREAK_WIDTH_UM)
    return int(np.count_nonzero((across >= calibration.px(MIN_LENGTH_UM)) & thin))


def apart_from_hair(bright_mask, ridge, lines, hair_mask, *, low_contrast, high_contrast) -> np.ndarray:
    """The mask of lines brighter than the skin (read as the dark reading reads its lines, with the dark
    contrast as the other polarity, so the bright rims of dark hair drop out), kept apart from the
    dark hair.

    Each pixel must itself be at least ``low_contrast`` brighter than the skin in ``lines`` (the bright
    contrast as the lines were found in it, after a 1 px blur) and lie off the dark ``hair_mask`` and
    its blurred edge (one pixel); what is left is seeded again where ``ridge.strength`` reaches
    ``high_contrast``.

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    mask = bright_mask & (cv2.GaussianBlur(lines, (0, 0), 1.0) >= low_contrast)
    mask &= cv2.dilate(hair_mask.view(np.uint8), np.ones((3, 3), np.uint8)) == 0
    return hysteresis(mask, ridge.strength >= high_contrast)


def bridge_mask(mask, calibration: Calibration) -> np.ndarray:
    """``mask`` grown by `PEAK_RADIUS_UM`: where a shaft of the other polarity may cross a hair.

    The hysteresis of each reading stops about that far short of a hair of the other polarity lying
    over it (the opposite-polarity test of `densitometry.segment.segment`), so the pieces of one shaft
    on either side of it face each other across that gap. Grown by a disc on a copy at half size
    (a tenth of the time), so the outline is accurate to about a pixel.
    """
    height, width = mask.shape
    half = cv2.resize(
        mask.view(np.uint8), (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA
    )
    radius = max(1, round(calibration.px(PEAK_RADIUS_UM) / 2))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grown = cv2.dilate(half, disc)
    return cv2.resize(grown, (width, height), interpolation=cv2.INTER_NEAREST) > 0


def compact_shafts(bright_mask, shafts, calibration: Calibration) -> list:
    """Whether each traced bright shaft lies in a region of shafts, not in a blob.

    Parameters
    ----------
    bright_mask : ndarray of bool, shape (H, W)
    shafts : list of (dict, TracedHair)
        Rows (with ``length_um`` and ``band_um``) and their traced hairs.
    calibration : Calibration

    Returns
    -------
    list of bool
        False for a shaft traced in a connected region whose area exceeds `MAX_AREA_PER_BAND` times
        the band area (length times band width) of all shafts traced in it: dandruff flakes, glare and
        the skin between hairs are wide blobs that a few traces cross.
    """
    count, labels = cv2.connectedComponents(bright_mask.view(np.uint8), connectivity=8)
    area = np.bincount(labels.ravel(), minlength=count).astype(float)
    band_area = np.zeros(count)
    regions = []
    for row, hair in shafts:
        on = values_at(labels, hair.coords_px)
        on = on[on > 0]
        region = int(np.bincount(on).argmax()) if len(on) else 0
        regions.append(region)
        band_area[region] += calibration.px(row["length_um"]) * calibration.px(row["band_um"])
    return [region > 0 and area[region] <= MAX_AREA_PER_BAND * band_area[region] for region in regions]


def darker_than_skin(coords_px, darkness, darkness_against_skin, *, low_contrast) -> bool:
    """Whether a dark trace is darker than the skin between the hairs, not only than the background.

    A dark reading's background is the skin's closing (`densitometry.preprocess.skin_background`):
    grey and white shafts raise it, and the skin between them then reads as dark lines. Such a trace
    loses its darkness against the skin level (`skin_level`, the hairs of both polarities left out); a
    dark hair keeps it.

    Parameters
    ----------
    coords_px : ndarray of float, shape (N, 2)
        The trace's centreline.
    darkness, darkness_against_skin : ndarray of float32, shape (H, W)
        Relative darkness (brightness contrast, dark positive) against the reading's background and
        against the skin level.
    low_contrast : float
        The growing threshold of the hysteresis.

    Returns
    -------
    bool
        False where the trace's median darkness reaches ``low_contrast`` against the background but
        falls short of it against the skin by more than ``low_contrast`` or by more than half.
    """
    against_background = float(np.median(values_at(darkness, coords_px)))
    against_skin = float(np.median(values_at(darkness_against_skin, coords_px)))
    if against_background < low_contrast:
        return True  # faint in brightness (blond hair, read in blue or colour): nothing to judge by
    return against_skin >= 0.5 * against_background and against_background - against_skin <= low_contrast
