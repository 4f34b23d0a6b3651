"""Geometry of a synthetic scene: follicular units, hair centrelines, and what lies inside the field."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from ._photo import TruthHair, TruthUnit
from ._scene import DIAMETER_CLASS_RANGES_UM, HairColour, LengthMode, SceneParameters

UM2_PER_CM2 = 1e8

# Body colour (RGB, 0-255) and absorption coefficient (per µm of chord) of each hair colour. Dark hairs are
# nearly opaque at terminal thickness; grey/white hairs scatter light (bright body colour) and are
# semi-transparent.
HAIR_LOOK = {
    HairColour.BLACK.value: ((22.0, 20.0, 19.0), 0.080),
    HairColour.DARK_BROWN.value: ((50.0, 36.0, 28.0), 0.055),
    HairColour.BROWN.value: ((98.0, 70.0, 50.0), 0.035),
    HairColour.BLOND.value: ((196.0, 166.0, 118.0), 0.014),
    HairColour.RED.value: ((158.0, 78.0, 44.0), 0.030),
    HairColour.GREY.value: ((210.0, 208.0, 204.0), 0.018),
    HairColour.WHITE.value: ((243.0, 242.0, 238.0), 0.022),
}
BRIGHT_COLOURS = (HairColour.GREY.value, HairColour.WHITE.value)
MAX_SAGITTA_PX = 0.01  # chord-to-arc error of the polyline


@dataclass(frozen=True)
class HairLook:
    """How one hair is drawn (not part of the truth beyond what `TruthHair` exposes)."""

    colour_rgb: tuple[float, float, float]
    absorption_per_um: float  # math.inf = opaque
    specular: float
    highlight_offset: float  # fraction of the radius, across the shaft
    modulation: float  # relative pigment variation along the shaft
    modulation_period_px: float
    phase: float
    defocused: bool


def field_distance_px(rows, cols, height_px, width_px):
    """Distance of points to the field rectangle (0 inside)."""
    dr = np.maximum(np.maximum(-0.5 - rows, rows - (height_px - 0.5)), 0)
    dc = np.maximum(np.maximum(-0.5 - cols, cols - (width_px - 0.5)), 0)
    return np.hypot(dr, dc)


def visible_fraction(p0, p1, height_px, width_px):
    """Fraction of each segment p0->p1 ((S, 2) arrays of (row, col)) inside the field (Liang-Barsky)."""
    d = p1 - p0
    t0 = np.zeros(len(p0))
    t1 = np.ones(len(p0))
    outside = np.zeros(len(p0), dtype=bool)
    bounds = ((0, -0.5, height_px - 0.5), (1, -0.5, width_px - 0.5))
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis, low, high in bounds:
            for p, q in ((-d[:, axis], p0[:, axis] - low), (d[:, axis], high - p0[:, axis])):
                parallel = p == 0
                outside |= parallel & (q < 0)
                r = q / p
                t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
                t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    return np.where(outside, 0.0, np.clip(t1 - t0, 0.0, 1.0))


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def sample_scene(params: SceneParameters, rng: np.random.Generator, *, height_px: int, width_px: int):
    """Draw follicular units and hairs for a scene.

    Returns
    -------
    hairs : list of TruthHair
        Hairs with a visible part in the field, ids 0..n-1.
    units : list of TruthUnit
    looks : list of HairLook
        Parallel to ``hairs``.
    """
    s = params.um_per_px
    mode = params.length_mode
    max_length_um = (
        params.clipped_length_um[1] if mode == LengthMode.CLIPPED.value else params.long_length_um[1]
    )
    margin_px = max_length_um / s + 2.0

    # Units on a jittered grid (stratified: Poisson-like without unrealistic clumps of openings).
    unit_density_px = params.hair_density_per_cm2 / params.mean_hairs_per_unit / UM2_PER_CM2 * s * s
    spacing, n_rows, n_cols = 1.0, 0, 0  # a hairless scalp (density 0): no units
    if unit_density_px > 0:
        spacing = 1.0 / math.sqrt(unit_density_px)
        n_rows = int(math.ceil((height_px + 2 * margin_px) / spacing))
        n_cols = int(math.ceil((width_px + 2 * margin_px) / spacing))
    grid_r, grid_c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    unit_r = (grid_r.ravel() + rng.random(grid_r.size)) * spacing - margin_px
    unit_c = (grid_c.ravel() + rng.random(grid_c.size)) * spacing - margin_px
    n_units = unit_r.size
    unit_size = rng.choice(4, size=n_units, p=params.unit_size_probabilities) + 1

    # Per-unit direction from a smooth flow field, plus jitter.
    flow = math.radians(params.flow_angle_deg)
    lam = params.flow_wavelength_um / s
    a1, a2, ph1, ph2 = rng.uniform(0, 2 * math.pi, 4)
    variation = 0.6 * np.sin(2 * np.pi * (unit_c * math.cos(a1) + unit_r * math.sin(a1)) / lam + ph1)
    variation += 0.4 * np.sin(2 * np.pi * (unit_c * math.cos(a2) + unit_r * math.sin(a2)) / (0.6 * lam) + ph2)
    unit_theta = flow + math.radians(params.flow_variation_deg) * variation
    unit_theta += math.radians(params.direction_jitter_deg) * rng.standard_normal(n_units)
    unit_kappa = params.curvature_per_mm * rng.standard_normal(n_units) * s / 1000.0  # rad per px
    unit_wave = math.radians(params.wave_amplitude_deg) * rng.random(n_units)
    unit_phase = rng.uniform(0, 2 * math.pi, n_units)

    # Hairs: one row per hair.
    unit_of = np.repeat(np.arange(n_units), unit_size)
    rank = np.arange(unit_of.size) - np.repeat(np.cumsum(unit_size) - unit_size, unit_size)
    k = unit_size[unit_of]
    n_hairs = unit_of.size
    klass = rng.choice(3, size=n_hairs, p=params.diameter_class_probabilities)
    diameter_um = np.empty(n_hairs)
    for c, (low, high) in enumerate(DIAMETER_CLASS_RANGES_UM):
        sel = klass == c
        if c == 2:
            draw = rng.standard_normal(sel.sum())
            diameter_um[sel] = _truncated_normal(draw, params.terminal_diameter_mean_um, 10.0, low, high)
        else:
            diameter_um[sel] = rng.uniform(low, high, sel.sum())
    length_um = _draw_lengths(params, rng, klass)
    colour_index = rng.choice(len(params.hair_colours), size=n_hairs, p=params.hair_colour_probabilities)

    # Cull hairs that cannot reach the field.
    keep = field_distance_px(unit_r[unit_of], unit_c[unit_of], height_px, width_px) < length_um / s + 3.0
    sel = np.flatnonzero(keep)
    unit_of, rank, k, klass = unit_of[sel], rank[sel], k[sel], klass[sel]
    diameter_um, length_um, colour_index = diameter_um[sel], length_um[sel], colour_index[sel]
    n_hairs = sel.size

    # Position and angle inside the unit: side by side (touching), fanning out after the contact stretch.
    theta = unit_theta[unit_of]
    centred = rank - (k - 1) / 2.0
    unit_mean_d = np.bincount(unit_of, weights=diameter_um, minlength=n_units) / np.maximum(
        np.bincount(unit_of, minlength=n_units), 1
    )
    offset_px = centred * unit_mean_d[unit_of] / s * rng.uniform(0.8, 1.0, n_hairs)
    emerge_r = unit_r[unit_of] + offset_px * np.cos(theta)
    emerge_c = unit_c[unit_of] - offset_px * np.sin(theta)
    spread = math.radians(params.unit_spread_deg) / 2.0
    delta = (
        np.where(k > 1, centred / np.maximum((k - 1) / 2.0, 1.0), 0.0)
        * spread
        * rng.uniform(0.5, 1.0, n_hairs)
    )
    contact_px = params.unit_contact_um / s * rng.uniform(0.6, 1.2, n_hairs)
    kappa = unit_kappa[unit_of] + 0.15 * params.curvature_per_mm * s / 1000.0 * rng.standard_normal(n_hairs)
    # Hairs bend gently: cap the total turn of the arc, so long hairs do not curl into loops.
    max_turn = rng.uniform(0.6, 1.4, n_hairs)
    kappa = np.clip(kappa, -max_turn / (length_um / s), max_turn / (length_um / s))
    wave = unit_wave[unit_of]
    wave_k = 2 * math.pi / (params.wave_length_um / s * rng.uniform(0.8, 1.25, n_hairs))
    phase = unit_phase[unit_of] + 0.2 * rng.standard_normal(n_hairs)

    # Polyline step from the largest heading change rate, so the chord-to-arc error stays tiny.
    length_px = length_um / s
    rate = np.abs(kappa) + wave * wave_k + 1.5 * np.abs(delta) / np.maximum(contact_px, 1.0)
    step = np.clip(np.sqrt(8 * MAX_SAGITTA_PX / np.maximum(rate, 1e-9)), 0.75, 6.0)
    n_seg = np.maximum(np.ceil(length_px / step).astype(int), 2)
    step = length_px / n_seg
    seg_hair = np.repeat(np.arange(n_hairs), n_seg)
    seg_start = np.cumsum(n_seg) - n_seg
    i_local = np.arange(seg_hair.size) - seg_start[seg_hair]
    s_mid = (i_local + 0.5) * step[seg_hair]
    h = seg_hair
    heading = (
        theta[h]
        + delta[h] * _smoothstep(s_mid / contact_px[h])
        + kappa[h] * s_mid
        + wave[h] * (np.sin(wave_k[h] * s_mid + phase[h]) - np.sin(phase[h]))
    )
    d_r = step[h] * np.sin(heading)
    d_c = step[h] * np.cos(heading)
    cum_r, cum_c = np.cumsum(d_r), np.cumsum(d_c)
    base_r = np.concatenate([[0.0], cum_r])[seg_start]
    base_c = np.concatenate([[0.0], cum_c])[seg_start]
    end_r = emerge_r[h] + cum_r - base_r[h]
    end_c = emerge_c[h] + cum_c - base_c[h]
    start_r = end_r - d_r
    start_c = end_c - d_c
    frac = visible_fraction(
        np.column_stack([start_r, start_c]), np.column_stack([end_r, end_c]), height_px, width_px
    )
    visible_um = np.bincount(h, weights=frac * step[h], minlength=n_hairs) * s

    # Units to report: every hair-bearing unit inside the field, and outside ones with a visible hair.
    unit_inside = field_distance_px(unit_r, unit_c, height_px, width_px) == 0
    visible = visible_um > 1e-9
    unit_reported = unit_inside.copy()
    unit_reported[unit_of[visible]] = True
    unit_ids = -np.ones(n_units, dtype=int)
    unit_ids[unit_reported] = np.arange(unit_reported.sum())

    hairs, looks = [], []
    hair_lists: dict[int, list[int]] = {int(u): [] for u in np.flatnonzero(unit_reported)}
    colour_names = params.hair_colours
    pigment = params.pigment_scale * np.exp(rng.normal(0, 0.25, n_hairs))
    pigment *= np.where(
        klass == 0, rng.uniform(0.3, 0.7, n_hairs), np.where(klass == 1, rng.uniform(0.6, 1.0, n_hairs), 1.0)
    )
    defocus_draw = rng.random(n_hairs)
    looks_draw = rng.random((n_hairs, 6))
    for j in np.flatnonzero(visible):
        a, b = seg_start[j], seg_start[j] + n_seg[j]
        points = np.empty((n_seg[j] + 1, 2))
        points[0] = emerge_r[j], emerge_c[j]
        points[1:, 0] = end_r[a:b]
        points[1:, 1] = end_c[a:b]
        points.setflags(write=False)
        hair_id = len(hairs)
        colour = str(colour_names[colour_index[j]])
        body, absorption = HAIR_LOOK[colour]
        absorption = absorption * pigment[j]
        opacity = 1.0 - math.exp(-absorption * diameter_um[j])
        full_um = float(length_px[j] * s)
        vis = float(min(visible_um[j], full_um))
        hairs.append(
            TruthHair(
                hair_id=hair_id,
                unit_id=int(unit_ids[unit_of[j]]),
                centerline_px=points,
                diameter_um=float(diameter_um[j]),
                length_um=full_um,
                visible_length_um=vis,
                colour=colour,
                emergence_px=(float(emerge_r[j]), float(emerge_c[j])),
                crosses_border=bool(vis < full_um - 1e-6 * full_um),
                centre_opacity=float(opacity),
                defocused=bool(defocus_draw[j] < params.defocused_hair_fraction and full_um > 1500.0),
            )
        )
        u = looks_draw[j]
        bright = colour in BRIGHT_COLOURS
        looks.append(
            HairLook(
                colour_rgb=tuple(float(v) for v in np.clip(np.asarray(body) * (0.9 + 0.2 * u[0]), 0, 255)),
                absorption_per_um=absorption,
                specular=params.specular_strength * (0.3 + 0.7 * u[1]) * (1.0 if bright else 0.35),
                highlight_offset=0.7 * (u[2] - 0.5),
                modulation=0.12 * u[3],
                modulation_period_px=(100.0 + 500.0 * u[4]) / s,
                phase=2 * math.pi * u[5],
                defocused=hairs[-1].defocused,
            )
        )
        hair_lists[int(unit_of[j])].append(hair_id)

    units = [
        TruthUnit(
            unit_id=int(unit_ids[u]),
            position_px=(float(unit_r[u]), float(unit_c[u])),
            hair_ids=tuple(hair_lists[u]),
            inside_field=bool(unit_inside[u]),
        )
        for u in np.flatnonzero(unit_reported)
    ]
    # Empty openings (no hair), scattered over the field, in proportion to the hair-bearing units inside.
    n_hair_units = sum(1 for unit in units if unit.inside_field)
    n_empty = int(rng.poisson(n_hair_units * params.empty_opening_fraction))
    for _ in range(n_empty):
        units.append(
            TruthUnit(
                unit_id=len(units),
                position_px=(
                    float(rng.uniform(-0.5, height_px - 0.5)),
                    float(rng.uniform(-0.5, width_px - 0.5)),
                ),
                hair_ids=(),
                inside_field=True,
            )
        )
    return hairs, units, looks


def _draw_lengths(params, rng, klass):
    n = klass.size
    lo, hi = params.clipped_length_um
    clipped = rng.uniform(lo, hi, n)
    lo, hi = params.long_length_um
    long = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    vellus = rng.uniform(200.0, 2000.0, n)  # vellus hairs stay short
    if params.length_mode == LengthMode.CLIPPED.value:
        return clipped
    if params.length_mode == LengthMode.LONG.value:
        return np.where(klass == 0, np.minimum(vellus, long), long)
    regrowing = rng.random(n) < 0.35
    return np.where(
        regrowing, rng.uniform(200.0, 1500.0, n), np.where(klass == 0, np.minimum(vellus, long), long)
    )


def _truncated_normal(standard, mean, sd, low, high):
    """Standard normal draws mapped onto the normal of ``mean`` and ``sd`` truncated to [low, high]
    through its distribution function: every draw lands inside, in proportion to that normal's density
    there. Clipping instead piles the draws beyond either limit onto it (a quarter of the terminal hairs
    of a scene with a terminal mean of 65 µm would be exactly 60 µm, the very threshold their class is
    told by)."""
    lower, upper = ndtr((low - mean) / sd), ndtr((high - mean) / sd)
    return mean + sd * ndtri(lower + (upper - lower) * ndtr(standard))
