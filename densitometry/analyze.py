"""The pipeline: load -> calibrate -> preprocess -> segment -> skeleton -> hairs -> measure -> result.

Every adapter (CLI, web UI, batch engine, before/after) calls `analyze`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import NamedTuple

import cv2
import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from . import __version__, grey_white
from .calibration import Calibration, as_calibration
from .errors import ImageLoadError, ParameterError
from .hairs import may_be_touching, touching_hairs, trace_hairs, values_at
from .io import load_image
from .measure import measure_hairs
from .preprocess import (
    Polarity,
    Preprocessed,
    bright_outweighs,
    colour_contrast,
    field_of_view,
    fill_outside,
    preprocess,
    relative_contrast,
)
from .results import HAIR_COLUMNS, AnalysisParameters, AnalysisResult
from .segment import PEAK_RADIUS_UM, PINHOLE_WIDTH_UM, RidgeMap, along_ridge, ridge_filter, segment
from .skeleton import skeleton_branches

#: A photo whose skin is darker or brighter than this (luma) is flagged as badly exposed. A bright
#: reading whose skin is darker is never kept (`_follows_whole_shafts`).
_DARK_SKIN, _BRIGHT_SKIN = 0.12, 0.97
#: Photos with finer pixels are analysed resampled to this pixel size: a 15 µm shaft is still ~4 px
#: wide there, and at 70x a terminal shaft would otherwise be 30-50 px wide (slow skeletons whose
#: junction clusters grow with the width). Coordinates in the result are in the photo's pixels.
_WORKING_UM_PER_PX = 4.0
#: A piece crossing no other hair whose profiles mostly find a shaft beside its centreline, not under
#: it, is a speck or skin texture next to a hair (its profiles measure that hair): not counted.
_MIN_ON_SHAFT = 0.5
#: A band wider than one hair is split into touching hairs only where its edges are sharp: each edge
#: rises from 10 % to 45 % of the band's contrast over less than this share of the band's width.
#: Touching in-focus shafts rise within the photo's blur (a few % of their joint width); one hair out
#: of focus (lying above the skin, common with hand-held scalp cameras) looks wider than any hair, with
#: a bell-shaped profile whose rise takes about a third of its width.
_SHARP_BUNDLE_EDGE = 0.15
#: A band is looked at for touching hairs whose ends are staggered (`densitometry.hairs.touching_hairs`)
#: only where its contrast reaches this: the mask of a faint (grey, blond, defocused) shaft varies in
#: width along its length by itself.
_STEP_MIN_CONTRAST = 0.25
#: A piece up to `_SHORT_PIECE_LENGTHS` minimum lengths long must be line-like enough on its own: median
#: ridge strength along its centreline at least this share of the seeding threshold (``high_contrast``).
#: Hysteresis lets a faint piece into the mask through any seed it touches, and the faint blobs of skin
#: texture or out-of-focus speckle that touch a hair's tip or edge are such pieces; a real shaft this
#: short that never reaches the seeding threshold along most of its length is rare.
_OWN_SEED_SHARE = 0.75
_SHORT_PIECE_LENGTHS = 4.0
#: In a bright reading a short piece must follow the crests it lies on (`densitometry.segment.along_ridge`
#: at least this). Bright (white, grey, blond) shafts stand far above the skin, most of all dark skin,
#: and the skin's texture around their blunt tips grows into the mask: the skeleton forks there, and
#: strands of texture hang on the tips, each counted as a hair (second renderer, white hair on dark
#: skin: a fifth of the hairs counted; such pieces read 0, while 95 % of the pieces along a true shaft
#: read 0.95 or more and 2 of 1700 below 0.5). Dark readings keep their pieces: there the rule also took
#: pieces of touching hairs traced along the seam between them (phantoms: 55 of 9850 found hairs, up to
#: 2.6 % in a scenario), and the false pieces it took had hidden merged hairs (see
#: docs/measurement-history.md, Second renderer).
_MIN_ALONG_RIDGE = 0.7
#: A faint trace (median contrast below `_NETWORK_CONTRAST`) that meets other traces more often than
#: `_NETWORK_JUNCTIONS_PER_MM` is a path through the net of skin showing between bright specks (sebum,
#: scale), not a hair. Hairs crossing in a tangle meet as often but are dark; faint (blond, grey) hairs
#: rarely lie that densely. Classic reading only.
_NETWORK_CONTRAST = 0.12
_NETWORK_JUNCTIONS_PER_MM = 5.0
#: `_colour_hairs`: a shaft only the colour contrast shows is added where it is at least this long, ...
_MIN_COLOUR_HAIR_UM = 300.0
#: ... and at most this share of its centreline lies alongside a counted hair: within this many
#: thickest-hair diameters of its edge, running within this angle of its direction.
_MAX_ALONGSIDE_SHARE = 0.2
_ALONGSIDE_REACH = 0.25
_ALONGSIDE_DEG = 30.0
#: `_with_grey_white`: a bright shaft alongside a dark hair (as `_alongside_shares` finds it) for more
#: than this share of its length is that hair's bright rim.
_GREY_WHITE_ALONGSIDE = 0.3
#: Diameter of a typical terminal scalp hair (adults, 60-110 µm): the scale hinted at when a photo's
#: shafts are thicker than any scalp hair (`_quality_warnings`).
_TYPICAL_TERMINAL_UM = 75.0
#: Fewest traced shafts whose median (width, length) is taken to describe the photo's hairs.
_MEDIAN_MIN_SHAFTS = 5
#: A reading with fewer hairs has found hardly any (quality warning; see `_worth_a_bright_look`).
_FEW_HAIRS = 5
#: A bright reading of a photo first read as dark hair replaces it where its hairs are typically this
#: many times as long, or this many times as many (see `_follows_whole_shafts`).
_SECOND_LOOK_LENGTH = 1.3
_SECOND_LOOK_COUNT = 3.0
#: ... or where its hairs stand out this many times more (median contrast) and it finds at least as
#: many shafts (see `_follows_whole_shafts`).
_SECOND_LOOK_CONTRAST = 3.0
#: Relative contrast taken as at most this when finding lines (classic reading): a black shaft on any
#: skin reaches 1, white hair on dark skin 2-4 (see `_read`).
_MAX_LINE_CONTRAST = 1.0
#: A bright reading's grey and white shafts are measured at half their height (`_bright_in_colour`),
#: unless half height finds only the specular stripe down glossy shafts: the median over the photo's
#: shafts of their width at half height over that at a quarter below this. A Gaussian profile gives
#: 0.71, flatter-topped ones more (a blurred bar; a translucent shaft's chord 0.89; a second
#: renderer's white strokes: photo medians 0.78-0.89), a narrow peak over a wider body less
#: (the generator's glossy grey hair, grey_hair seed 2002: median 0.51, 24 µm at half height for
#: shafts of 76 µm).
_GLINT_WIDTH_RATIO = 0.65
#: A photo read as bright hair counts no dark hair. Where its dark reading holds at least
#: `_UNREAD_DARK_WARNING` traces at least `_UNREAD_DARK_CONTRAST` darker (median) than the photo outside
#: the bright reading's mask and not alongside a bright shaft (pigmented hair among grey and white, not
#: the skin between bright shafts nor their shadows), a quality warning says so
#: (`_unread_dark_shafts`). Generator, 252 photos of every scenario: warned on the three grey_hair
#: photos read bright with 8-22 dark hairs (7-18 traces) only; second renderer, 160 photos of white
#: and blond hair (no dark hair): none.
_UNREAD_DARK_CONTRAST = 0.35
_UNREAD_DARK_WARNING = 3
#: A photo read as bright hair whose shafts are mostly (at least this share, and `_MEDIAN_MIN_SHAFTS`)
#: pigmented by their colour (`grey_white.towards_grey` below `grey_white.MIN_TOWARDS_GREY`: blond,
#: not grey or white) and measure (median) under `_GLINT_MAX_UM`, as thin as the specular glint along
#: a terminal shaft (about a third of its 60-110 µm), is warned that the diameters may be the glints':
#: blond shafts keep their widths in brightness. Generator, 252 photos of every scenario: the two
#: such photos, colour_noise seed 1005 and low_res seed 2008, read 38 and 29 µm thin (pigmented
#: shares 0.55 and 0.96, medians 22 and 31 µm; the five grey_hair photos read bright: 0-0.09);
#: second renderer, blond hair without glints read bright (7 of 40 photos): medians 57-76 µm, not
#: warned.
_PIGMENTED_BRIGHT_SHARE = 0.5
_GLINT_MAX_UM = 40.0


def analyze(
    image, um_per_px=None, *, calibration=None, parameters=None, name=None, region=None, **options
) -> AnalysisResult:
    """Count hairs and measure their shafts on one scalp photo.

    Parameters
    ----------
    image : str, os.PathLike, ndarray or PIL.Image.Image
        The photo (see `densitometry.io.load_image`); never modified.
    um_per_px : float, optional
        Micrometres per pixel. Give this or ``calibration``.
    calibration : Calibration, optional
        E.g. ``Calibration.from_field_of_view(width_mm, image_width_px)``.
    parameters : AnalysisParameters, optional
        All settings at once; or give them as keyword ``options`` (e.g. ``min_length_um=200``).
    name : str, optional
        Name stored in the result (default: the file name).
    region : str, os.PathLike, ndarray or PIL.Image.Image, optional
        The part of the photo to analyse, of the photo's size: a mask image (white: analyse) or a
        boolean array (True: analyse). Outside it nothing is counted (burned-in text and scale bars,
        a ruler, a tattoo dot marking the site, or everything beyond a standard area); hairs cut by its
        edge count once, and the density is taken over its area. Combined with the automatic field of
        view (`AnalysisParameters.field_of_view`).

    Notes
    -----
    With ``polarity="auto"`` (classic reading), a photo decided as dark hair that also shows many
    bright hair-like lines of its own (`densitometry.preprocess.Preprocessed.bright_plausible`), or
    some and hardly any dark hairs (`_worth_a_bright_look`), is read a second time as bright hair,
    and the bright reading is kept where its hairs follow whole shafts (`_follows_whole_shafts`):
    mostly grey or white hair, whose dark reading traces the skin between the hairs. The other way
    round, a photo decided as bright hair is also read as dark hair, and the dark reading is kept
    where it reads blond hair in colour (`_pigmented_shafts`). Such photos take about twice as long.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    ImageLoadError
        The image cannot be read or is unusable (the message names it).
    CalibrationError
        Calibration missing, non-finite or not positive.
    ParameterError
        A parameter is out of range or unknown, or ``region`` is not of the photo's size or empty.
    """
    calibration = as_calibration(calibration, um_per_px=um_per_px)
    parameters = resolve_parameters(parameters, options)
    loaded = load_image(image, name=name)
    region_px = None if region is None else region_mask(region, loaded.shape_px, loaded.name)
    rgb, working_calibration, scale = _working_resolution(loaded.rgb, calibration)
    field = None
    if parameters.field_of_view == "auto":
        field = field_of_view(rgb, working_calibration, max_hair_diameter_um=parameters.max_diameter_um)
    if region_px is not None and not region_px.all():
        own = region_px if region_px.shape == rgb.shape[:2] else _to_working(region_px, rgb.shape[:2])
        field = field_within(field, own)
        if not field.any():
            raise ParameterError(f"{loaded.name}: the region holds none of the photo's field of view")
    if field is not None:
        rgb = fill_outside(rgb, field)
    reading = _read(rgb, working_calibration, scale, field, parameters, parameters.polarity)
    unread_dark = 0
    if not parameters.refine and _worth_a_bright_look(reading, rgb, working_calibration, parameters):
        bright = _read(rgb, working_calibration, scale, field, parameters, Polarity.BRIGHT)
        if _follows_whole_shafts(bright, reading):
            unread_dark = _unread_dark_shafts(bright, reading, working_calibration, parameters)
            reading = bright
    elif _worth_a_dark_look(reading, parameters):
        dark = _read(rgb, working_calibration, scale, field, parameters, Polarity.DARK, in_colour_only=True)
        if dark is not None and _pigmented_shafts(dark, reading):
            reading = dark
    reading, pigmented_bright = _bright_in_colour(reading, rgb, working_calibration, scale, parameters)
    if _looks_for_grey_white(reading, parameters):
        reading = _with_grey_white(reading, rgb, working_calibration, scale, field, parameters)
    prepared, mask, rows = reading.prepared, reading.mask, reading.rows
    hairs = pd.DataFrame(rows, columns=list(HAIR_COLUMNS))
    if mask.shape != loaded.shape_px:
        mask = _to_photo(mask, loaded.shape_px)
        field = None if field is None else _to_photo(field, loaded.shape_px)
    return AnalysisResult(
        image_name=loaded.name,
        calibration=calibration,
        image_shape_px=loaded.shape_px,
        parameters=parameters,
        polarity=prepared.polarity,
        hairs=hairs,
        centerlines_px=tuple(reading.centerlines),
        hair_mask=mask,
        image=loaded.to_uint8(),
        quality_warnings=tuple(
            _quality_warnings(
                prepared,
                hairs,
                parameters,
                calibration.um_per_px,
                unread_dark=unread_dark,
                pigmented_bright=pigmented_bright,
            )
        ),
        version=__version__,
        blue_weight=prepared.blue_weight,
        red_weight=prepared.red_weight,
        green_weight=prepared.green_weight,
        colour_gain=reading.colour_gain,
        field_mask=field,
    )


class _Reading(NamedTuple):
    """One reading of a photo (`_read`): its preprocessing, hair mask and counted hairs (rows and
    centrelines in the photo's pixels; ``shafts``: the (row, traced hair) pairs they came from, in
    working pixels; ``ridge``: the `densitometry.segment.RidgeMap` they were found on)."""

    prepared: Preprocessed
    mask: np.ndarray
    rows: list
    centerlines: list
    colour_gain: float = 0.0
    shafts: tuple = ()
    ridge: RidgeMap | None = None


def _read(rgb, calibration, scale, field, parameters, polarity, *, in_colour_only=False) -> _Reading | None:
    """Find, trace and measure the hairs of one polarity on the working-resolution photo.

    ``scale`` (photo pixels per working pixel) takes the centrelines back to the photo's pixels. The
    reading of a photo whose colour shows blond or red hair that brightness barely shows
    (`densitometry.preprocess.colour_contrast`) is followed by a second one on that colour contrast,
    which adds the hairs it alone finds (`_colour_hairs`). With ``in_colour_only``, None (and nothing
    traced) where there is no such colour reading.
    """
    prepared = preprocess(
        rgb,
        calibration,
        polarity=polarity,
        max_hair_diameter_um=parameters.max_diameter_um,
        blue_weight=parameters.blue_weight,
        red_weight=parameters.red_weight,
        green_weight=parameters.green_weight,
    )
    colour = colour_contrast(
        rgb,
        prepared,
        calibration,
        gain=parameters.colour_gain,
        field=field,
        max_hair_diameter_um=parameters.max_diameter_um,
    )
    if in_colour_only and colour is None:
        return None
    if parameters.refine:
        from .refiner import refined_ridge_map

        ridge, mask = refined_ridge_map(rgb, prepared, calibration, parameters)
    else:
        ridge, mask = _find_lines(prepared.contrast, prepared.opposite_contrast, calibration, parameters)
    if field is not None:
        mask &= field  # hairs are cut at the field's edge as at the photo's border
    bright = prepared.polarity is Polarity.BRIGHT
    shafts = _shafts(prepared.contrast, ridge, mask, calibration, field, parameters, along_crests=bright)
    if colour is not None:
        mask, shafts = _colour_hairs(colour.contrast, prepared, mask, shafts, calibration, field, parameters)
    if parameters.refine:
        # The refiner reads shafts of both polarities in one mask: a grey or white one is brighter than
        # the skin along its centreline.
        brighter = [
            np.median(values_at(prepared.opposite_contrast, hair.coords_px))
            > np.median(values_at(prepared.contrast, hair.coords_px))
            for _, hair in shafts
        ]
        marked = [bool(b) != bright for b in brighter]
    else:
        marked = [bright] * len(shafts)
    rows, centerlines = _photo_rows(shafts, scale, parameters, marked)
    colour_gain = 0.0 if colour is None else colour.gain
    return _Reading(prepared, mask, rows, centerlines, colour_gain, tuple(shafts), ridge)


def _bright_in_colour(reading: _Reading, rgb, calibration, scale, parameters) -> tuple[_Reading, int]:
    """The classic reading kept for a photo, its shafts measured in colour where it was read as bright
    hair; and how many of them are pigmented (blond) where those are most of them
    (`_PIGMENTED_BRIGHT_SHARE`) and measure as thin as a glint (`_GLINT_MAX_UM`), else 0.

    Bright hair is grey, white or blond: only the first two are measured in colour
    (`_measured_unpigmented`), at half height, as `_shafts` measured them in brightness, or at a
    quarter where half height finds only the glints down glossy shafts (`_GLINT_WIDTH_RATIO`). Blond
    shafts keep their widths in brightness: their colour runs along the skin's, so it does not show
    their bodies. Done once the reading is chosen: a second reading that is not kept costs no
    measurement."""
    if reading.prepared.polarity is not Polarity.BRIGHT or parameters.refine or not reading.shafts:
        return reading, 0
    shafts, pigmented = _measured_unpigmented(
        list(reading.shafts),
        rgb,
        reading.mask,
        reading.ridge,
        calibration,
        parameters,
        diameter_level=0.5,
        min_towards_grey=grey_white.MIN_TOWARDS_GREY,
        glint_level=grey_white.DIAMETER_LEVEL,
    )
    rows, centerlines = _photo_rows(shafts, scale, parameters, [True] * len(shafts))
    count = int(np.count_nonzero(pigmented))
    widths_um = np.array(
        [row["diameter_um"] for (row, _), blond in zip(shafts, pigmented, strict=True) if blond]
    )
    widths_um = widths_um[np.isfinite(widths_um)]
    if count < max(_MEDIAN_MIN_SHAFTS, _PIGMENTED_BRIGHT_SHARE * len(shafts)) or not (
        len(widths_um) and np.median(widths_um) < _GLINT_MAX_UM
    ):
        count = 0
    return reading._replace(rows=rows, centerlines=centerlines, shafts=tuple(shafts)), count


def _photo_rows(shafts, scale, parameters, grey_white):
    """Rows (with their ends) and centrelines in the photo's pixels of (row, traced hair) pairs in working
    pixels, bands split into touching hairs (`_split_bundles`); ``grey_white``: each shaft's
    ``grey_white`` column."""
    rows, centerlines = [], []
    for (row, hair), brighter in zip(shafts, grey_white, strict=True):
        coords = (hair.coords_px + 0.5) * scale - 0.5  # in the photo's pixels
        start, end = coords[0], coords[-1]
        rows.append(
            dict(
                row,
                start_row_px=float(start[0]),
                start_col_px=float(start[1]),
                end_row_px=float(end[0]),
                end_col_px=float(end[1]),
                grey_white=bool(brighter),
            )
        )
        centerlines.append(coords)
    return _split_bundles(rows, centerlines, parameters)


def _find_lines(contrast, opposite, calibration, parameters, *, grow_contrast=None):
    """Ridge map and hair mask of a contrast image (classic reading); ``opposite``: the contrast of the
    other polarity against the same skin (see `densitometry.segment.segment`); ``grow_contrast``: the
    contrast the mask is grown on, where not the one its lines are found on (a glossy shaft's body,
    `densitometry.grey_white.body_contrast`)."""
    # White hair on dark skin is far brighter than the skin in relative terms (contrast 2-4), and the
    # coarse scales' response to it then spills into the skin around it, where the skin's own texture
    # (as strong in relative terms as on any skin, and noisier) is grown into the mask as tails on the
    # hair's tips and sides. Lines are found with the contrast of a black shaft at most; diameters and
    # contrasts are measured on the full contrast.
    line_contrast = np.minimum(contrast, np.float32(_MAX_LINE_CONTRAST))
    ridge = ridge_filter(
        line_contrast,
        calibration,
        min_diameter_um=parameters.min_diameter_um,
        max_diameter_um=parameters.max_diameter_um,
    )
    mask = segment(
        ridge,
        line_contrast if grow_contrast is None else grow_contrast,
        low_contrast=parameters.low_contrast,
        high_contrast=parameters.high_contrast,
        hole_width_px=calibration.px(PINHOLE_WIDTH_UM),
        peak_radius_px=calibration.px(PEAK_RADIUS_UM),
        opposite=opposite,
    )
    return ridge, mask


def _shafts(
    contrast,
    ridge,
    mask,
    calibration,
    field,
    parameters,
    *,
    bridge=None,
    diameter_level=0.5,
    along_crests=False,
) -> list:
    """The counted shafts of a hair mask: (row, traced hair) pairs, rows without id and end points.

    Measured on ``contrast``; centrelines (``hair.coords_px``) in working pixels. Pieces of one shaft
    are joined across ``bridge`` (bool (H, W), optional: hairs of the other polarity lying over it) as
    across the mask (`densitometry.hairs.join_collinear`; a classic mask, of one polarity, is also
    joined across the askew cuts of hairs of the other); diameters at ``diameter_level`` of each
    shaft's height (`densitometry.measure.measure_hairs`). With ``along_crests`` (a classic bright
    reading), short pieces must follow the crests they lie on (`_MIN_ALONG_RIDGE`)."""
    width_px_map = np.minimum(
        2.0 * cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5),
        calibration.px(parameters.max_diameter_um),
    )
    if bridge is not None:
        width_px_map[bridge & ~mask] = 1.0  # no width: only joins read it off the mask
    traced = trace_hairs(
        skeleton_branches(mask),
        width_px_map,
        max_turn_deg=parameters.max_turn_deg,
        askew_cuts=not parameters.refine,
    )
    measured = measure_hairs(contrast, traced, ridge.sigma_px, diameter_level=diameter_level)

    min_length_px = calibration.px(parameters.min_length_um)
    # The refiner's mask is seeded by its own probability threshold, not by the ridge strength.
    lines = None if parameters.refine else _Lines(contrast, ridge, along_crests)
    shafts = []
    on_borders = _touch_border(traced, mask.shape, field, width_px_map)
    for hair, measurement, on_border in zip(traced, measured, on_borders, strict=True):
        if not np.isfinite(measurement.band_width_px):
            continue
        # A skeleton stops about half a band width short of each end of the shaft.
        length_px = hair.length_px + measurement.band_width_px
        if length_px < min_length_px or not _looks_like_a_shaft(
            hair, measurement, parameters, min_length_px, lines
        ):
            continue
        diameter_um = calibration.um(measurement.diameter_px)
        row = {
            "diameter_um": diameter_um,
            "length_um": calibration.um(length_px),
            "thickness_class": parameters.classify(diameter_um).value,
            "contrast": measurement.contrast,
            "touches_border": bool(on_border),
            "junction_count": int(len(hair.junctions_px)),
            "diameter_sample_count": measurement.n_samples,
            "bundle_size": 1,
            "band_um": calibration.um(measurement.band_width_px),  # not a column
            "edge_share": measurement.edge_spread_px / measurement.band_width_px,  # not a column
        }
        shafts.append((row, hair))
    _find_touching(shafts, width_px_map)
    return shafts


def _find_touching(shafts, width_px_map):
    """Set each shaft's ``touching``: the shares of its diameter of the hairs side by side in it (not a
    column; see `_split_bundles`).

    A sharp, contrasted shaft (`_SHARP_BUNDLE_EDGE`, `_STEP_MIN_CONTRAST`) that meets no other counted
    shaft at a junction (touching hairs of one unit run side by side; a crossing widens the mask too)
    and whose width steps along its length (`densitometry.hairs.touching_hairs`) is two touching hairs
    (`densitometry.hairs.may_be_touching` passes over most bands first, all at once).
    """
    for row, _ in shafts:
        row["touching"] = (1.0,)
    # Junction centre -> shafts passing or ending there (`trace_hairs` gives every hair through a
    # junction the same centre).
    junctions: dict[tuple, int] = {}
    for _, hair in shafts:
        for point in {tuple(point) for point in hair.junctions_px.tolist()}:
            junctions[point] = junctions.get(point, 0) + 1
    candidates = [
        (row, hair)
        for row, hair in shafts
        if row["contrast"] >= _STEP_MIN_CONTRAST
        and row["edge_share"] < _SHARP_BUNDLE_EDGE
        and all(junctions[tuple(point)] == 1 for point in hair.junctions_px.tolist())
    ]
    varies = may_be_touching([hair for _, hair in candidates], width_px_map)
    for (row, hair), keep in zip(candidates, varies, strict=True):
        if keep:
            row["touching"] = touching_hairs(hair, width_px_map)


def _colour_hairs(colour, prepared, mask, shafts, calibration, field, parameters):
    """Add the hairs that only the colour contrast shows to a reading's mask and shafts.

    The photo is read again on ``colour`` (`densitometry.preprocess.colour_contrast`; a classic
    reading, also after the refiner's, whose network was trained on unmodified colour), and its shafts
    are added where they are at least `_MIN_COLOUR_HAIR_UM` long (colour at half resolution and
    coarsely quantised draws short lines of its own) and run alongside no counted hair: at most
    `_MAX_ALONGSIDE_SHARE` of the centreline lies within `_ALONGSIDE_REACH` thickest-hair diameters
    of a counted hair's edge running within `_ALONGSIDE_DEG` of its direction (a counted hair's own
    colour fringe, or the same hair traced again; crossings stay). Diameters are measured on the
    colour contrast, the ``contrast`` column on the brightness-plus-blue contrast (as every row).
    """
    ridge, colour_mask = _find_lines(colour, prepared.opposite_contrast, calibration, parameters)
    if field is not None:
        colour_mask &= field
    min_length_um = max(_MIN_COLOUR_HAIR_UM, parameters.min_length_um)
    classic = dataclasses.replace(parameters, refine=False)  # the colour reading is a classic one
    candidates = [
        (row, hair)
        for row, hair in _shafts(colour, ridge, colour_mask, calibration, field, classic)
        if row["length_um"] >= min_length_um
    ]
    if not candidates:
        return mask, shafts
    shares = _alongside_shares(
        shafts, [hair.coords_px for _, hair in candidates], calibration, mask.shape, parameters
    )
    added = [shaft for shaft, share in zip(candidates, shares, strict=True) if share <= _MAX_ALONGSIDE_SHARE]
    if not added:
        return mask, shafts
    in_brightness = measure_hairs(prepared.contrast, [hair for _, hair in added], ridge.sigma_px)
    for (row, hair), measurement in zip(added, in_brightness, strict=True):
        row["contrast"] = measurement.contrast
        if not np.isfinite(row["contrast"]):  # no profile crosses a shaft in brightness
            row["contrast"] = float(np.median(values_at(prepared.contrast, hair.coords_px)))
    drawn = np.zeros(mask.shape, np.uint8)
    for row, hair in added:
        points = np.round(hair.coords_px[:, ::-1]).astype(np.int32).reshape(-1, 1, 2)
        width_px = max(1, round(calibration.px(row["band_um"])))
        cv2.polylines(drawn, [points], False, 1, thickness=width_px + 2)
    return mask | (colour_mask & (drawn > 0)), shafts + added


def _looks_for_grey_white(reading: _Reading, parameters) -> bool:
    """Whether a classic reading as dark hair is looked at for grey and white shafts too: with
    ``grey_white`` True, or None and the polarity decided automatically (a forced ``"dark"`` counts
    dark hair only)."""
    if parameters.refine or reading.prepared.polarity is not Polarity.DARK:
        return False
    if parameters.grey_white is None:
        return Polarity(parameters.polarity) is Polarity.AUTO
    return parameters.grey_white


def _with_grey_white(dark: _Reading, rgb, calibration, scale, field, parameters) -> _Reading:
    """A dark reading with the grey and white shafts among its hairs counted too
    (`densitometry.grey_white`).

    With ``parameters.grey_white`` None they are looked for where bright streaks stand apart from the
    dark hair (`grey_white.bright_streaks`), and kept where at least `grey_white.MIN_SHAFTS` pass; with
    True, in every dark reading. Where the dark hair is sparse (`grey_white.SPARSE_COVERAGE`, and
    always with True) the bright lines are read against the skin level between the dark hairs; where
    its mask is dense because it traces the skin between grey shafts (`_with_grey_white_among_dense`),
    against the middle brightness of the photo; where it is dense with dark hair, against the skin
    between the dark hairs again, keeping only shafts at least `grey_white.DENSE_MIN_LENGTH_UM` long.
    They are traced with their pieces joined across dark hairs lying over them; a shaft is added where
    it is at least `grey_white.MIN_LENGTH_UM` long, at most `grey_white.MAX_BAND_UM` wide, no blob
    (`grey_white.compact_shafts`) and runs alongside no dark hair for more than `_GREY_WHITE_ALONGSIDE`
    of its length (the bright rims of dark hair), and measured in colour where it shows their bodies
    (`_measured_unpigmented`; ``rgb``: the working-resolution photo). The dark traces that are no
    darker than the skin between the hairs (`grey_white.darker_than_skin`: the skin between grey
    shafts) are then dropped.
    """
    prepared, mask = dark.prepared, dark.mask
    automatic = parameters.grey_white is None
    field_px = mask.size if field is None else np.count_nonzero(field)
    dense = automatic and np.count_nonzero(mask) > grey_white.SPARSE_COVERAGE * field_px
    if dense:
        revised = _with_grey_white_among_dense(dark, rgb, calibration, scale, field, parameters)
        if revised is not None:
            return revised
    bridge = grey_white.bridge_mask(mask, calibration)
    if automatic and (
        grey_white.bright_streaks(
            prepared.opposite_contrast, bridge, calibration, level=parameters.high_contrast
        )
        < grey_white.MIN_BRIGHT_STREAKS
    ):
        return dark
    skin = grey_white.skin_level(prepared.grey, mask, calibration, fallback=prepared.background)
    bright = relative_contrast(prepared.grey, skin, Polarity.BRIGHT)
    np.maximum(bright, 0.0, out=bright)
    # Read as the dark reading reads its lines, with the dark contrast as the other polarity (the
    # bright rims of dark hair drop out), then kept apart from the dark hair.
    added, bright_mask, ridge = _grey_white_shafts(
        bright,
        prepared.contrast,
        mask,
        bridge,
        dark.shafts,
        calibration,
        field,
        parameters,
        # Dense dark hair lies over the grey shafts and cuts them: whole shafts only.
        min_whole_um=grey_white.DENSE_MIN_LENGTH_UM if dense else 0.0,
    )
    if not added or (automatic and len(added) < grey_white.MIN_SHAFTS):
        return dark
    skin = grey_white.skin_level(prepared.grey, mask | bright_mask, calibration, fallback=prepared.background)
    kept, _ = _darker_than(skin, dark, parameters)
    added, _ = _measured_unpigmented(
        added,
        rgb,
        mask | bright_mask,
        ridge,
        calibration,
        parameters,
        diameter_level=grey_white.DIAMETER_LEVEL,
    )
    return _grey_white_reading(dark, kept, added, bright_mask, scale, parameters)


def _darker_than(skin, dark: _Reading, parameters) -> tuple[list, list]:
    """The dark reading's shafts darker than ``skin`` (hair) and the others (the skin between grey
    shafts), by `grey_white.darker_than_skin`."""
    on_hair = grey_white.darker_than_skin(
        [hair.coords_px for _, hair in dark.shafts],
        dark.prepared.grey,
        dark.prepared.background,
        skin,
        low_contrast=parameters.low_contrast,
    )
    kept = [shaft for shaft, hair in zip(dark.shafts, on_hair, strict=True) if hair]
    dropped = [shaft for shaft, hair in zip(dark.shafts, on_hair, strict=True) if not hair]
    return kept, dropped


def _with_grey_white_among_dense(
    dark: _Reading, rgb, calibration, scale, field, parameters
) -> _Reading | None:
    """`_with_grey_white` where the dark reading's mask is dense: read against the middle brightness.

    The dark reading's background is the skin's closing, which grey and white shafts raise to their
    own level, so the skin between them is traced as dark hair (grey_hair phantoms: 13-39 % of the field
    covered) and no skin shows between the traces to be averaged. The skin is the middle brightness,
    dark hair below it and grey hair above (`grey_white.neutral_skin`): the dark traces no darker than
    it (`grey_white.darker_than_skin`) are that skin, and the grey and white shafts are read against it,
    apart from the dark traces that remain. A mask dense with dark hair keeps most of its length darker
    than the middle (`grey_white.mostly_skin`): None, it is not revised here (`_with_grey_white` reads
    the grey shafts between its hairs). Where dark hair covers most of the field, that middle is dark
    hair itself, and the dark traces it turns into skin are the real hairs while the "bright shafts"
    are the skin between them, cut short at every crossing: so the grey and white reading is kept only
    where its shafts follow whole shafts (`grey_white.follows_whole_shafts`), at least as long as the
    dark traces it turns into skin, and made only where the bright streaks suggest they may
    (`grey_white.may_follow_whole_shafts`: the bright pass costs as much as the dark one). The shafts
    are read by their bodies, not their glints (`_grey_white_shafts` with ``glossy``).
    """
    prepared, mask = dark.prepared, dark.mask
    skin = grey_white.neutral_skin(
        prepared.grey, calibration, max_hair_diameter_um=parameters.max_diameter_um
    )
    kept, dropped = _darker_than(skin, dark, parameters)
    dropped_um = [row["length_um"] for row, _ in dropped]
    if not grey_white.mostly_skin(dropped_um, [row["length_um"] for row, _ in kept]):
        return None  # the dense mask is dark hair (or holds no traces)
    hair_mask = mask & grey_white.drawn_shafts(kept, mask.shape, calibration)
    bridge = grey_white.bridge_mask(hair_mask, calibration)
    bright = relative_contrast(prepared.grey, skin, Polarity.BRIGHT)
    streaks_um = grey_white.streak_lengths_um(bright, bridge, calibration, level=parameters.high_contrast)
    if len(streaks_um) < grey_white.MIN_BRIGHT_STREAKS or not grey_white.may_follow_whole_shafts(
        streaks_um, dropped_um
    ):
        return dark
    np.maximum(bright, 0.0, out=bright)
    # The other polarity is the darkness against the same middle: dark hair, not the skin between
    # grey shafts.
    against_skin = np.maximum(relative_contrast(prepared.grey, skin, Polarity.DARK), 0.0)
    added, bright_mask, ridge = _grey_white_shafts(
        bright, against_skin, hair_mask, bridge, kept, calibration, field, parameters, glossy=True
    )
    if len(added) < grey_white.MIN_SHAFTS or not grey_white.follows_whole_shafts(
        [row["length_um"] for row, _ in added], dropped_um
    ):
        return dark
    added, _ = _measured_unpigmented(
        added,
        rgb,
        hair_mask | bright_mask,
        ridge,
        calibration,
        parameters,
        diameter_level=grey_white.DIAMETER_LEVEL,
    )
    return _grey_white_reading(dark, kept, added, bright_mask, scale, parameters)


def _grey_white_shafts(
    bright,
    opposite,
    hair_mask,
    bridge,
    dark_shafts,
    calibration,
    field,
    parameters,
    *,
    glossy=False,
    min_whole_um=0.0,
):
    """The grey and white shafts of ``bright`` (relative brightness above the skin) that `_with_grey_white`
    adds, and their mask: lines found against ``opposite`` (darkness against the same skin), kept apart
    from ``hair_mask`` (`grey_white.apart_from_hair`), pieces joined across ``bridge``, and shafts long,
    narrow and compact enough that run alongside none of ``dark_shafts``. With ``min_whole_um``, only
    shafts at least that long are added (all the shafts traced still decide which regions are blobs).

    With ``glossy``, each shaft is read by its body, not by its glint (`grey_white.body_contrast`):
    lines are found and seeded on the full contrast but grown and measured on the body contrast, and
    pieces are also joined across the stretches where a shaft fades (`grey_white.faint_stretches`).
    Also returns the ridge map the lines were found on: the caller measures the shafts it keeps in
    colour (`_measured_unpigmented`).
    """
    line_contrast = np.minimum(bright, np.float32(_MAX_LINE_CONTRAST))
    if glossy:
        bright = grey_white.body_contrast(bright, level=parameters.high_contrast)
        ridge, bright_mask = _find_lines(
            line_contrast, opposite, calibration, parameters, grow_contrast=bright
        )
        bridge = bridge | grey_white.faint_stretches(line_contrast, low_contrast=parameters.low_contrast)
    else:
        ridge, bright_mask = _find_lines(bright, opposite, calibration, parameters)
    bright_mask = grey_white.apart_from_hair(
        bright_mask,
        ridge,
        line_contrast,
        hair_mask,
        low_contrast=parameters.low_contrast,
        high_contrast=parameters.high_contrast,
    )
    if field is not None:
        bright_mask &= field
    candidates = [
        (row, hair)
        for row, hair in _shafts(
            bright,
            ridge,
            bright_mask,
            calibration,
            field,
            parameters,
            bridge=bridge,
            diameter_level=grey_white.DIAMETER_LEVEL,
        )
        if row["length_um"] >= max(grey_white.MIN_LENGTH_UM, parameters.min_length_um)
        and row["band_um"] <= grey_white.MAX_BAND_UM
    ]
    compact = grey_white.compact_shafts(bright_mask, candidates, calibration)
    candidates = [
        shaft
        for shaft, whole in zip(candidates, compact, strict=True)
        if whole and shaft[0]["length_um"] >= min_whole_um
    ]
    shares = _alongside_shares(
        dark_shafts, [hair.coords_px for _, hair in candidates], calibration, hair_mask.shape, parameters
    )
    added = [shaft for shaft, share in zip(candidates, shares, strict=True) if share <= _GREY_WHITE_ALONGSIDE]
    return added, bright_mask, ridge


def _measured_unpigmented(
    shafts,
    rgb,
    hair_mask,
    ridge,
    calibration,
    parameters,
    *,
    diameter_level,
    min_towards_grey=None,
    glint_level=None,
) -> tuple[list, np.ndarray]:
    """Grey and white shafts with the diameters of their bodies in colour; and which shafts are
    pigmented by their colour (with ``min_towards_grey``; else none).

    A translucent grey shaft as bright as the skin shows only its glint in brightness, a third of its
    width; its colour shows the whole body (`grey_white.off_skin_colour`). Each shaft is measured there
    at ``diameter_level`` of its profile's height (the level it was measured at in brightness), and
    takes that diameter where its profile stands out from the skin's texture and noise
    (`grey_white.MIN_OFF_SKIN_SNR`) and is no wider than a grey shaft can be
    (`grey_white.MAX_BAND_UM`: wider, it has run into the colour of a hair beside it), and, with
    ``min_towards_grey``, where its colour leaves the skin's towards neutral grey at least that closely
    (`grey_white.towards_grey`: a bright reading's shafts may be blond hair); the others keep their
    diameters in brightness. The skin's colour is taken outside ``hair_mask`` and twice
    `grey_white.MAX_BAND_UM` around each shaft (a translucent body may stand outside a mask grown on
    its glint). With ``glint_level``, the shafts are measured at that lower level instead where
    ``diameter_level`` finds only their glints (`_GLINT_WIDTH_RATIO`). Lengths, band widths and counts
    stay as read in brightness. A shaft is pigmented where its colour leaves the skin's less closely
    towards grey than ``min_towards_grey`` (not where the skin has no colour to compare with).
    """
    wide = [(dict(row, band_um=2.0 * grey_white.MAX_BAND_UM), hair) for row, hair in shafts]
    bodies = grey_white.drawn_shafts(wide, hair_mask.shape, calibration)
    not_skin = hair_mask | bodies
    contrast, skin_rgb = grey_white.off_skin_colour(rgb, not_skin, calibration)
    skin = ~not_skin
    pigmented = np.zeros(len(shafts), bool)
    if not skin.any():
        return shafts, pigmented
    min_peak = grey_white.MIN_OFF_SKIN_SNR * float(np.percentile(contrast[skin], 90))
    hairs = [hair for _, hair in shafts]
    measured = measure_hairs(contrast, hairs, ridge.sigma_px, diameter_level=diameter_level)
    if glint_level is not None:
        lower = measure_hairs(contrast, hairs, ridge.sigma_px, diameter_level=glint_level)
        ratios = [high.diameter_px / low.diameter_px for high, low in zip(measured, lower, strict=True)]
        ratios = np.asarray(ratios)[np.isfinite(ratios)]
        if len(ratios) >= _MEDIAN_MIN_SHAFTS and np.median(ratios) < _GLINT_WIDTH_RATIO:
            measured = lower
    greyish = np.ones(len(hairs), bool)
    if min_towards_grey is not None:
        towards = grey_white.towards_grey(rgb, skin_rgb, [hair.coords_px for hair in hairs])
        greyish = towards >= min_towards_grey
        pigmented = np.isfinite(towards) & ~greyish
    result = []
    for (row, hair), measurement, grey in zip(shafts, measured, greyish, strict=True):
        diameter_um = calibration.um(measurement.diameter_px)
        if grey and measurement.contrast >= min_peak and diameter_um <= grey_white.MAX_BAND_UM:
            row = dict(row, diameter_um=diameter_um, thickness_class=parameters.classify(diameter_um).value)
        result.append((row, hair))
    return result, pigmented


def _unread_dark_shafts(bright: _Reading, dark: _Reading, calibration, parameters) -> int:
    """How many of the dark reading's traces are pigmented hair that the bright reading kept for the
    photo does not count: at least `_UNREAD_DARK_CONTRAST` darker (median) than the photo outside the
    bright reading's mask (`grey_white.skin_level`: the skin, and the dark hair, thin beside it), and
    not alongside a bright shaft (`_GREY_WHITE_ALONGSIDE`)."""
    if not dark.shafts:
        return 0
    grey = dark.prepared.grey
    skin = grey_white.skin_level(grey, bright.mask, calibration, fallback=dark.prepared.background)
    (darkness,) = grey_white.median_darkness([hair.coords_px for _, hair in dark.shafts], grey, skin)
    kept = [
        shaft
        for shaft, dark_enough in zip(dark.shafts, darkness >= _UNREAD_DARK_CONTRAST, strict=True)
        if dark_enough
    ]
    if not kept:
        return 0
    shares = _alongside_shares(
        list(bright.shafts), [hair.coords_px for _, hair in kept], calibration, dark.mask.shape, parameters
    )
    return int(np.count_nonzero(shares <= _GREY_WHITE_ALONGSIDE))


def _grey_white_reading(dark: _Reading, kept, added, bright_mask, scale, parameters) -> _Reading:
    """``dark`` with its shafts ``kept`` and the grey and white shafts ``added`` (marked so)."""
    rows, centerlines = _photo_rows(kept, scale, parameters, [False] * len(kept))
    grey_rows, grey_centerlines = _photo_rows(added, scale, parameters, [True] * len(added))
    rows = [dict(row, hair_id=index) for index, row in enumerate(rows + grey_rows)]
    return dark._replace(
        mask=dark.mask | bright_mask,
        rows=rows,
        centerlines=centerlines + grey_centerlines,
        shafts=tuple(kept + added),
    )


def _alongside_shares(shafts, traces, calibration, shape, parameters) -> np.ndarray:
    """The share of each trace's centreline points (working pixels, (N, 2) each) that lie within
    `_ALONGSIDE_REACH` thickest-hair diameters (``parameters.max_diameter_um``) of a counted shaft's
    edge and run within `_ALONGSIDE_DEG` of its direction (`_colour_hairs`, `_grey_white_shafts`).

    The shafts' direction field is read at the traces' points only, so it is drawn only where it can
    reach one of them (a dense photo's shafts make thousands of segments, most far from any trace):
    the values at the traces' points are those of the whole field.
    """
    if not traces:
        return np.zeros(0)
    reach_px = _ALONGSIDE_REACH * calibration.px(parameters.max_diameter_um)
    coords = np.concatenate(traces)
    widths_px = [max(1, round(calibration.px(row["band_um"]))) for row, _ in shafts]
    bands_px = [round(width_px + 2 * reach_px) + 2 for width_px in widths_px]
    # A segment's thick line covers pixels within half its band (and a pixel of rasterisation) of the
    # segment, whose points lie within half its length (3 steps of at most 1.5 px) of an end; 3 px more
    # for the distance transform's approximation (under 2 % of the distance).
    reach_of_segments = max(bands_px, default=0) / 2 + 6
    away = np.ones(shape, np.uint8)
    away[tuple(np.clip(np.rint(coords).astype(int), 0, np.array(shape) - 1).T)] = 0
    near_traces = cv2.distanceTransform(away, cv2.DIST_L2, 5) <= reach_of_segments
    drawn = np.zeros(shape, np.uint8)
    # Direction as the doubled angle's unit vector (cos, sin): a line's direction has no sign.
    doubled = np.zeros((*shape, 2), np.float32)
    for (_, hair), width_px, band_px in zip(shafts, widths_px, bands_px, strict=True):
        points = np.round(hair.coords_px[:, ::-1]).astype(np.int32)
        cv2.polylines(drawn, [points.reshape(-1, 1, 2)], False, 1, thickness=width_px)
        corners = points[np.unique(np.r_[np.arange(0, len(points), 3), len(points) - 1])]
        ends_near = near_traces[corners[:, 1], corners[:, 0]]
        for k in np.flatnonzero(ends_near[:-1] | ends_near[1:]):
            p, q = corners[k], corners[k + 1]
            dx, dy = (q - p).astype(float)
            length2 = dx * dx + dy * dy
            if length2 > 0:
                direction = ((dx * dx - dy * dy) / length2, 2 * dx * dy / length2)
                cv2.line(doubled, p.tolist(), q.tolist(), direction, band_px)
    edge_distance = cv2.distanceTransform(1 - drawn, cv2.DIST_L2, 5)
    cos_limit = np.cos(np.radians(2 * _ALONGSIDE_DEG))
    tangent = np.concatenate(
        [
            gaussian_filter1d(np.gradient(trace.astype(np.float32), axis=0), 2.0, axis=0, mode="nearest")
            for trace in traces
        ]
    )
    dy, dx = tangent[:, 0], tangent[:, 1]
    norm = np.maximum(dx * dx + dy * dy, 1e-6)
    cos2, sin2 = values_at(doubled, coords).T
    agreement = ((dx * dx - dy * dy) * cos2 + 2 * dx * dy * sin2) / norm
    beside = (values_at(edge_distance, coords) <= reach_px) & (agreement >= cos_limit)
    sizes = np.array([len(trace) for trace in traces])
    return np.add.reduceat(beside.astype(np.int64), np.cumsum(sizes) - sizes) / sizes


def _worth_a_bright_look(dark: _Reading, rgb, calibration, parameters) -> bool:
    """Whether a photo read as dark hair should also be read as bright hair (`_follows_whole_shafts`).

    With ``polarity="auto"``: where bright lines of the photo's own clearly outweigh its dark ones
    (`Preprocessed.bright_plausible`); or where they merely outweigh them
    (`densitometry.preprocess.bright_outweighs`) and the dark reading finds fewer than `_FEW_HAIRS`
    hairs: white hair on light skin is faint in brightness and in blue, and its dark reading finds
    next to nothing (second renderer, white hair on light skin: read bright in 33 of 40 photos before
    this rule, 39 after; none of the 61 real example photos is read a second time for it).
    """
    if dark.prepared.bright_plausible:
        return True
    return (
        Polarity(parameters.polarity) is Polarity.AUTO
        and dark.prepared.polarity is Polarity.DARK
        and len(dark.rows) < _FEW_HAIRS
        and bright_outweighs(rgb, calibration, max_hair_diameter_um=parameters.max_diameter_um)
    )


def _follows_whole_shafts(bright: _Reading, dark: _Reading) -> bool:
    """Whether the bright reading of a photo read as dark hair is the right one.

    Read with the wrong polarity, a photo's "hairs" are the skin showing between its real hairs: where
    long hairs cross, that skin is cut short at every crossing, while the right reading follows whole
    shafts; where short (clipped) hairs lie apart, the skin between them is no line at all and the
    wrong reading finds few "hairs", faint ones. The bright reading wins (given at least
    `_MEDIAN_MIN_SHAFTS` bright hairs) where its hairs are typically `_SECOND_LOOK_LENGTH` times as
    long as the dark reading's (medians), where it traces `_SECOND_LOOK_COUNT` times as many shafts,
    or at least as many shafts that stand out `_SECOND_LOOK_CONTRAST` times more (median contrast:
    white hair on dark skin, whose dark reading follows faint skin along the photo's border or
    between the hairs); where the photo shows strong evidence of bright hair
    (`Preprocessed.bright_lines`), where its hairs are at least as long (white hair drawn by the
    second renderer, crossing at wide angles, cuts the skin between it into pieces nearly as long as
    its own). Shafts are counted as traced: a band split into touching hairs (`_split_bundles`) is
    one.

    Never where the bright reading's skin is darker than `_DARK_SKIN`: that "skin" is black hair
    covering most of the field, and its "hairs" the skin showing between them (long dark hair at
    250-330 hairs/cm²: 309 hairs read as 1108; lit by a dermatoscope, even the darkest skin is
    brighter).
    """
    if len(bright.rows) < _MEDIAN_MIN_SHAFTS or _skin_level(bright.prepared) < _DARK_SKIN:
        return False
    bright_shafts, dark_shafts = _traced_shafts(bright.rows), _traced_shafts(dark.rows)
    if bright_shafts >= _SECOND_LOOK_COUNT * dark_shafts:
        return True
    bright_contrast = float(np.median([row["contrast"] for row in bright.rows]))
    dark_contrast = float(np.median([row["contrast"] for row in dark.rows]))
    if bright_shafts >= dark_shafts and bright_contrast >= _SECOND_LOOK_CONTRAST * dark_contrast:
        return True
    bright_um = float(np.median([row["length_um"] for row in bright.rows]))
    dark_um = float(np.median([row["length_um"] for row in dark.rows]))
    if dark.prepared.bright_lines:
        return bright_um >= dark_um
    return bright_um > _SECOND_LOOK_LENGTH * dark_um


def _worth_a_dark_look(bright: _Reading, parameters) -> bool:
    """Whether a photo decided as bright hair (``polarity="auto"``, classic reading) should also be
    read as dark hair with the colour reading (`_pigmented_shafts`)."""
    return (
        not parameters.refine
        and parameters.colour_gain != 0.0
        and Polarity(parameters.polarity) is Polarity.AUTO
        and bright.prepared.polarity is Polarity.BRIGHT
    )


def _pigmented_shafts(dark: _Reading, bright: _Reading) -> bool:
    """Whether the dark reading of a photo decided as bright hair is the right one.

    Blond hair can be a little brighter than pale skin, so that the photo is decided bright, while
    the bright reading follows only the few shafts that stand out in brightness. Pigment absorbs blue
    more than red and white hair does not: where the dark reading reads colour lines of that sign
    (a colour gain, see `densitometry.preprocess.colour_contrast`) and traces more than
    `_SECOND_LOOK_COUNT` times as many shafts, the hair is blond and the dark reading wins (second
    renderer, blond hair: count error 21.3 -> 12.2 % on clipped shafts, 16.2 -> 11.2 % on long ones;
    white hair, and our own phantoms, unchanged). ``dark`` is a reading in colour (`_read` with
    ``in_colour_only``).
    """
    return _traced_shafts(dark.rows) > _SECOND_LOOK_COUNT * _traced_shafts(bright.rows)


def _traced_shafts(rows) -> float:
    """How many traced shafts a reading's rows hold: a band split into k touching hairs is one."""
    return sum(1.0 / row["bundle_size"] for row in rows)


def region_mask(region, shape_px, photo_name) -> np.ndarray:
    """The region of a photo to analyse (see `analyze`) as a boolean mask of ``shape_px`` (rows, cols).

    ``region``: a mask image file or PIL image (analysed where brighter than mid-grey), or an array
    (bool, or numbers: analysed where not 0). Raises `ParameterError` naming the photo where the region
    cannot be read, is not of the photo's size, or holds no pixel.
    """

    def wrong_size(region_shape):
        return ParameterError(
            f"{photo_name}: the region is {region_shape[1]}x{region_shape[0]} px, "
            f"the photo {shape_px[1]}x{shape_px[0]} px"
        )

    if isinstance(region, np.ndarray):
        if region.shape[:2] != tuple(shape_px):
            raise wrong_size(region.shape)
        if region.ndim == 2 and region.dtype != bool:
            if not np.issubdtype(region.dtype, np.number):
                raise ParameterError(
                    f"{photo_name}: a region array must be bool or numeric, got {region.dtype}"
                )
            region = region != 0
    label = os.fspath(region) if isinstance(region, (str, os.PathLike)) else "region"
    try:
        loaded = load_image(region, name=label)
    except ImageLoadError as error:
        raise ParameterError(f"{photo_name}: cannot read the region: {error}") from error
    if loaded.shape_px != tuple(shape_px):
        raise wrong_size(loaded.shape_px)
    inside = region_pixels(loaded.rgb)
    if not inside.any():
        raise ParameterError(
            f"{photo_name}: the region holds no pixel (white or True marks where to analyse)"
        )
    return inside


def region_pixels(rgb) -> np.ndarray:
    """Where a region mask image (RGB in [0, 1]) marks the photo to analyse: brighter than mid-grey."""
    return rgb.mean(axis=-1) >= 0.5


def field_within(field, region):
    """A field of view (None: the whole photo) limited to ``region`` (None: no limit)."""
    if region is None:
        return field
    return region if field is None else field & region


def _to_working(mask, shape_px):
    """A photo-resolution mask reduced to the working resolution (inside where mostly inside)."""
    reduced = cv2.resize(mask.astype(np.float32), shape_px[::-1], interpolation=cv2.INTER_AREA)
    return reduced >= 0.5


def _to_photo(mask, shape_px):
    """A working-resolution mask resized to the photo's pixels."""
    return cv2.resize(mask.view(np.uint8), shape_px[::-1], interpolation=cv2.INTER_NEAREST).view(bool)


def _touch_border(traced, shape_px, field=None, width_px_map=None) -> np.ndarray:
    """Whether each traced hair is cut by the image border or the field's edge, shape (n,).

    At the image border the skeleton runs to within a pixel of the edge; at the field's edge (where the
    mask is cut inside the photo) it stops about half a shaft width short of it.
    """
    if not traced:
        return np.zeros(0, dtype=bool)
    coords = np.concatenate([hair.coords_px for hair in traced])
    starts = np.cumsum([0] + [len(hair.coords_px) for hair in traced[:-1]])
    low = np.minimum.reduceat(coords, starts, axis=0) <= 1
    high = np.maximum.reduceat(coords, starts, axis=0) >= np.subtract(shape_px, 2)
    touches = low.any(axis=1) | high.any(axis=1)
    if field is not None:
        inside_px = cv2.distanceTransform(field.view(np.uint8), cv2.DIST_L2, 3)  # to the nearest outside
        slack = values_at(inside_px, coords) - 0.5 * values_at(width_px_map, coords)
        touches |= np.minimum.reduceat(slack, starts) <= 2.0
    return touches


def _working_resolution(rgb, calibration):
    """The photo resampled to `_WORKING_UM_PER_PX` when its pixels are finer, with its calibration.

    Returns
    -------
    rgb : ndarray, the (possibly) resampled photo
    calibration : Calibration of ``rgb``
    scale : ndarray of float, shape (2,)
        Photo pixels per working pixel along (rows, cols) (1 when not resampled).
    """
    if calibration.um_per_px >= 0.95 * _WORKING_UM_PER_PX:
        return rgb, calibration, np.ones(2)
    height, width = rgb.shape[:2]
    factor = _WORKING_UM_PER_PX / calibration.um_per_px
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    scale = np.array([height / size[1], width / size[0]])
    return small, Calibration(calibration.um_per_px * float(scale.mean())), scale


def _split_bundles(rows, centerlines, parameters):
    """Count a traced shaft wider than any single hair as the touching hairs it must be.

    Hairs of one follicular unit, or crossing at a shallow angle, can run side by side so that the mask
    holds one band as wide as the hairs together. A band whose band width
    (`densitometry.measure.HairMeasurement.band_width_px`) exceeds ``max_single_diameter_um``, with sharp
    edges (`_SHARP_BUNDLE_EDGE`), is ``n = round(width / typical width)`` hairs across (at most 4), each of
    an n-th of the band's diameter, and is split into ``k = min(n, ceil(length / width))`` such hairs; those
    rows carry ``bundle_size = k``. The typical width is the median band width of the photo's single shafts,
    or, where the typical width of all its traced shafts (at least `_MEDIAN_MIN_SHAFTS`;
    `_typical_width_um`) is itself wider than a single hair, that width: the calibration is then off or the
    hair unusually thick (real example photos at an assumed 7 µm/px hold whole photos of 130-250 µm shafts),
    and the photo's own shafts, not scalp hair, say how wide one is. A band less than 1.5 typical widths
    across stays one hair. A band holds no more hairs than it is long in band widths: a short wide band is
    the dark plug of a follicle, a hair's blurred end or a blob where several hairs cross, not n hairs side
    by side (phantoms of every scenario, seeds 1000-1003: bands shorter than twice their diameter held 105
    true hairs along them and were split into 177 by width alone; the real example photos' follicle plugs
    made bands of 3-4 at 1.4-1.6 widths long). A wide band with soft edges is one defocused hair. A narrower
    band whose width steps along its length (``touching``, see `_find_touching`) is the hairs side by side
    in it, each with its share of the band's diameter.
    """
    limit = parameters.max_single_diameter_um
    singles = [row["band_um"] for row in rows if row["band_um"] <= limit]
    typical = float(np.median(singles)) if singles else limit / 2.0
    if len(rows) >= _MEDIAN_MIN_SHAFTS:
        all_shafts = _typical_width_um([row["band_um"] for row in rows], [row["length_um"] for row in rows])
        if all_shafts > limit:
            typical = all_shafts
    split_rows, split_centerlines = [], []
    for row, coords in zip(rows, centerlines, strict=True):
        widths = 1
        if row["band_um"] > limit and row["edge_share"] < _SHARP_BUNDLE_EDGE:
            widths = int(np.clip(round(row["band_um"] / typical), 1, 4))
        if widths > 1:
            # No more hairs than the band is long in band widths (see above).
            counted = min(widths, math.ceil(row["length_um"] / row["band_um"]))
            diameters_um = [row["diameter_um"] / widths] * counted
        else:
            diameters_um = [row["diameter_um"] * share for share in row["touching"]]
        size = len(diameters_um)
        for diameter_um in diameters_um:
            split_rows.append(
                dict(
                    row,
                    hair_id=len(split_rows),
                    diameter_um=diameter_um,
                    thickness_class=parameters.classify(diameter_um).value,
                    bundle_size=size,
                )
            )
            split_centerlines.append(coords)
    return split_rows, split_centerlines


def _typical_width_um(widths_um, lengths_um) -> float:
    """The width of a photo's typical shaft: the larger of the median width of its traced shafts and
    their median width by length.

    By length, the long shafts that make up most of the hair in the photo outvote the short pieces a
    tangle leaves (thin stubs between thick shafts, in real photos of thick hair taken at a finer scale
    than given: 15 short pieces at 50 µm and 10 long shafts at 180 µm are a photo of 180 µm shafts);
    by count, many short wide pieces (a blurred follicle with the hair's end in it) outvote one long
    thin shaft. Either says the photo's hair is this wide.
    """
    widths = np.asarray(widths_um, dtype=float)
    lengths = np.asarray(lengths_um, dtype=float)
    measured = np.isfinite(widths) & np.isfinite(lengths)
    widths, lengths = widths[measured], lengths[measured]
    if not len(widths):
        return math.nan
    order = np.argsort(widths)
    cumulative = np.cumsum(lengths[order])
    by_length = widths[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])]
    return float(max(np.median(widths), by_length))


