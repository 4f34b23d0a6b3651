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

Where the dark mask is dense (`SPARSE_COVERAGE`), the skin shows too little to be averaged. It is dense
either because the dark hair is, and then the skin between the dark hairs is itself a bright line, or
because it traces the skin between grey shafts. The skin is then read as the middle brightness
(`neutral_skin`), and the dark reading is revised only where much of its mask is no darker than that
(`mostly_skin`) and the bright shafts run as long as the dark traces they turn into skin
(`may_follow_whole_shafts` first, cheaply, then `follows_whole_shafts`). Those grey and white shafts
are read by their bodies, not by the glint along them (`body_contrast`), and joined across the
stretches where they fade (`faint_stretches`).
"""

from __future__ import annotations

import cv2
import numpy as np

from .calibration import Calibration
from .compiled import jit
from .hairs import group_medians, values_at
from .preprocess import Polarity, reduced_median, relative_contrast
from .segment import PEAK_RADIUS_UM, hysteresis

#: Grey and white shafts are looked for against the skin between the dark hairs (automatically) where the
#: dark hair mask covers at most this share of the field. A denser mask may be the skin between grey
#: shafts traced as dark hair (`MIN_SKIN_SHARE`); where it is dark hair (phantoms of long dense hair:
#: 0.2-0.6 covered), the skin between the hairs shows as bright lines of its own and white shafts are
#: cut into pieces by the dark hairs over them, so there only long shafts count (`DENSE_MIN_LENGTH_UM`).
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
#: ... and, among dense dark hair, from this one: shorter bright pieces there are mostly pieces of grey
#: shafts cut by the dark hairs and other grey shafts crossing them. Phantoms (`python
#: benchmarks/accuracy.py -n 8`, the four scenarios this reading changes: colour_noise, artefacts,
#: low_res, blur_noise): grey and white hairs found 43 % before this reading, 55 % with it; counting every
#: length from `MIN_LENGTH_UM` finds 64 % but as about two pieces each (extra pieces 29.2 -> 30.4 % of
#: the true hairs, median count error 8.4 -> 10.4 %), from 600 µm 9.5 %, from this length 7.4 %.
DENSE_MIN_LENGTH_UM = 1200.0
#: ... and up to this band width (µm): the thickest terminal hair is 110-120 µm, and wider bright bands
#: are skin between hairs or flakes (phantoms: 1.5 % of true grey and white shafts wider than 100 µm,
#: 76 % of the false ones).
MAX_BAND_UM = 110.0
#: Grey and white shafts are measured at this share of their height above the skin
#: (`densitometry.measure.measure_hairs`): unpigmented hair absorbs little, and its brightness follows
#: its chord, rounded across the shaft, not flat like an opaque dark shaft's (phantoms: median diameter
#: error -18 µm at half height, -7 µm at a quarter).
DIAMETER_LEVEL = 0.25
#: Grey and white shafts are measured by their colour (`off_skin_colour`) where their profile in it peaks
#: at least this many times as high as the skin's own 90th percentile (its texture and colour noise).
MIN_OFF_SKIN_SNR = 2.0
#: In a bright reading (grey, white or blond hair), only where that colour also leaves the skin's hue
#: towards neutral grey at least this closely (`towards_grey`, a cosine: white hair over any skin 1.0,
#: the grey_hair phantoms' grey hair 0.8-1.0 over tinted skin; blond hair over darker skin -0.9-0.5).
MIN_TOWARDS_GREY = 0.8
#: Where the dark hair mask is denser than `SPARSE_COVERAGE`, the skin is read as the photo's middle
#: brightness (`neutral_skin`): a median over this many thickest-hair widths, the window of the wide
#: median against which the polarity is decided (`densitometry.preprocess.detect_polarity`).
NEUTRAL_SKIN_WIDTHS = 3.0
#: Where the dark hair mask is dense, the grey and white reading revises it only where at least this share
#: of its traces' length is no darker than the middle brightness (`mostly_skin`): the mask is then dense
#: because it traces the skin between grey shafts (grey_hair phantoms: 0.45-0.81 of the length), not
#: because the dark hair is (phantoms of dense dark hair with a few grey hairs among it: 0.00-0.03; but
#: 41 of 56 real photos of dense dark hair pass, and `follows_whole_shafts` declines them).
MIN_SKIN_SHARE = 0.25
#: ... and keeps the grey and white shafts read against the middle brightness only where together they
#: are at least this share of the length of the dark traces they turn into skin (`follows_whole_shafts`;
#: grey_hair phantoms: 0.50-3.4; a real photo of dense dark grey-brown hair whose middle brightness is
#: that hair, D_143 of the example photos: 0.05, 12 bright gaps between the hairs for 149 hairs).
MIN_ADDED_LENGTH_SHARE = 0.25
#: A grey or white shaft's body is read up to this multiple of the seeding contrast (`body_contrast`).
BODY_CONTRAST_SEEDS = 1.0
#: Bright streaks (`streak_lengths_um`), thresholded at the seeding contrast and cut at every hair that
#: crosses, run up to this many times shorter than the shafts they are pieces of (`may_follow_whole_shafts`).
STREAK_SHORTFALL = 2.0
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
    grey : ndarray of float32, shape (H, W) or (H, W, C)
        Luma in [0, 1], or channels, each averaged on its own.
    hair_mask : ndarray of bool, shape (H, W)
        Pixels that are hair, not skin.
    calibration : Calibration
    fallback : ndarray of float32, shape of ``grey``
        Used where no skin lies within reach.

    Returns
    -------
    ndarray of float32, shape of ``grey``
    """
    height, width = grey.shape[:2]
    skin = cv2.dilate(hair_mask.view(np.uint8), np.ones((5, 5), np.uint8)) == 0
    sigma_px = calibration.px(SKIN_LEVEL_UM)
    factor = max(1, int(sigma_px // 4))
    size = (max(1, width // factor), max(1, height // factor))
    weight = cv2.resize(skin.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    per_channel = (...,) if grey.ndim == 2 else (..., None)
    weighted = cv2.copyTo(
        grey.astype(np.float32, copy=False), skin.view(np.uint8), np.zeros(grey.shape, np.float32)
    )
    weighted = cv2.resize(weighted, size, interpolation=cv2.INTER_AREA)
    small_sigma = sigma_px * size[0] / width
    weight = cv2.GaussianBlur(weight, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)[per_channel]
    weighted = cv2.GaussianBlur(weighted, (0, 0), small_sigma, borderType=cv2.BORDER_REFLECT)
    small_fallback = cv2.resize(fallback, size, interpolation=cv2.INTER_AREA)
    # Where the weight is negligible no skin lies within about three scales.
    level = np.where(weight > 1e-3, weighted / np.maximum(weight, 1e-3), small_fallback)
    return cv2.resize(level.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def off_skin_colour(rgb, hair_mask, calibration: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """How far each pixel's colour lies off the skin's hue: the body of grey and white hair.

    A translucent grey shaft can be as bright as the skin across its body, and its brightness then
    shows only the narrow glint along it (grey_hair phantoms: diameters 25-50 µm short in brightness).
    Its colour differs from the skin's across the whole body: unpigmented hair scatters light alike in
    every channel, while skin is tinted by haemoglobin and melanin. Each pixel's RGB is split into a
    part along the local skin colour S (`skin_level` of each channel, outside ``hair_mask``) and the
    rest, at right angles to it; the length of the rest over ``|S|`` is the contrast. A pixel that
    shows hair of colour H over a share ``a`` of it and skin over the rest has the rest ``a`` times H's:
    the contrast follows the hair's coverage as a brightness contrast does, whatever the two
    brightnesses (chromaticity would not: bright hair over dark skin would bend it outwards), and is 0
    on skin of any brightness.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        The photo in [0, 1].
    hair_mask : ndarray of bool, shape (H, W)
        Pixels that are hair (of either polarity, with the grey shafts' whole bodies), not skin.
    calibration : Calibration

    Returns
    -------
    contrast : ndarray of float32, shape (H, W)
    skin_rgb : ndarray of float32, shape (H, W, 3)
        The local skin colour S.
    """
    # Where no skin lies within reach, the pixel's own colour: no contrast to measure there.
    level = skin_level(rgb, hair_mask, calibration, fallback=rgb)
    out = np.empty(hair_mask.shape, np.float32)
    jit(_off_colour)(np.ascontiguousarray(rgb, dtype=np.float32), level, out)
    return out, level


def towards_grey(rgb, skin_rgb, traces_px) -> np.ndarray:
    """How nearly each trace's colour departs from the skin's towards neutral grey: the cosine between
    its colour at right angles to the skin colour (summed along its centreline) and neutral grey's.

    1 for grey or white hair, whose colour leaves the skin's hue towards grey whatever the coverage;
    lower, or negative, for pigmented hair that leaves it another way (blond hair over darker skin:
    yellow, not grey; also white hair yellowed with age). NaN where the skin itself is grey (no
    direction to compare) or the trace shows the skin's own colour.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
    skin_rgb : ndarray of float32, shape (H, W, 3)
        The local skin colour (`off_skin_colour`).
    traces_px : sequence of ndarray of float, shape (N, 2)
        The traces' centrelines.

    Returns
    -------
    ndarray of float, shape (len(traces_px),)
    """
    cosines = np.full(len(traces_px), np.nan)
    sizes = np.array([len(trace) for trace in traces_px], int)
    if not sizes.any():
        return cosines
    coords = np.concatenate([trace for trace in traces_px if len(trace)])
    pixels = values_at(rgb, coords).astype(float)
    skin = values_at(skin_rgb, coords).astype(float)
    unit = skin / np.maximum(np.linalg.norm(skin, axis=1, keepdims=True), 1e-6)
    # Each point's colour, and neutral grey (1, 1, 1), at right angles to the skin colour; summed per
    # trace.
    starts = (np.cumsum(sizes) - sizes)[sizes > 0]
    rest = np.add.reduceat(pixels - np.sum(pixels * unit, axis=1, keepdims=True) * unit, starts)
    grey = np.add.reduceat(1.0 - np.sum(unit, axis=1, keepdims=True) * unit, starts)
    rest_norm, grey_norm = np.linalg.norm(rest, axis=1), np.linalg.norm(grey, axis=1)
    # Else: grey skin, or the skin's own colour.
    valid = (rest_norm > 0) & (grey_norm > 1e-6 * sizes[sizes > 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.sum(rest * grey, axis=1) / (rest_norm * grey_norm)
    cosines[np.flatnonzero(sizes > 0)] = np.where(valid, found, np.nan)
    return cosines


def _off_colour(rgb, level, out):
    """`off_skin_colour`'s pixel loop: the length of each pixel's colour at right angles to the skin
    colour ``level``, over the skin colour's length, into ``out``."""
    height, width = out.shape
    for row in range(height):
        for col in range(width):
            along = norm2 = 0.0
            for channel in range(3):
                along += rgb[row, col, channel] * level[row, col, channel]
                norm2 += level[row, col, channel] * level[row, col, channel]
            norm2 = max(norm2, 1e-6)
            share = along / norm2  # of S in the pixel's colour
            rest2 = 0.0
            for channel in range(3):
                rest = rgb[row, col, channel] - share * level[row, col, channel]
                rest2 += rest * rest
            out[row, col] = np.sqrt(rest2 / norm2)


def neutral_skin(grey, calibration: Calibration, *, max_hair_diameter_um: float) -> np.ndarray:
    """The skin as the middle brightness: a wide median of the luma.

    Dark hair is darker than the skin and grey or white hair brighter, so where hairs of either
    polarity cover less than half of the window the median is skin, whatever the mix (grey_hair
    phantoms: median error 0-2 % of the skin's brightness, against +2-23 % for `skin_level` outside
    the dark reading's mask, which holds the skin between grey shafts, and +2-19 % for the dark
    reading's closing). Where one polarity covers more than half, the median is that hair: callers
    must tell (see `densitometry.analyze._with_grey_white_among_dense`). The wide median polarity is
    decided against (`densitometry.preprocess.reduced_median`, over `NEUTRAL_SKIN_WIDTHS` of the
    thickest hair's widths), smoothed.

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    median = reduced_median(
        grey, calibration, max_hair_diameter_um=max_hair_diameter_um, widths=NEUTRAL_SKIN_WIDTHS
    )
    median = cv2.GaussianBlur(median, (0, 0), 2.0)
    return cv2.resize(median, grey.shape[::-1], interpolation=cv2.INTER_LINEAR)


def drawn_shafts(shafts, shape, calibration: Calibration) -> np.ndarray:
    """Where traced shafts lie: each centreline drawn as wide as its band (``band_um``) and a pixel
    more on each side (the blurred edge), bool of ``shape``."""
    drawn = np.zeros(shape, np.uint8)
    for row, hair in shafts:
        thickness = max(1, round(calibration.px(row["band_um"]))) + 2
        points = np.round(hair.coords_px[:, ::-1]).astype(np.int32)
        # A thick line costs its width squared at every vertex: one vertex per quarter width draws
        # the same band at a third of the cost (2-3 % of its pixels differ, along its edges, where
        # the rounded vertices no longer jitter).
        step = max(1, thickness // 4)
        points = np.concatenate([points[:-1:step], points[-1:]]).reshape(-1, 1, 2)
        cv2.polylines(drawn, [points], False, 1, thickness=thickness)
    return drawn > 0


def follows_whole_shafts(added_lengths_um, dropped_lengths_um) -> bool:
    """Whether grey and white shafts read against the middle brightness are hair, not skin.

    Read against a middle brightness that is the skin, the grey shafts run whole, and the dark traces
    that turn out no darker than it are the skin between them, cut short at every shaft that crosses;
    read against one that is dense dark hair, it is the other way round (the polarity test of
    `densitometry.analyze._follows_whole_shafts`). So the bright reading stands where its shafts are at
    least as long (median) as the dark traces it turns into skin (phantoms: 1.2-2.3 times as long in
    grey_hair photos but one, 0.2-0.7 in dense dark hair), and where they account for a good part of
    the length of those traces (`MIN_ADDED_LENGTH_SHARE`): the skin between grey shafts lies along
    them, while the few bright gaps between dense dark hairs leave most of that hair unexplained.
    """
    if not len(dropped_lengths_um):
        return True
    return float(np.median(added_lengths_um)) >= float(np.median(dropped_lengths_um)) and float(
        np.sum(added_lengths_um)
    ) >= MIN_ADDED_LENGTH_SHARE * float(np.sum(dropped_lengths_um))


def mostly_skin(skin_lengths_um, hair_lengths_um) -> bool:
    """Whether a dense dark mask traces the skin between grey shafts: at least `MIN_SKIN_SHARE` of its
    traces' length (``skin_lengths_um``: the traces no darker than the middle brightness, against
    ``hair_lengths_um``: those darker) is skin."""
    skin, hair = float(np.sum(skin_lengths_um)), float(np.sum(hair_lengths_um))
    return skin > 0 and skin >= MIN_SKIN_SHARE * (skin + hair)


def body_contrast(bright_contrast, *, level) -> np.ndarray:
    """A glossy shaft's contrast read by its body: ``bright_contrast`` taken as at most
    `BODY_CONTRAST_SEEDS` times ``level`` (the seeding contrast).

    A grey or white shaft is translucent, and the specular glint of its cuticle is a narrow streak along
    it, often several times brighter than its body (phantoms: body 0.1-0.3 above the skin, glint
    0.4-0.9). Held against that glint, the body falls below the half maximum that separates close
    shafts (`densitometry.segment.segment`), so the mask and the measured diameter follow the glint (a
    third of the true diameter) and the shaft breaks where the glint fades. A shaft's body is as much
    hair as its glint once it is bright enough to seed a line, so its contrast is capped there.
    """
    return np.minimum(bright_contrast, np.float32(BODY_CONTRAST_SEEDS * level))


def faint_stretches(bright_contrast, *, low_contrast) -> np.ndarray:
    """Where a grey or white shaft may fade between its pieces: ``bright_contrast`` (lightly smoothed) at
    least half of ``low_contrast``, the growing contrast. A translucent shaft's brightness follows
    its chord and the skin under it, so it fades where it crosses lighter skin or thins; pieces that
    face each other across such a stretch are joined (`densitometry.hairs.join_collinear`)."""
    return cv2.GaussianBlur(bright_contrast, (0, 0), 1.0) >= 0.5 * low_contrast


def may_follow_whole_shafts(streak_lengths_um, dropped_lengths_um) -> bool:
    """A cheap first look at `follows_whole_shafts`, before the grey and white shafts are traced: whether
    the bright streaks' upper quartile, `STREAK_SHORTFALL` times over, is at least as long as the
    median dark trace that would be turned into skin (phantoms: 1.5-1.9 times in grey_hair photos,
    0.6-1.0 where the dark traces are dense dark hair)."""
    if not len(dropped_lengths_um):
        return True
    longest = (
        STREAK_SHORTFALL * float(np.percentile(streak_lengths_um, 75)) if len(streak_lengths_um) else 0.0
    )
    return longest >= float(np.median(dropped_lengths_um))


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
    return len(streak_lengths_um(bright_contrast, near_hair, calibration, level=level))


def streak_lengths_um(bright_contrast, near_hair, calibration: Calibration, *, level) -> np.ndarray:
    """The lengths (µm, each region's bounding-box diagonal) of the bright streaks that `bright_streaks`
    counts, float array (N,)."""
    streaks = (cv2.GaussianBlur(bright_contrast, (0, 0), 1.0) >= level) & ~near_hair
    # Grana's block-based labelling: a third of the time of OpenCV's default here.
    _, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        streaks.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA
    )
    stats = stats[1:]
    across = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    thin = stats[:, cv2.CC_STAT_AREA] <= across * calibration.px(STREAK_WIDTH_UM)
    return calibration.um_per_px * across[(across >= calibration.px(MIN_LENGTH_UM)) & thin]


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


def darker_than_skin(traces_px, grey, background, skin, *, low_contrast) -> np.ndarray:
    """Whether each dark trace is darker than the skin between the hairs, not only than the background.

    A dark reading's background is the skin's closing (`densitometry.preprocess.skin_background`):
    grey and white shafts raise it, and the skin between them then reads as dark lines. Such a trace
    loses its darkness against the skin level (`skin_level` or `neutral_skin`); a dark hair keeps it.

    Parameters
    ----------
    traces_px : sequence of ndarray of float, shape (N, 2)
        The traces' centrelines.
    grey, background, skin : ndarray of float32, shape (H, W)
        Brightness, the reading's background and the skin level. The relative darkness against each
        is taken at the centrelines only.
    low_contrast : float
        The growing threshold of the hysteresis.

    Returns
    -------
    ndarray of bool, shape (len(traces_px),)
        False where a trace's median darkness reaches ``low_contrast`` against the background but
        falls short of it against the skin by more than ``low_contrast`` or by more than half.
    """
    if not len(traces_px):
        return np.zeros(0, bool)
    # The medians of the float32 darkness, compared in float64.
    against_background, against_skin = median_darkness(traces_px, grey, background, skin)
    return _keeps_darkness(
        against_background.astype(np.float64), against_skin.astype(np.float64), low_contrast
    )


def median_darkness(traces_px, grey, *levels) -> tuple:
    """Each trace's median relative darkness (`densitometry.preprocess.relative_contrast`, dark
    positive, float32) against each of ``levels`` (float32 (H, W), like ``grey``), taken at the
    centrelines ``traces_px`` (a non-empty sequence of (N, 2) arrays) only: one array per level."""
    coords = np.concatenate(traces_px)
    owner = np.repeat(np.arange(len(traces_px)), [len(trace) for trace in traces_px])
    luma = values_at(grey, coords)
    return tuple(
        group_medians(relative_contrast(luma, values_at(level, coords), Polarity.DARK), owner, len(traces_px))
        for level in levels
    )


def _keeps_darkness(against_background, against_skin, low_contrast):
    """The rule of `darker_than_skin`, on the traces' median darkness."""
    # Faint in brightness (blond hair, read in blue or colour): nothing to judge by.
    faint = against_background < low_contrast
    return faint | (
        (against_skin >= 0.5 * against_background) & (against_background - against_skin <= low_contrast)
    )
