"""Preprocess: flatten the illumination and turn the photo into a hair-contrast image.

The contrast image is the relative difference between a pixel and the local skin background,
``(background - grey) / background`` for dark hair and ``(grey - background) / background`` for grey or
white hair, so a value of 0.3 means "30 % darker (or brighter) than the surrounding skin" in every photo:
exposure, vignetting and skin tone change the background, not the contrast. No per-image maximum is used,
which keeps photos comparable (before/after depends on it). The blue channel adds to the brightness
contrast where it shows blond or red hair, and red or green where they show hair that neither
brightness nor blue shows (see `preprocess`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from .calibration import Calibration
from .compiled import jit
from .segment import area_resized

#: Rec. 601 luma weights (R, G, B).
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Smallest background level used as a denominator (avoids blow-ups in black corners).
_MIN_BACKGROUND = 0.04
#: `skin_background`: bright specks (dandruff, scale, sebum glints) shorter than this in every
#: direction leave the skin estimate of dark hair ...
_SPECK_WINDOW_UM = 75.0
#: ... which is lowered to at most this share above the estimate without them, where it stands more
#: above it than skin texture lifts it (on the 61 real example photos at 7 µm/px, 9 % of the pixels
#: stand more than 3 % above it; phantoms with dense specks: half of them, up to 11 %) ...
_SPECK_LIFT = 0.03
#: ... fully where it stands up to this share above, less and less up to twice as much, not at all
#: beyond: there dense crossing hair leaves only small openings of skin, which were taken for specks
#: (dense_crossings phantoms: 19 % of the pixels above 10 %, 6 % above 20 %; real photos: 0.5 % and
#: 0.01 %). At 15 % instead, long black hair covering most of a field read 5 % more hairs.
_SPECK_MAX_LIFT = 0.1
#: `_polarity`: a photo read as dark hair holds likely grey or white hair where bright
#: lines that are no flank of a dark one show this much more evidence than the dark ones, in brightness
#: and in blue. On the real example photos (all dark hair) these ratios stay below 3.3 and 4.1; white
#: hair drawn by a second renderer on light or dark skin shows 7-230 and 15-240.
_OWN_BRIGHT_EVIDENCE = 5.0
_OWN_BRIGHT_BLUE = 8.0
#: ... and worth a second, bright reading (see `densitometry.analyze.analyze`) from this much more
#: in brightness and in blue.
_SECOND_LOOK_EVIDENCE = 2.5
_SECOND_LOOK_BLUE = 3.0
#: `blue_channel_weight`: the blue channel starts to count where it shows this much more line structure
#: than brightness alone, and counts fully this much further on.
_BLUE_FROM, _BLUE_SPAN = 1.3, 0.5
#: `_red_green_weight`: red or green counts as blue does (`blue_channel_weight`), from this much more
#: line structure than the contrast in use to this much further on. Later than blue's ramp: on the 61
#: real example photos (dark hair, 7 µm/px) red shows 1.47 times at most (median 1.09; green 1.01 at
#: most), dark hair being dark in every channel; on eight photos each of the generator's colour_noise,
#: oily_speckle, clinical and low_contrast scenarios 1.04 at most. Ash-blond hair on pink skin drawn
#: by a second renderer (`benchmarks/second_renderer.py --blond-hair`, seed 6): 3-4.
_RED_GREEN_FROM, _RED_GREEN_SPAN = 1.6, 0.5
#: `colour_contrast` (blond or red hair shown by colour alone): looked for only where blue shows this
#: much more line structure than brightness (the ratio of `blue_channel_weight`; real example photos
#: of dark hair 0.94-1.37, median 1.06, and most of them stop at the next test).
_COLOUR_PRESCREEN = 1.12
#: ... or where a cheaper look at the colour lines (`_reduced_colour_ratio`) finds them one-sided
#: (`_ONE_SIDED_FROM`): on those 61 photos 0.99 at most but for one (1.39, whose colour gain is then
#: 0 all the same); on the phantoms above that stop at `_COLOUR_PRESCREEN`, 0.94 at most.
#: ... and where blue does show more, only where that cheaper look finds them at least this one-sided:
#: the full look then costs 12-17 ms of a 1280x960 photo and gives a gain only from a full ratio of
#: `_ONE_SIDED_FROM`. Phantoms of every scenario and of the second renderer (dark and blond hair, 188
#: photos): the cheaper ratio is 0.56-1.8 times the full one, the full ratio stays below 0.97 where
#: the cheaper one is under 1.0, and every photo given a gain shows at least 1.43 in the cheaper look.
_COLOUR_LOOK_FROM = 1.0
#: ... the colour contrast is raised by a gain of up to `MAX_COLOUR_GAIN` as its lines are one-sided:
#: the strongest lines where blue is absorbed more than red outweigh those of the opposite sign by a
#: ratio from `_ONE_SIDED_FROM` (gain 0) to `_ONE_SIDED_FROM + _ONE_SIDED_SPAN` (full gain). Hair
#: pigment only ever absorbs blue more than red, while a camera's colour noise is symmetric (the 13
#: real example photos that pass `_COLOUR_PRESCREEN` at 7 µm/px: 0.35-0.94; eight low_contrast
#: phantoms: 1.6-11.5).
MAX_COLOUR_GAIN = 6.0
_ONE_SIDED_FROM, _ONE_SIDED_SPAN = 1.3, 0.5
#: ... as far as the gain keeps the colour noise of the skin (at hair scale) within this contrast.
_COLOUR_NOISE_CONTRAST = 0.04
#: Where blue shows at least `_GLINT_BLUE_FROM` times the line structure of brightness (the ratio of
#: `blue_channel_weight`: only blond or red hair does; the 61 real example photos of dark hair 1.37 at
#: most at 7 µm/px), the colour lines of the other sign are left out of the one-sidedness where the
#: photo is brighter than the skin by `_GLINT_CONTRAST` within `_GLINT_REACH_PX` (reduced pixels, about
#: a shaft's width) of colour of the hair's sign above `_GLINT_BESIDE`: the neutral glint down a glossy
#: blond shaft is as bluish a line as the shaft around it is a yellowish one, and made such photos look
#: two-sided (clipped phantom seed 2009: 1.13, 1.66 without its glints). White specks of sebum or scale
#: are as bright and bluish but lie on the skin: left out too, they let blond hair among them be read
#: in colour where the specks are traced (oily_speckle seed 1014: 73 hairs for 28, 28 with the reach).
_GLINT_BLUE_FROM, _GLINT_CONTRAST = 2.0, 0.03
_GLINT_BESIDE, _GLINT_REACH_PX = 0.06, 2
#: Colour within this reach of a clearly visible hair (relative contrast at least `_VISIBLE_HAIR`) is
#: that hair's own colour (brown hair, colour fringes), not a blond hair beside it.
_VISIBLE_HAIR = 0.3
_VISIBLE_HAIR_REACH_UM = 60.0
#: The colour reading is decided at this one shaft width (as `densitometry.segment.line_evidence`).
_TYPICAL_SHAFT_UM = 70.0
#: `field_of_view`: the surround outside the imaged field is darker than this share of the skin's
#: brightness (the median of the pixels above `_SURROUND_MAX_LUMA`), wider than any hair, reaches the
#: photo's border and covers at least `_SURROUND_MIN_SHARE` of the photo.
_SURROUND_DARKNESS = 0.25
_SURROUND_MAX_LUMA = 0.15
_SURROUND_MIN_SHARE = 0.01
#: ... and a field smaller than this share of the photo is no field: the photo is just dark.
_MIN_FIELD_SHARE = 0.05
#: `_frame_bands`: lines along the photo's edge whose luma varies by at most this much (standard
#: deviation; a JPEG-compressed white margin 0.02 at most, on the 61 real example photos) and that are
#: white or black (within `_BAND_SATURATION` of 1 or 0) or lie at least `_BAND_MIN_DIFFERENCE` from
#: the photo's median luma are a flat margin of the frame, and so are `_BAND_MARGIN_PX` more lines
#: inside it (where JPEG blurs its edge into the photo).
_BAND_MAX_STD = 0.04
_BAND_SATURATION = 0.06
_BAND_MIN_DIFFERENCE = 0.25
_BAND_MARGIN_PX = 2
#: ... where the photo beyond that differs from it by at least this much (mean luma of the line there):
#: a margin ends in a sharp edge (the example photos: 0.39-0.81), skin clipped to white by
#: overexposure fades into the photo.
_BAND_MIN_STEP = 0.15
#: A round field is at least this share of the photo's shorter side in radius.
_MIN_FIELD_RADIUS = 0.3


class Polarity(str, enum.Enum):
    """Whether hairs are darker or brighter than the scalp."""

    AUTO = "auto"
    DARK = "dark"  #: dark hair on lighter skin (black, brown, blond on pale skin)
    BRIGHT = "bright"  #: grey or white hair, brighter than the skin


@dataclass(frozen=True)
class Preprocessed:
    """Output of `preprocess`.

    Attributes
    ----------
    contrast : ndarray of float32, shape (H, W)
        Relative hair contrast against the local skin background (0 on skin, > 0 on hair).
    grey : ndarray of float32, shape (H, W)
        Luma of the photo in [0, 1].
    opposite_contrast : ndarray of float32, shape (H, W), optional
        Contrast of the other polarity against the same skin (e.g. white hair in a dark-hair reading),
        used to recognise the rims that camera sharpening draws along such hairs.
    blue_weight, red_weight, green_weight : float
        Share of each colour channel's extra contrast in ``contrast`` (see `preprocess`).
    background : ndarray of float32, shape (H, W)
        Estimated skin brightness.
    polarity : Polarity
        DARK or BRIGHT (never AUTO).
    bright_lines : bool
        The polarity was decided DARK, yet the photo shows many bright hair-like lines that are no
        flank of a dark hair, in brightness and in blue (see `_polarity`): likely grey or white hair,
        which the dark reading does not count.
    bright_plausible : bool
        The polarity was decided DARK, yet bright lines that are no flank of a dark hair show
        `_SECOND_LOOK_EVIDENCE` times the evidence of the dark ones in brightness and
        `_SECOND_LOOK_BLUE` times in blue: a bright reading may be the right one.
    blue_ratio : float
        The photo's `blue_evidence_ratio` (NaN where ``blue_weight`` was given).
    colour_ratio : float
        How one-sided the photo's colour lines are on a reduced copy (`_reduced_colour_ratio`), in a
        dark reading (NaN where the red and green weights were given and blue shows lines, and in a
        bright reading).
    """

    contrast: np.ndarray
    grey: np.ndarray
    background: np.ndarray
    polarity: Polarity
    opposite_contrast: np.ndarray | None = None
    blue_weight: float = 0.0
    red_weight: float = 0.0
    green_weight: float = 0.0
    bright_lines: bool = False
    bright_plausible: bool = False
    blue_ratio: float = np.nan
    colour_ratio: float = np.nan


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """Luma in [0, 1] of an RGB float image of shape (H, W, 3)."""
    return np.ascontiguousarray(rgb @ _LUMA, dtype=np.float32)


def skin_background(
    grey, calibration: Calibration, *, polarity: Polarity, max_hair_diameter_um: float, size=None
):
    """Skin brightness under the hairs.

    A grey-level closing (dark hair) or opening (bright hair) with a disk wider than the thickest
    hair removes the hairs and keeps the skin, and the dual operation then removes specks of the other
    polarity; it is computed at reduced resolution and smoothed. ``grey`` may be (H, W) or (H, W, C):
    each channel is filtered on its own. ``size`` (width, height): of the result, default ``grey``'s.

    Bright specks closer together than the disk (dense dandruff or scale, sebum glints) survive the
    closing's second step: every disk holds one, so the closing lifts the whole skin to their level and
    the skin between them reads as faint dark hair. For dark hair the same estimate is therefore also
    made with such specks taken out (`_without_specks`, at a scale where its lines span
    `_SPECK_WINDOW_UM`), and where the closing stands more than `_SPECK_LIFT` above it (more than skin
    texture lifts it) it is lowered to that share above it; less and less where it stands more than
    `_SPECK_MAX_LIFT` above, and not at all from twice that: there dense hair leaves only small openings
    of skin, and those were taken for specks.
    """
    height, width = grey.shape[:2]
    diameter_px = calibration.px(max_hair_diameter_um)
    # Work at a resolution where the thickest hair is ~4 px wide: the background is smooth anyway.
    factor = max(1, int(diameter_px // 4))
    small_size = (max(1, width // factor), max(1, height // factor))
    radius = max(2, int(np.ceil(1.5 * diameter_px / factor / 2)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    # Close then open (dark hair) removes the hairs first and then bright specks (dandruff, glare
    # dots) that a closing alone would spread into the background, darkening the skin around them.
    first, second = (
        (cv2.MORPH_CLOSE, cv2.MORPH_OPEN) if polarity is Polarity.DARK else (cv2.MORPH_OPEN, cv2.MORPH_CLOSE)
    )

    def skin(small):
        small = cv2.morphologyEx(small, first, kernel, borderType=cv2.BORDER_REFLECT)
        small = cv2.morphologyEx(small, second, kernel, borderType=cv2.BORDER_REFLECT)
        return cv2.GaussianBlur(small, (0, 0), radius, borderType=cv2.BORDER_REFLECT)

    background = skin(area_resized(grey, small_size))
    if polarity is Polarity.DARK:
        # At a resolution where the 5 px lines of `_without_specks` span the speck window.
        reduce = min(factor, max(1, round(calibration.px(_SPECK_WINDOW_UM) / 5)))
        reduced = _without_specks(area_resized(grey, (max(1, width // reduce), max(1, height // reduce))))
        without_specks = skin(area_resized(reduced, small_size))
        lift = background / np.maximum(without_specks, np.float32(_MIN_BACKGROUND))
        lowered = np.minimum(background, without_specks * np.float32(1.0 + _SPECK_LIFT))
        # Fully lowered up to _SPECK_MAX_LIFT, not at all from twice as much: no step in the skin.
        trust = np.clip((1.0 + 2.0 * _SPECK_MAX_LIFT - lift) / _SPECK_MAX_LIFT, 0.0, 1.0)
        background += trust * (lowered - background)  # float32 throughout
    return cv2.resize(background, size or (width, height), interpolation=cv2.INTER_LINEAR)


def _line_element(angle_deg) -> np.ndarray:
    """A line of 5 px through the middle of a 7x7 structuring element."""
    element = np.zeros((7, 7), np.uint8)
    dx, dy = 2.4 * np.cos(np.radians(angle_deg)), 2.4 * np.sin(np.radians(angle_deg))
    cv2.line(element, (round(3 - dx), round(3 - dy)), (round(3 + dx), round(3 + dy)), 1)
    return element


_SPECK_LINES = tuple(_line_element(angle) for angle in np.arange(0.0, 180.0, 22.5))


def _without_specks(image) -> np.ndarray:
    """The image with bright spots shorter than 5 px in every direction taken out: the largest of
    grey-level openings with lines of 5 px in 8 directions. Bright strips longer than that in some
    direction (the skin between close hairs, a bright hair) stay."""
    image = np.ascontiguousarray(image, dtype=np.float32)
    out = None
    for line in _SPECK_LINES:
        opened = cv2.morphologyEx(image, cv2.MORPH_OPEN, line, borderType=cv2.BORDER_REFLECT)
        out = opened if out is None else np.maximum(out, opened, out=out)
    return out


def relative_contrast(grey, background, polarity: Polarity) -> np.ndarray:
    """Relative contrast of hair against skin (positive on hair), float32.

    Two float32 arrays of one shape (the whole-photo case) go through one compiled pass, a third of the
    memory traffic of numpy's three; the result is the same bit for bit (the same float32 operations).
    """
    if (
        isinstance(grey, np.ndarray)
        and isinstance(background, np.ndarray)
        and grey.dtype == background.dtype == np.float32
        and grey.shape == background.shape
    ):
        out = np.empty(grey.shape, np.float32)
        sign = np.float32(1.0 if polarity is Polarity.DARK else -1.0)
        jit(_relative_contrast_kernel)(grey.ravel(), background.ravel(), sign, out.ravel())
        return out
    denominator = np.maximum(background, np.float32(_MIN_BACKGROUND))
    difference = background - grey if polarity is Polarity.DARK else grey - background
    return np.divide(difference, denominator, dtype=np.float32)


def _relative_contrast_kernel(grey, background, sign, out):
    floor = np.float32(_MIN_BACKGROUND)
    for index in range(grey.size):
        out[index] = sign * (background[index] - grey[index]) / max(background[index], floor)


def preprocess(
    rgb,
    calibration: Calibration,
    *,
    polarity=Polarity.AUTO,
    max_hair_diameter_um=150.0,
    blue_weight=None,
    red_weight=None,
    green_weight=None,
):
    """Grey conversion, illumination flattening and polarity.

    The contrast is the brightness (luma) contrast, raised where the blue channel shows more:
    ``luma + blue_weight * max(blue - luma, 0)`` (both relative contrasts, clipped at 0). Hair pigment
    absorbs blue most, so blond and red hair, which can be as bright as pale skin, stand out in blue;
    but blue is also the noisiest channel of consumer cameras (JPEG keeps colour at half resolution and
    quantises it coarsely), and on dark hair it adds that noise and nothing else. See
    `blue_channel_weight` for the automatic weight. In a reading of dark hair, red and green count
    likewise where they show clearly more line structure than that contrast (`_red_green_weight`):
    the contrast is then the highest of it and ``luma + weight * max(channel - luma, 0)`` for each.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        Photo in [0, 1] (see `densitometry.io.load_image`).
    calibration : Calibration
    polarity : Polarity or str
        ``"auto"`` decides from the photo (see `detect_polarity`), ``"dark"`` or ``"bright"`` forces it.
    max_hair_diameter_um : float
        Thickest hair expected; sets the background filter size.
    blue_weight, red_weight, green_weight : float, optional
        0 (the channel adds nothing) to 1; default: decided from the photo (`blue_channel_weight`,
        `_red_green_weight`). Red and green count in readings of dark hair only (else 0).

    Returns
    -------
    Preprocessed
    """
    polarity = Polarity(polarity)
    grey = to_grey(rgb)
    blue = np.ascontiguousarray(rgb[..., 2], dtype=np.float32)
    bright_lines = bright_plausible = False
    if polarity is Polarity.AUTO:
        polarity, bright_lines, bright_plausible = _polarity(grey, blue, calibration, max_hair_diameter_um)
    background = skin_background(
        grey, calibration, polarity=polarity, max_hair_diameter_um=max_hair_diameter_um
    )
    blue_background = skin_background(
        blue, calibration, polarity=polarity, max_hair_diameter_um=max_hair_diameter_um
    )
    luma, blue_extra, opposite_luma, opposite_extra = _contrasts(
        grey, background, blue, blue_background, polarity
    )
    blue_ratio = colour_ratio = np.nan
    if blue_weight is None:
        blue_ratio = blue_evidence_ratio(luma, luma + blue_extra, calibration)
        blue_weight = blue_channel_weight(blue_ratio)
    weight = np.float32(blue_weight)
    contrast, opposite = luma, opposite_luma  # blue adds nothing at weight 0 (most dark hair)
    if weight > 0.0:
        contrast = luma + weight * blue_extra
        opposite = opposite_luma + weight * opposite_extra
    red_green = [0.0, 0.0]
    if polarity is Polarity.DARK:
        red_green = [red_weight, green_weight]
        reduced = None
        if None in red_green or blue_ratio < _COLOUR_PRESCREEN:
            reduced = _reduce(rgb, luma, contrast, calibration, max_hair_diameter_um)
        for channel in (0, 1):
            if red_green[channel] is None:  # weighed against the contrast in use: brightness and blue
                red_green[channel] = _red_green_weight(reduced, channel)
            if red_green[channel] > 0.0:
                # As blue adds (`_contrasts`), the channel against its own skin background; the darkest
                # channel counts: a hair shows in the channel where its colour differs most.
                own = _channel_contrast(rgb[..., channel], calibration, max_hair_diameter_um)
                weight = np.float32(red_green[channel])
                contrast = np.maximum(contrast, luma + weight * np.maximum(own - luma, 0.0))
                opposite = np.maximum(
                    opposite, opposite_luma + weight * np.maximum(-own - opposite_luma, 0.0)
                )
        if reduced is not None:
            colour_ratio = _reduced_colour_ratio(reduced)
    return Preprocessed(
        contrast,
        grey,
        background,
        polarity,
        opposite,
        float(blue_weight),
        *(float(value) for value in red_green),
        bright_lines,
        bright_plausible,
        float(blue_ratio),
        float(colour_ratio),
    )


def _contrasts(grey, background, blue, blue_background, polarity: Polarity):
    """The parts of `preprocess`'s contrasts, in one pass over the photo: the brightness contrast
    ``luma`` (`relative_contrast`, clipped at 0), what blue adds to it (``max(blue - luma, 0)``, blue's
    relative contrast against its own background), and both for the other polarity, whose signed
    contrasts are the exact negatives (four float32 (H, W) arrays)."""
    outputs = [np.empty(grey.shape, np.float32) for _ in range(4)]
    sign = np.float32(1.0 if polarity is Polarity.DARK else -1.0)
    jit(_contrast_kernel)(
        grey.ravel(),
        background.ravel(),
        blue.ravel(),
        blue_background.ravel(),
        sign,
        *(out.ravel() for out in outputs),
    )
    return outputs


def _contrast_kernel(
    grey, background, blue, blue_background, sign, luma, extra, opposite_luma, opposite_extra
):
    floor, zero = np.float32(_MIN_BACKGROUND), np.float32(0.0)
    for index in range(grey.size):
        luma_signed = sign * (background[index] - grey[index]) / max(background[index], floor)
        blue_signed = sign * (blue_background[index] - blue[index]) / max(blue_background[index], floor)
        luma[index] = max(luma_signed, zero)
        extra[index] = max(blue_signed - luma[index], zero)
        opposite_luma[index] = max(-luma_signed, zero)
        opposite_extra[index] = max(-blue_signed - opposite_luma[index], zero)


#: `_reduce`: the colour channels are weighed on a copy reduced to about this many pixels per typical
#: shaft's scale (the line filter's sigma): coarser than `densitometry.segment.line_evidence`'s ~1.5-3,
#: which would cost more than the rest of `preprocess` where the photo is taken at ~8 µm/px.
_COLOUR_LOOK_PX_PER_SCALE = 1.0


class _Reduced(NamedTuple):
    """A photo's contrasts on a copy reduced to ~`_COLOUR_LOOK_PX_PER_SCALE` px per typical shaft's
    scale (`_reduce`)."""

    calibration: Calibration
    luma: np.ndarray  #: brightness contrast, clipped at 0
    contrast: np.ndarray  #: the contrast in use (brightness, plus blue where it counts)
    evidence: float  #: the contrast in use's `densitometry.segment.line_evidence`
    channels: np.ndarray  #: (h, w, 3) signed relative contrast of R, G, B, dark positive


def _reduce(rgb, luma, contrast, calibration, max_hair_diameter_um) -> _Reduced:
    """`_Reduced` of one photo from its brightness contrast and contrast in use: each colour channel
    against its own skin background (`skin_background` on a copy reduced further)."""
    from .segment import line_evidence

    # The skin background at ~2 px per thickest hair: the closing still removes it, and the background is
    # smooth anyway.
    cut, small, channels = _reduced_channels(
        rgb, calibration, _COLOUR_LOOK_PX_PER_SCALE, max_hair_diameter_um, background_px_per_hair=2.0
    )
    size = channels.shape[1::-1]
    contrast = cv2.resize(contrast[cut], size, interpolation=cv2.INTER_AREA)
    return _Reduced(
        small,
        cv2.resize(luma[cut], size, interpolation=cv2.INTER_AREA),
        contrast,
        line_evidence(contrast, small),
        channels,
    )


def _reduced_channels(rgb, calibration, px_per_scale, max_hair_diameter_um, *, background_px_per_hair):
    """The photo reduced to ~``px_per_scale`` px per typical shaft's scale, each colour channel against
    its own skin background (`skin_background` on a copy reduced further, to ~``background_px_per_hair``
    px per thickest hair).

    Reduced by a whole factor, the photo cut to a whole number of reduced pixels (at most factor - 1 px
    of its border): an area reduction by a whole factor costs a fraction of any other.

    Returns
    -------
    cut : tuple of slice
        The part of the photo reduced (index the photo's other images with it before reducing them).
    calibration : Calibration of the reduced copy
    channels : ndarray of float32, shape (h, w, 3)
        Signed relative contrast of R, G and B, dark positive.
    """
    factor = max(1, int(calibration.px(_TYPICAL_SHAFT_UM) / 2.0 // px_per_scale))
    height, width = (max(8, length // factor) for length in rgb.shape[:2])
    cut = (slice(0, height * factor), slice(0, width * factor))
    rgb = rgb[cut]
    small = Calibration(calibration.um_per_px * rgb.shape[1] / width)
    channels = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    coarser = max(1, round(small.px(max_hair_diameter_um) / background_px_per_hair))
    coarse_size = (max(4, width // coarser), max(4, height // coarser))
    background = skin_background(
        cv2.resize(channels, coarse_size, interpolation=cv2.INTER_AREA),
        Calibration(small.um_per_px * width / coarse_size[0]),
        polarity=Polarity.DARK,
        max_hair_diameter_um=max_hair_diameter_um,
        size=(width, height),
    )
    return cut, small, relative_contrast(channels, background, Polarity.DARK)


def _red_green_weight(reduced: _Reduced, channel) -> float:
    """How much of the red (``channel`` 0) or green (1) channel's extra contrast to use in a dark
    reading of one photo (0-1), decided on its `_reduce` copy.

    Hair whose colour differs from the skin's mostly in red or green (ash-blond or grey-brown hair on
    pink skin is less red than the skin, and little darker in blue or in brightness) shows in that
    channel alone. The weight is decided as blue's is (`blue_channel_weight`), from the channel's line
    evidence (`densitometry.segment.line_evidence`) over that of the contrast in use (brightness, plus
    blue where it counts), with a later ramp (`_RED_GREEN_FROM`): on dark hair red shows a little more
    than brightness too. A channel whose dark lines are mostly hair brighter than the skin, in that
    channel or in blue, does not count (`_own_dark_lines`).
    """
    from .segment import line_evidence

    own = np.maximum(reduced.channels[..., channel], reduced.contrast)
    evidence = reduced.evidence
    ratio = line_evidence(own, reduced.calibration) / evidence if evidence > 0.0 else np.inf
    weight = float(np.clip((ratio - _RED_GREEN_FROM) / _RED_GREEN_SPAN, 0.0, 1.0))
    if weight > 0.0 and not _own_dark_lines(
        np.ascontiguousarray(reduced.channels[..., channel]),
        np.ascontiguousarray(reduced.channels[..., 2]),
        reduced.calibration,
    ):
        return 0.0
    return weight


def _reduced_colour_ratio(reduced: _Reduced) -> float:
    """How one-sided the colour lines (`colour_contrast`) of a reduced copy are (`_one_sidedness`).

    A cheaper look than `colour_contrast`'s own (coarser, with a coarser skin background, without the
    wide median's correction of skin-colour patches, and over the whole photo, not the field of view
    alone), to find the photos worth that look whose blue channel shows no more lines than
    brightness: where blond hair is brighter than the skin in red, brightness shows the skin along
    its flanks as dark lines, as many as blue shows hairs.
    """
    colour = reduced.channels[..., 2] - reduced.channels[..., 0]
    _clear_near_visible_hair(colour, reduced.luma, reduced.calibration)
    return _one_sidedness(colour, reduced.calibration)[0]


def _own_dark_lines(channel, blue, calibration) -> bool:
    """Whether one colour channel's dark lines are mostly hair darker than the skin.

    Its line evidence (response above 0.05 at one typical shaft width, as
    `densitometry.segment.line_evidence`) counts as its own where the line is no flank of a stronger
    bright line in that channel (as `densitometry.segment.polarity_evidence` tells them apart), and no
    line brighter than the skin in blue lies beside it: hair brighter than the skin in the channel
    shows a fainter dark line along each flank, and hair darker than the skin in red but brighter in
    blue has little pigment (which absorbs blue most): grey or white hair on pink skin, which the bright
    reading counts. ``channel``, ``blue``: their signed relative contrast against the skin (as
    `_reduce` gives them), dark positive.
    """
    from .segment import typical_line_response

    (dark, bright), sigma = typical_line_response(channel, calibration, _TYPICAL_SHAFT_UM, both_signs=True)
    (blue_dark, blue_bright), _ = typical_line_response(blue, calibration, _TYPICAL_SHAFT_UM, both_signs=True)
    side = 2 * int(np.ceil(2.0 * sigma)) + 1
    kernel = np.ones((side, side), np.uint8)
    blue_own_bright = np.where(blue_bright >= cv2.dilate(blue_dark, kernel), blue_bright, 0.0)
    evidence = np.maximum(dark - 0.05, 0.0)
    own = (dark >= cv2.dilate(bright, kernel)) & (cv2.dilate(blue_own_bright, kernel) <= 0.05)
    return float(np.sum(evidence[own])) > 0.5 * float(np.sum(evidence))


def blue_evidence_ratio(luma_contrast, colour_contrast, calibration: Calibration) -> float:
    """Line evidence (`densitometry.segment.line_evidence`) of the brightness-plus-blue contrast over
    that of brightness alone (inf where brightness shows no lines and colour does, 0 where neither)."""
    from .segment import line_evidence

    luma = line_evidence(luma_contrast, calibration)
    colour = line_evidence(colour_contrast, calibration)
    if luma <= 0.0:
        return np.inf if colour > 0.0 else 0.0
    return colour / luma


def blue_channel_weight(ratio: float) -> float:
    """How much of the blue channel's extra contrast to use on one photo (0-1), from its
    `blue_evidence_ratio`.

    Blue counts fully where it shows at least 80 % more line-like structure than brightness alone
    (blond or red hair that brightness barely shows), not at all where it shows less than 30 % more
    (dark hair: what blue adds is mostly its colour noise), linearly in between. On the 61 real
    example photos (dark hair, consumer scalp microscopes) the ratio is 0.94-1.37, median 1.06; on
    phantoms with blond hair on pale skin 1.1-2.3.
    """
    return float(np.clip((ratio - _BLUE_FROM) / _BLUE_SPAN, 0.0, 1.0))


class ColourContrast(NamedTuple):
    """Output of `colour_contrast`: the contrast for a second reading and the gain it was made with."""

    contrast: np.ndarray
    gain: float


def colour_contrast(
    rgb,
    prepared: Preprocessed,
    calibration: Calibration,
    *,
    gain=None,
    field=None,
    max_hair_diameter_um=150.0,
) -> ColourContrast | None:
    """Contrast of blond or red hair that colour shows better than brightness, or None.

    Blond hair on pale skin can be as bright as the skin, and in blue alone it drowns in the camera's
    noise; hair pigment (eumelanin and pheomelanin alike) absorbs blue more than red, skin
    (haemoglobin) the other way round. The colour contrast is the blue channel's relative contrast
    minus the red one's, each against its own skin background: shading, skin texture and the fine
    noise of a JPEG photo (whose colour is stored coarser than its brightness) darken all channels
    alike and cancel. Less its wide median (skin-colour patches), its positive part counts, except
    within `_VISIBLE_HAIR_REACH_UM` of a clearly visible hair (that hair's own colour). Raised by
    ``gain``, it gives the contrast ``max(prepared.contrast, luma + gain * colour)`` for a second
    reading of the photo (`densitometry.analyze`).

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        The photo ``prepared`` was made from.
    prepared : Preprocessed
    calibration : Calibration
    gain : float, optional
        Default: decided from the photo's strongest colour lines (`_colour_gain`); 0 where a cheaper
        look at them (``prepared.colour_ratio``) finds them far from one-sided (`_COLOUR_LOOK_FROM`),
        or not one-sided (`_ONE_SIDED_FROM`) while the blue channel shows little more line structure
        than brightness (`_COLOUR_PRESCREEN`).
    field : ndarray of bool, shape (H, W), optional
        The field of view (`field_of_view`): the gain is decided on it alone (outside it,
        `fill_outside` leaves smooth skin, which would hide the colour noise of the field).
    max_hair_diameter_um : float

    Returns
    -------
    ColourContrast or None
        None where the gain is 0 or the photo is read as bright hair.
    """
    if prepared.polarity is not Polarity.DARK or gain == 0.0:
        return None
    if gain is None and (
        (prepared.blue_ratio < _COLOUR_PRESCREEN and not prepared.colour_ratio >= _ONE_SIDED_FROM)
        or prepared.colour_ratio < _COLOUR_LOOK_FROM
    ):
        return None
    signed = relative_contrast(prepared.grey, prepared.background, Polarity.DARK)  # dark positive
    luma = np.maximum(signed, 0.0)
    if gain is None:
        # Decided on copies reduced to ~1.5 px per typical shaft's scale, as `line_evidence` works, the
        # skin background at ~4 px per thickest hair, as `skin_background` takes it (coarser, it leaves
        # more of the skin's colour patches, whose spread lowers the gain: low_contrast phantoms miss
        # 2 % more hairs at 2 px).
        cut, small, channels = _reduced_channels(
            rgb, calibration, 1.5, max_hair_diameter_um, background_px_per_hair=4.0
        )
        size = channels.shape[1::-1]
        small_luma = cv2.resize(luma[cut], size, interpolation=cv2.INTER_AREA)
        if np.isnan(prepared.blue_ratio):  # the blue weight was given
            blue = channels[..., 2]
            if blue_evidence_ratio(small_luma, np.maximum(blue, small_luma), small) < _COLOUR_PRESCREEN:
                return None
        inside = None
        if field is not None:
            inside = cv2.resize(field[cut].view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        colour = _colour_lines(channels[..., 2], channels[..., 0], small_luma, small, max_hair_diameter_um)
        if prepared.blue_ratio >= _GLINT_BLUE_FROM:
            brighter = cv2.resize(np.maximum(-signed[cut], 0.0), size, interpolation=cv2.INTER_AREA)
            _clear_glints(colour, brighter)
        gain = _colour_gain(colour, small, inside)
        if gain <= 0.0:
            return None
    colour = _colour(rgb, luma, calibration, max_hair_diameter_um)
    np.maximum(colour, 0.0, out=colour)
    colour *= np.float32(gain)
    colour += luma
    return ColourContrast(np.maximum(prepared.contrast, colour, out=colour), float(gain))


def _colour(rgb, luma, calibration, max_hair_diameter_um):
    """Blue minus red relative contrast less its wide median, its positive part cleared near clearly
    visible hair (`colour_contrast`), of the photo ``luma`` is the brightness contrast of."""
    blue = _channel_contrast(rgb[..., 2], calibration, max_hair_diameter_um)
    red = _channel_contrast(rgb[..., 0], calibration, max_hair_diameter_um)
    return _colour_lines(blue, red, luma, calibration, max_hair_diameter_um)


def _colour_lines(blue, red, luma, calibration, max_hair_diameter_um):
    """`_colour` of the blue and red channels' relative contrasts (dark positive), at the size and
    ``calibration`` of ``luma``."""
    colour = blue - red
    colour -= _wide_median(colour, calibration, max_hair_diameter_um)
    _clear_near_visible_hair(colour, luma, calibration)
    return colour


def _clear_near_visible_hair(colour, luma, calibration):
    """Clear the positive part of ``colour`` near clearly visible hair (`colour_contrast`), in place."""
    reach = max(1, int(round(calibration.px(_VISIBLE_HAIR_REACH_UM))))
    near_hair = cv2.dilate(
        (luma >= np.float32(_VISIBLE_HAIR)).view(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)
    )
    # Only the positive part: bluish-black hair stays evidence of colour lines of the other sign.
    colour[(near_hair > 0) & (colour > 0.0)] = 0.0


def _clear_glints(colour, brighter):
    """Clear the negative part of a reduced colour contrast (`_reduced_channels`) where the photo is
    brighter than the skin by `_GLINT_CONTRAST` (``brighter``: its relative contrast as bright hair,
    at least 0, reduced alike) beside colour of the hair's sign (`_GLINT_BESIDE`, `_GLINT_REACH_PX`),
    in place."""
    side = 2 * _GLINT_REACH_PX + 1
    beside = cv2.dilate(np.maximum(colour, 0.0), np.ones((side, side), np.uint8))
    colour[(colour < 0.0) & (brighter > _GLINT_CONTRAST) & (beside > _GLINT_BESIDE)] = 0.0


def _colour_gain(colour, calibration, inside=None) -> float:
    """The gain of one photo's colour contrast (`colour_contrast`), decided at one typical shaft width
    from the pixels ``inside`` (default all): `MAX_COLOUR_GAIN` times the ramp of one-sidedness
    (`_ONE_SIDED_FROM`), capped by the skin's colour noise at hair scale (`_COLOUR_NOISE_CONTRAST`)."""
    ratio, sigma, shape, inside = _one_sidedness(colour, calibration, inside)
    gain = MAX_COLOUR_GAIN * float(np.clip((ratio - _ONE_SIDED_FROM) / _ONE_SIDED_SPAN, 0.0, 1.0))
    if gain <= 0.0:
        return 0.0
    every_other = (slice(None, None, 2), slice(None, None, 2))  # as in `_one_sidedness`
    small = cv2.resize(colour, shape[::-1], interpolation=cv2.INTER_AREA)
    smooth = cv2.GaussianBlur(small, (0, 0), max(0.7, sigma / 2.0))
    low, middle = np.quantile(smooth[every_other][inside], [0.16, 0.5])
    return min(gain, _COLOUR_NOISE_CONTRAST / max(float(middle - low), 1e-4))


def _one_sidedness(colour, calibration, inside=None):
    """How much the strongest colour lines of the sign of hair pigment outweigh those of the other sign
    (99th percentiles of the line response at one typical shaft width over the pixels ``inside``,
    default all; see `_colour_gain`). Returns that ratio, the line filter's scale, the shape of the
    reduced copy it was taken on and the sampled ``inside`` (every other pixel of that copy)."""
    from .segment import typical_line_response

    positive, sigma = typical_line_response(np.maximum(colour, 0.0), calibration, _TYPICAL_SHAFT_UM)
    negative, _ = typical_line_response(np.maximum(-colour, 0.0), calibration, _TYPICAL_SHAFT_UM)
    if inside is None:
        inside = np.ones(positive.shape, bool)
    elif inside.shape != positive.shape:
        inside = cv2.resize(inside.view(np.uint8), positive.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    every_other = (slice(None, None, 2), slice(None, None, 2))  # as many samples as needed
    inside = inside[every_other]
    strongest = float(np.quantile(positive[every_other][inside], 0.99))
    ratio = strongest / max(float(np.quantile(negative[every_other][inside], 0.99)), 1e-4)
    return ratio, sigma, positive.shape, inside


def _channel_contrast(channel, calibration, max_hair_diameter_um):
    """Relative contrast (dark positive) of one colour channel of the photo against its own skin
    background."""
    channel = np.ascontiguousarray(channel, dtype=np.float32)
    background = skin_background(
        channel, calibration, polarity=Polarity.DARK, max_hair_diameter_um=max_hair_diameter_um
    )
    return relative_contrast(channel, background, Polarity.DARK)


def _wide_median(signed, calibration, max_hair_diameter_um):
    """Median of a signed contrast image over three thickest-hair widths (in 0.002 steps), smoothed."""
    height, width = signed.shape
    diameter_px = calibration.px(max_hair_diameter_um)
    factor = max(1, int(round(diameter_px / 4)))
    small = cv2.resize(
        signed, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA
    )
    centre, step = float(np.median(small)), 0.002
    levels = np.clip(np.round((small - centre) / step) + 128, 0, 255).astype(np.uint8)
    window = min(255, 2 * int(np.ceil(3.0 * diameter_px / factor)) + 1)
    median = (cv2.medianBlur(levels, window).astype(np.float32) - 128) * step + centre
    median = cv2.GaussianBlur(median, (0, 0), 2.0)
    return cv2.resize(median, (width, height), interpolation=cv2.INTER_LINEAR)


def detect_polarity(grey, calibration: Calibration, *, max_hair_diameter_um=150.0) -> Polarity:
    """Decide whether the hairs are darker or brighter than the skin.

    Both readings are taken against the same neutral background (a wide median, which follows the skin
    as long as skin covers most of the field) and passed through a line detector at a typical shaft
    width; the reading with clearly more line-like contrast wins. Glare and dandruff are bright but
    blob-shaped, and skin showing between dark hairs stays near the median, so neither turns a
    dark-haired photo into a bright one. Dark is the default when the evidence is close. (This is the
    first decision only: `densitometry.analyze.analyze` may still read a photo decided dark as bright,
    after comparing the hairs of both readings.)
    """
    return _polarity(grey, None, calibration, max_hair_diameter_um)[0]


def _polarity(grey, blue, calibration, max_hair_diameter_um):
    """`detect_polarity`, and whether a photo read as dark also shows many bright hair-like lines.

    A line detector answers, more weakly, on both flanks of a line of the other polarity, so grey or
    white hair reads about as many dark "lines" as bright ones, and the photo stays dark when it also
    holds dark hair, or when the white hair lies on dark skin. Counting only the lines that are no
    flank of a stronger line of the other reading (`densitometry.segment.polarity_evidence`), grey and
    white hair shows `_OWN_BRIGHT_EVIDENCE` times more bright than dark evidence in brightness and
    `_OWN_BRIGHT_BLUE` times more in ``blue`` (neutral hair is bright in blue too; blond hair, which can
    be brighter than pale skin, absorbs blue). That is reported (a quality warning). From a weaker
    `_SECOND_LOOK_EVIDENCE` / `_SECOND_LOOK_BLUE` on, a bright reading is plausible, and
    `densitometry.analyze.analyze` tries it and keeps whichever reading follows whole shafts. The
    evidence alone decides nothing more: on mixed photos the dark reading counts the dark and blond
    hairs, the bright one the grey and white ones, and on the phantoms neither is better throughout.

    Returns
    -------
    polarity : Polarity
    bright_lines : bool
    bright_plausible : bool
        See `Preprocessed`.
    """
    dark, bright, own_dark, own_bright = _line_evidence(grey, calibration, max_hair_diameter_um)
    if bright > 1.5 * dark:
        return Polarity.BRIGHT, False, False
    if blue is None or own_bright <= _SECOND_LOOK_EVIDENCE * own_dark:
        return Polarity.DARK, False, False
    luma_ratio = own_bright / own_dark if own_dark > 0 else np.inf
    _, _, own_dark, own_bright = _line_evidence(blue, calibration, max_hair_diameter_um)
    blue_ratio = own_bright / own_dark if own_dark > 0 else np.inf
    bright_lines = luma_ratio > _OWN_BRIGHT_EVIDENCE and blue_ratio > _OWN_BRIGHT_BLUE
    return Polarity.DARK, bright_lines, blue_ratio > _SECOND_LOOK_BLUE


def bright_outweighs(rgb, calibration: Calibration, *, max_hair_diameter_um=150.0) -> bool:
    """Whether bright lines that are no flank of a dark line outweigh the dark ones (see `_polarity`).

    In brightness or in blue: white hair on light skin can be as bright as the skin and show only in
    blue. Too weak a sign to doubt a dark reading that finds hairs (skin texture and glare give it
    too), and computed only when it matters (`densitometry.analyze.analyze`).
    """
    for channel in (to_grey(rgb), np.ascontiguousarray(rgb[..., 2], dtype=np.float32)):
        _, _, own_dark, own_bright = _line_evidence(channel, calibration, max_hair_diameter_um)
        if own_bright > own_dark:
            return True
    return False


def _line_evidence(channel, calibration, max_hair_diameter_um):
    """`densitometry.segment.polarity_evidence` of one channel against its wide median: (dark, bright,
    own dark, own bright) line evidence."""
    from .segment import polarity_evidence

    return polarity_evidence(_median_contrast(channel, calibration, max_hair_diameter_um), calibration)


def _median_contrast(channel, calibration, max_hair_diameter_um):
    """Relative contrast (dark positive) of one channel against its wide median (`detect_polarity`)."""
    median = reduced_median(channel, calibration, max_hair_diameter_um=max_hair_diameter_um, widths=3.0)
    background = cv2.resize(median, channel.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return relative_contrast(channel, background, Polarity.DARK)


def reduced_median(channel, calibration: Calibration, *, max_hair_diameter_um, widths) -> np.ndarray:
    """Median of a channel (values in [0, 1], taken in 1/255 steps) over ``widths`` of the thickest hair,
    on a copy reduced by area to where that hair is about 4 px wide: float32, at that reduced size."""
    height, width = channel.shape
    diameter_px = calibration.px(max_hair_diameter_um)
    factor = max(1, int(diameter_px // 4))
    small = cv2.resize(
        channel, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA
    )
    window = min(255, 2 * int(np.ceil(widths * diameter_px / factor)) + 1)
    return cv2.medianBlur(np.clip(small * 255.0, 0, 255).astype(np.uint8), window).astype(np.float32) / 255.0


def field_of_view(rgb, calibration: Calibration, *, max_hair_diameter_um=150.0):
    """The part of the photo that shows scalp, or None when that is the whole photo.

    Exported and letterboxed frames carry flat margins along their edges (white or black rows and
    columns, `_frame_bands`: on each of the 61 real example photos, 2 white rows at the bottom, and on 11
    of them 54 rows and 20 columns, 11 % of the frame); they are outside the field. Contact
    dermatoscopes image a round field and leave the rest of the frame dark; some cameras leave
    dark corners. Counted over the whole frame, such a photo reads a lower density than the scalp has,
    and the rim of the field, a dark band beside bright skin, is traced as a long hair. The surround is
    found as the dark area (darker than a quarter of the skin's brightness, the median luma of the
    pixels above 0.15) that stays after an opening with a disc twice as wide as the thickest
    hair (hairs are dark too, but narrower), reaches the photo's border and covers at least 1 % of it.
    Of dark surrounds only round ones are recognised (a dermatoscope's round field, a round dark
    vignette; straight ones are margins): the field is
    the disc that the edge of the largest connected part of the rest follows (`_round_field`), shrunk by
    the thickest hair's width so that the rim's soft edge stays outside; a field under 5 % of the photo
    is taken for a dark photo, not a field. Found on every n-th pixel (the thickest hair ~4 px wide).

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        Photo in [0, 1].
    calibration : Calibration
    max_hair_diameter_um : float
        Thickest hair expected: sets the opening and the margin.

    Returns
    -------
    ndarray of bool, shape (H, W), or None
        True inside the field; None when no surround or margin is found.
    """
    field = _round_field_of_view(rgb, calibration, max_hair_diameter_um)
    bands = _frame_bands(rgb)
    if bands is None:
        return field
    top, bottom, left, right = bands
    inside = np.zeros(rgb.shape[:2], bool)
    inside[top : rgb.shape[0] - bottom, left : rgb.shape[1] - right] = True
    return inside if field is None else field & inside


def _frame_bands(rgb):
    """The flat margins along the photo's edges: how many rows (top, bottom) and columns (left, right)
    each takes, with `_BAND_MARGIN_PX`, or None where there are none.

    A margin line is flat (`_BAND_MAX_STD`), and white, black (`_BAND_SATURATION`) or far from the
    photo's median brightness (`_BAND_MIN_DIFFERENCE`): plain skin along an edge, however flat, is
    near the photo's middle brightness. The margin must end in a sharp edge (`_BAND_MIN_STEP`). At
    most a quarter of each side is taken.
    """
    middle = float(np.median(to_grey(rgb[::8, ::8])))
    widths = []
    for lines in (rgb, rgb[::-1], rgb.transpose(1, 0, 2), rgb[:, ::-1].transpose(1, 0, 2)):
        width = 0
        while width < len(lines) // 4:
            line = to_grey(lines[width][None])
            level = float(line.mean())
            if line.std() > _BAND_MAX_STD or not (
                min(level, 1.0 - level) <= _BAND_SATURATION or abs(level - middle) >= _BAND_MIN_DIFFERENCE
            ):
                break
            width += 1
        if width:
            beyond = float(to_grey(lines[min(width + _BAND_MARGIN_PX, len(lines) - 1)][None]).mean())
            if abs(beyond - float(to_grey(lines[:width]).mean())) < _BAND_MIN_STEP:
                width = 0
        widths.append(min(width + _BAND_MARGIN_PX, len(lines) // 4) if width else 0)
    return tuple(widths) if any(widths) else None


def _round_field_of_view(rgb, calibration, max_hair_diameter_um):
    """`field_of_view`'s round field (its surround dark), or None."""
    height, width = rgb.shape[:2]
    diameter_px = calibration.px(max_hair_diameter_um)
    factor = max(1, int(diameter_px // 4))
    # Every factor-th pixel: the surround is wide and the opening below removes anything as thin as a
    # hair, so no smoothing is needed (an area resize of the photo would cost more than the rest).
    small = to_grey(rgb[::factor, ::factor])
    lit = small[small >= _SURROUND_MAX_LUMA]
    if lit.size < _MIN_FIELD_SHARE * small.size:
        return None
    skin = float(np.median(lit))
    dark = (small < _SURROUND_DARKNESS * skin).astype(np.uint8)
    radius = max(1, int(np.ceil(diameter_px / factor)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    # An opening in which beyond the photo's border counts as surround (a thin strip of surround along
    # the border stays).
    wide = cv2.dilate(
        cv2.erode(dark, disc, borderType=cv2.BORDER_CONSTANT, borderValue=1),
        disc,
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    _, labels, stats, _ = cv2.connectedComponentsWithStats(wide, connectivity=8)
    on_border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    large = stats[:, cv2.CC_STAT_AREA] >= _SURROUND_MIN_SHARE * small.size
    surround_labels = [label for label in on_border.tolist() if label and large[label]]
    if not surround_labels:
        return None
    rest = (~np.isin(labels, surround_labels)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rest, connectivity=4)
    if count < 2:
        return None
    field = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    circle = _round_field(field, ~rest.astype(bool), dark.astype(bool), radius)
    if circle is None:
        return None
    # The disc in the photo's pixels (small pixel i is photo pixel factor * i), less the margin.
    centre = np.asarray(circle[:2]) * factor
    radius_px = circle[2] * factor - diameter_px
    rows, cols = np.ogrid[:height, :width]
    field = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius_px**2
    if radius_px <= 0 or np.count_nonzero(field) < _MIN_FIELD_SHARE * field.size:
        return None  # a dark photo, not a framed field (the quality warnings report the exposure)
    return field


def _round_field(field, surround, dark, opening_radius):
    """The circle that the field's edge against the surround follows: (centre row, centre col, radius), or None.

    The edge must follow a circle closely (median distance <= 1 px, 90 % within 2 px) at least
    `_MIN_FIELD_RADIUS` of the photo's shorter side across, and the photo outside that circle must be
    dark (80 %): a dense tangle of black hairs at the border is wide and dark too, but its edge is no
    such circle. The disc also covers the surround where it is only a strip along the photo's border,
    thinner than the opening that finds the surround; the edge is read only farther than the opening's
    radius from the photo's border, where the opening has not rounded it off.
    """
    near_surround = cv2.dilate(surround.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    away = np.zeros_like(field)
    reach = opening_radius + 1
    away[reach:-reach, reach:-reach] = True
    rows, cols = np.nonzero(field & near_surround & away)
    if len(rows) < 20:
        return None
    # Least-squares circle (Kasa): x² + y² = a x + b y + c.
    design = np.column_stack([cols, rows, np.ones(len(rows))]).astype(float)
    (a, b, c), *_ = np.linalg.lstsq(design, cols.astype(float) ** 2 + rows.astype(float) ** 2, rcond=None)
    centre_col, centre_row = a / 2.0, b / 2.0
    radius = float(np.sqrt(max(c + centre_col**2 + centre_row**2, 0.0)))
    distance = np.abs(np.hypot(cols - centre_col, rows - centre_row) - radius)
    if (
        radius < _MIN_FIELD_RADIUS * min(field.shape)
        or np.median(distance) > 1.0
        or np.mean(distance <= 2.0) < 0.9
    ):
        return None
    grid_rows, grid_cols = np.indices(field.shape)
    beyond = np.hypot(grid_cols - centre_col, grid_rows - centre_row) > radius
    if not beyond.any() or np.mean(dark[beyond]) < 0.8:
        return None
    return centre_row, centre_col, radius + 0.5  # the edge runs half a pixel beyond the field's pixels


def fill_outside(rgb, field) -> np.ndarray:
    """The photo with everything outside ``field`` replaced by a smooth continuation of the skin at its edge.

    The skin background and the ridge filter then see skin, not a dark surround, near the field's
    edge. Inpainted (Telea's method) at reduced resolution: only the smooth skin colour is needed.

    Parameters
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
    field : ndarray of bool, shape (H, W)

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    height, width = field.shape
    if field.all() or not field.any():
        return rgb
    factor = max(1, int(max(height, width) // 400))
    size = (max(1, width // factor), max(1, height // factor))
    small = cv2.resize(
        np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_AREA
    )
    outside = cv2.resize((~field).astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    filled = cv2.inpaint(small, (outside > 0).astype(np.uint8), 3, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    return np.where(field[..., None], rgb, filled)