class _Lines(NamedTuple):
    """What a classic reading found its pieces on (`_looks_like_a_shaft`): the contrast, its
    `densitometry.segment.RidgeMap`, and whether short pieces must follow its crests."""

    contrast: np.ndarray
    ridge: RidgeMap
    along_crests: bool


def _looks_like_a_shaft(hair, measurement, parameters, min_length_px, lines=None) -> bool:
    """Reject short, winding or faint pieces: the edges of flakes and glare, skin texture.

    A shaft is stiff: over a short stretch it is nearly straight (chord at least 85 % of the pixel
    path, which itself runs ~5 % long, for pieces up to four minimum lengths), and its own contrast
    reaches the growing threshold. Winding pieces are skin texture or the rims of flakes and glare.
    Given the `_Lines` the piece was found on (classic reading), a short piece must also be line-like
    on its own (`_OWN_SEED_SHARE`) and, where they say so, follow the crests it lies on
    (`_MIN_ALONG_RIDGE`), and a faint one must not be a path through a net of traces
    (`_NETWORK_JUNCTIONS_PER_MM`).
    """
    if measurement.contrast < parameters.low_contrast:
        return False
    if not len(hair.junctions_px) and measurement.on_shaft_fraction < _MIN_ON_SHAFT:
        return False
    if lines is not None and measurement.contrast < _NETWORK_CONTRAST:
        length_mm = (
            (hair.length_px + measurement.band_width_px) / min_length_px * parameters.min_length_um / 1e3
        )
        if len(hair.junctions_px) >= _NETWORK_JUNCTIONS_PER_MM * length_mm:
            return False
    if hair.length_px <= _SHORT_PIECE_LENGTHS * min_length_px:
        if lines is not None:
            own_strength = float(np.median(values_at(lines.ridge.strength, hair.coords_px)))
            if own_strength < _OWN_SEED_SHARE * parameters.high_contrast:
                return False
        chord = float(np.linalg.norm(hair.coords_px[-1] - hair.coords_px[0]))
        if chord < 0.85 * hair.length_px:
            return False
        if lines is not None and lines.along_crests and len(hair.coords_px) >= 3:
            sigma_px = float(np.median(values_at(lines.ridge.sigma_px, hair.coords_px)))
            return along_ridge(lines.contrast, hair.coords_px, sigma_px) >= _MIN_ALONG_RIDGE
    return True


def resolve_parameters(parameters, options) -> AnalysisParameters:
    """The settings of an analysis given as ``parameters=AnalysisParameters(...)`` or as keyword options."""
    if parameters is not None and options:
        raise ParameterError("give either parameters=AnalysisParameters(...) or keyword options, not both")
    if parameters is not None:
        if not isinstance(parameters, AnalysisParameters):
            raise ParameterError(f"parameters must be an AnalysisParameters, got {type(parameters).__name__}")
        return parameters
    known = set(AnalysisParameters.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ParameterError(f"unknown option(s) {unknown}; valid options: {sorted(known)}")
    return AnalysisParameters(**options)


def _skin_level(prepared: Preprocessed) -> float:
    """Median brightness (luma) of a reading's skin background. The background is smooth (blurred at
    the scale of the thickest hair): every 4th pixel gives the same median at a sixteenth of the cost."""
    return float(np.median(prepared.background[::4, ::4]))


def _quality_warnings(prepared, hairs, parameters, um_per_px, *, unread_dark=0, pigmented_bright=0):
    warnings = []
    skin = _skin_level(prepared)
    if skin < _DARK_SKIN:
        warnings.append(f"underexposed: median skin brightness {skin:.2f} (of 1)")
    if skin > _BRIGHT_SKIN or float(np.mean(prepared.grey >= 0.995)) > 0.05:
        warnings.append("overexposed: skin or large areas are clipped to white")
    sharpness = float(np.var(np.diff(prepared.grey[::2], axis=1)))  # every 2nd row: same statistic
    if sharpness < 2e-5:
        warnings.append("blurred or featureless: very little fine detail in the photo")
    if prepared.bright_lines:
        warnings.append(
            "many bright hair-like lines: if some hairs are grey or white, the dark reading does not count "
            "them; analyse again with polarity='bright' (CLI --polarity bright) to count those"
        )
    if unread_dark >= _UNREAD_DARK_WARNING:
        warnings.append(
            f"read as grey or white hair: {unread_dark} dark (pigmented) shafts seen in the photo are not "
            "counted, as a bright reading counts no dark hair; check the overlay"
        )
    if pigmented_bright:
        warnings.append(
            f"read as bright hair, but {pigmented_bright} shafts are not grey or white in colour (blond "
            "hair?) and measure thin: a bright glint along a blond shaft is narrower than the shaft, so "
            "their diameters may read low; check them against the photo"
        )
    if len(hairs) < _FEW_HAIRS:
        warnings.append(f"few hairs detected ({len(hairs)}): check focus, calibration and polarity")
    else:
        typical_um = _typical_width_um(hairs["diameter_um"], hairs["length_um"])
        if typical_um > parameters.max_single_diameter_um:
            hinted_um_per_px = um_per_px * _TYPICAL_TERMINAL_UM / typical_um
            warnings.append(
                f"median shaft diameter {typical_um:.0f} µm is thicker than scalp hair (terminal 60-110 µm): "
                f"check the calibration (µm per pixel) and the focus; if most of these hairs are terminal "
                f"(about {_TYPICAL_TERMINAL_UM:.0f} µm), the photo is nearer {hinted_um_per_px:.1f} µm per pixel "
                f"than the {um_per_px:.1f} given"
            )
    return warnings
