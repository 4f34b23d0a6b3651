"""Rendering of a synthetic trichoscopy photo: skin, openings, hairs, artefacts, optics and camera."""

from __future__ import annotations

import dataclasses
import math
import numbers
import zlib

import cv2
import numpy as np

from ..calibration import Calibration
from ..errors import ParameterError
from ._geometry import HairLook, sample_scene
from ._photo import SyntheticPhoto
from ._raster import rasterize_hair
from ._scene import SceneParameters, scene_parameters

MAX_SIDE_PX = 8192


def _check_size(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 16 <= value <= MAX_SIDE_PX:
        raise ParameterError(f"{name} must be an integer from 16 to {MAX_SIDE_PX} pixels, got {value!r}")
    return int(value)


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _smooth_noise(rng, shape, scale_px):
    """Gaussian noise with correlation length ~``scale_px``, roughly unit variance, float32 (H, W)."""
    height, width = shape
    scale_px = max(float(scale_px), 1.0)
    small = (int(math.ceil(height / scale_px)) + 2, int(math.ceil(width / scale_px)) + 2)
    noise = rng.standard_normal(small, dtype=np.float32)
    out = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    return out / max(float(out[:: max(height // 64, 1), :: max(width // 64, 1)].std()), 1e-3)


def colour_blotches(shape, rng, blotch_px, levels):
    """Smooth colour noise with no brightness change, float32 of ``shape`` (H, W, 3), in grey levels.

    A Gaussian-smoothed white-noise field (``blotch_px`` across) per channel, scaled to ``levels``
    standard deviation and made equal and opposite across the channels, as the colour noise of a cheap
    camera after chroma subsampling and denoising looks.
    """
    field = cv2.GaussianBlur(rng.normal(0.0, 1.0, size=shape).astype(np.float32), (0, 0), float(blotch_px))
    field /= field.reshape(-1, shape[2]).std(axis=0) + np.float32(1e-6)
    field -= field.mean(axis=2, keepdims=True)
    return field * np.float32(levels)


def _blur(image, sigma_px):
    """Gaussian blur; large sigmas are done at reduced resolution (same result to the eye, much faster)."""
    if sigma_px < 0.2:
        return image
    if sigma_px <= 6.0:
        return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma_px), borderType=cv2.BORDER_REFLECT)
    height, width = image.shape[:2]
    factor = sigma_px / 3.0
    small_size = (max(int(round(width / factor)), 1), max(int(round(height / factor)), 1))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=3.0, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _skin(params, rng, shape):
    """Skin with low-frequency tone and redness variation and fine texture, float32 (H, W, 3)."""
    s = params.um_per_px
    base = np.asarray(params.skin_rgb, dtype=np.float32)
    v = params.skin_variation
    lum = 1.0 + v * _smooth_noise(rng, shape, 1500.0 / s) + 0.6 * v * _smooth_noise(rng, shape, 400.0 / s)
    red = np.clip(_smooth_noise(rng, shape, rng.uniform(600.0, 2500.0) / s), 0, 2.0) * params.redness
    texture = params.texture_strength * (
        _smooth_noise(rng, shape, rng.uniform(15.0, 40.0) / s) + 0.5 * _smooth_noise(rng, shape, 1.5)
    )
    skin = np.empty(shape + (3,), dtype=np.float32)
    tint = np.array([0.03, -0.09, -0.06], dtype=np.float32)
    for c in range(3):
        skin[..., c] = base[c] * lum * (1.0 + tint[c] * red) * (1.0 + texture)
    return skin


def _creases(params, rng, shape):
    """Multiplicative darkening (H, W) of long, soft skin creases, wider than hairs."""
    height, width = shape
    s = params.um_per_px
    out = np.zeros(shape, dtype=np.float32)
    for _ in range(params.crease_count):
        n = 6
        angle = rng.uniform(0, math.pi)
        centre = np.array([rng.uniform(0, height), rng.uniform(0, width)])
        length = 1.5 * math.hypot(height, width)
        t = np.linspace(-0.5, 0.5, n) * length
        bend = np.cumsum(rng.normal(0, 0.15, n))
        heading = angle + bend
        pts = centre + np.column_stack([t * np.sin(heading), t * np.cos(heading)])
        width_px = rng.uniform(80.0, 300.0) / s
        layer = np.zeros(shape, dtype=np.float32)
        cv2.polylines(
            layer,
            [np.round(pts[:, ::-1] * 16).astype(np.int32)],
            False,
            1.0,
            max(int(width_px), 1),
            cv2.LINE_AA,
            4,
        )
        out = np.maximum(out, _blur(layer, width_px / 2.5) * rng.uniform(0.04, 0.15))
    return out


def _openings(units, params, rng, shape):
    """Per-channel multiplicative factor (H, W, 3) of follicular openings (darker, pinkish dots)."""
    s = params.um_per_px
    layer = np.zeros(shape + (3,), dtype=np.float32)
    lo, hi = params.opening_diameter_um
    for unit in units:
        radius = rng.uniform(lo, hi) / 2 / s
        r, c = unit.position_px
        if not (-radius < r < shape[0] + radius and -radius < c < shape[1] + radius):
            continue
        strength = params.opening_contrast * rng.uniform(0.5, 1.3) * (1.3 if not unit.hair_ids else 1.0)
        yellow_dot = not unit.hair_ids and rng.random() < 0.3  # sebum-filled empty opening
        weights = (-0.1, -0.05, 0.35) if yellow_dot else (0.55, 1.0, 0.85)
        colour = tuple(float(strength * w) for w in weights)
        centre = (int(round(c * 16)), int(round(r * 16)))
        cv2.circle(layer, centre, max(int(round(radius * 16)), 8), colour, -1, cv2.LINE_8, 4)
    sigma = 0.35 * np.mean(params.opening_diameter_um) / 2 / s
    return 1.0 - np.clip(_blur(layer, sigma), -0.5, 0.9)


def _flakes(params, rng, shape, count):
    """Premultiplied colour (H, W, 3) and alpha (H, W) of dandruff flakes (white/yellowish patches)."""
    s = params.um_per_px
    height, width = shape
    colour = np.zeros(shape + (3,), dtype=np.float32)
    alpha = np.zeros(shape, dtype=np.float32)
    if count == 0:
        return colour, alpha
    for _ in range(count):
        # Irregular but rounded outline: a radius made of a few low harmonics plus a little jitter.
        size = 0.5 * rng.uniform(100.0, 900.0) / s
        angles = np.linspace(0, 2 * math.pi, 40, endpoint=False)
        radii = np.ones_like(angles)
        for harmonic in (2, 3, 5):
            radii += rng.uniform(0, 0.5 / harmonic**0.5) * np.sin(
                harmonic * angles + rng.uniform(0, 2 * math.pi)
            )
        radii = size * np.clip(radii + 0.05 * rng.standard_normal(angles.size), 0.15, None)
        centre = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        squash, turn = rng.uniform(0.4, 1.0), rng.uniform(0, math.pi)
        x, y = radii * np.cos(angles), radii * np.sin(angles) * squash
        pts = centre + np.column_stack(
            [x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)]
        )
        a = rng.uniform(0.5, 0.95)
        tone = np.array([248.0, 246.0, rng.uniform(200.0, 245.0)], dtype=np.float32) * rng.uniform(0.93, 1.03)
        poly = [np.round(pts * 16).astype(np.int32)]
        cv2.fillPoly(alpha, poly, a, cv2.LINE_AA, 4)
        cv2.fillPoly(colour, poly, tuple(float(v * a) for v in tone), cv2.LINE_AA, 4)
    grain = np.clip(0.9 + 0.08 * _smooth_noise(rng, shape, max(25.0 / s, 1.0)), 0.6, 1.1)
    sigma = max(15.0 / s, 0.6)
    alpha = np.clip(_blur(alpha, sigma) * grain, 0, 1)
    colour = _blur(colour, sigma) * grain[..., None]
    return colour, alpha


def _glare(params, rng, shape, flow_deg):
    """Additive specular sebum glare (H, W): bright soft blobs and streaks, plus tiny sparkles."""
    s = params.um_per_px
    height, width = shape
    layer = np.zeros(shape, dtype=np.float32)
    for _ in range(params.glare_count):
        axes = (max(int(rng.uniform(80, 700) / s), 1), max(int(rng.uniform(30, 200) / s), 1))
        angle = flow_deg + rng.normal(0, 30)
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        peak = float(rng.uniform(25, 110))
        for scale in (1.0, 0.65, 0.35):  # stacked ellipses: a soft, peaked highlight
            inner = (max(int(axes[0] * scale), 1), max(int(axes[1] * scale), 1))
            cv2.ellipse(layer, centre, inner, angle, 0, 360, peak / 3, -1, cv2.LINE_AA)
    layer = _blur(layer, max(rng.uniform(30.0, 80.0) / s, 1.0))
    n_sparkles = int(rng.poisson(params.glare_count * 30))
    if n_sparkles:
        rr = rng.integers(0, height, n_sparkles)
        cc = rng.integers(0, width, n_sparkles)
        sparks = np.zeros(shape, dtype=np.float32)
        sparks[rr, cc] = rng.uniform(100, 400, n_sparkles)
        layer += _blur(sparks, max(4.0 / s, 0.7))
    return layer


def _speckle(params, rng, shape):
    """Premultiplied colour (H, W, 3) and alpha (H, W) of fine white specks of scale and sebum.

    Specks cluster in patches (their density follows smooth noise); each is a soft round dot of a
    diameter drawn from ``speckle_diameter_um``, nearly white with a slight blue tint.
    """
    s = params.um_per_px
    height, width = shape
    low, high = params.speckle_diameter_um
    diameters_um = rng.uniform(low, high, 3)  # three size groups, each drawn in one pass
    patchiness = np.clip(0.6 + _smooth_noise(rng, shape, rng.uniform(150.0, 600.0) / s), 0.0, 1.0)
    alpha = np.zeros(shape, dtype=np.float32)
    for diameter_um in diameters_um.tolist():
        sigma = max(0.5, diameter_um / s / 2.5)
        expected = params.speckle_fraction / 3 * height * width / (math.pi * (diameter_um / s / 2) ** 2)
        expected /= max(float(patchiness.mean()), 0.1)  # the patches thin the specks out
        count = int(rng.poisson(expected))
        if not count:
            continue
        rows, cols = rng.integers(0, height, count), rng.integers(0, width, count)
        keep = rng.random(count) < patchiness[rows, cols]
        dots = np.zeros(shape, dtype=np.float32)
        np.add.at(dots, (rows[keep], cols[keep]), rng.uniform(0.6, 1.2, int(keep.sum())))
        # A blurred unit impulse peaks at 1 / (2 pi sigma^2): rescale so an isolated dot peaks at its
        # opacity, and saturate where dots overlap.
        alpha = np.maximum(alpha, np.clip(_blur(dots, sigma) * (2 * math.pi * sigma**2), 0, 0.95))
    tone = np.array([245.0, 247.0, 252.0], dtype=np.float32)
    return alpha[..., None] * tone, alpha


def _illumination(params, rng, shape):
    """Multiplicative illumination (H, W): vignetting, off-centre, plus a linear gradient."""
    height, width = shape
    rows = np.linspace(-1, 1, height, dtype=np.float32)[:, None] * (height / max(height, width))
    cols = np.linspace(-1, 1, width, dtype=np.float32)[None, :] * (width / max(height, width))
    cr, cc = rng.normal(0, 0.15, 2)
    r2 = ((rows - cr) ** 2 + (cols - cc) ** 2) / 2.0
    power = rng.uniform(1.0, 2.0)
    light = 1.0 - params.vignetting * np.clip(r2, 0, 1.5) ** power
    phi = rng.uniform(0, 2 * math.pi)
    light = light + params.illumination_gradient * 0.5 * (rows * math.sin(phi) + cols * math.cos(phi))
    return np.clip(light, 0.05, 2.0).astype(np.float32)


def _composite_hairs(image, hairs, looks, params, rng, canvas, *, defocus_px):
    """Draw the hairs over ``image`` (H, W, 3 float32, modified) in depth order; return truth masks."""
    height, width = image.shape[:2]
    s = params.um_per_px
    flat = image.reshape(-1, 3)
    mask = np.zeros(height * width, dtype=bool)
    diam = np.zeros(height * width, dtype=np.float32)
    rasters = [
        rasterize_hair(h.centerline_px, diameter_px=h.diameter_um / s, shape=(height, width), canvas=canvas)
        for h in hairs
    ]
    alphas = []
    for hair, look, ras in zip(hairs, looks, rasters, strict=True):
        if ras is None:
            alphas.append(None)
            continue
        if math.isinf(look.absorption_per_um):
            body = np.ones_like(ras.chord_px)
        else:
            body = -np.expm1(-look.absorption_per_um * ras.chord_px * s)
        alphas.append(ras.coverage * body)
        solid = ras.coverage >= 0.5
        sel = ras.index[solid]
        mask[sel] = True
        diam[sel] = np.maximum(diam[sel], np.float32(hair.diameter_um))

    # Soft contact shadows of the hairs on the skin (hairs lie on or just above the surface).
    if params.shadow_strength > 0 and hairs:
        shadow = np.zeros(height * width, dtype=np.float32)
        for ras, alpha in zip(rasters, alphas, strict=True):
            if ras is not None:
                shadow[ras.index] = np.maximum(shadow[ras.index], alpha)
        shadow = shadow.reshape(height, width)
        mean_d = np.mean([h.diameter_um for h in hairs]) / s
        angle = rng.uniform(0, 2 * math.pi)
        shift = rng.uniform(0.3, 1.0) * mean_d
        matrix = np.float32([[1, 0, shift * math.cos(angle)], [0, 1, shift * math.sin(angle)]])
        shadow = cv2.warpAffine(shadow, matrix, (width, height), borderMode=cv2.BORDER_CONSTANT)
        shadow = _blur(shadow, max(0.6 * mean_d, 0.7))
        image *= (1.0 - params.shadow_strength * np.clip(shadow, 0, 1))[..., None]

    layer_rgb = layer_a = None
    for look, ras, alpha in zip(looks, rasters, alphas, strict=True):
        if ras is None:
            continue
        colour = np.asarray(look.colour_rgb, dtype=np.float32)
        wave = 1.0 + look.modulation * np.sin(
            ras.arclength_px * (2 * math.pi / look.modulation_period_px) + look.phase
        )
        premult = (alpha * wave)[:, None] * colour[None, :]
        if look.specular > 0:
            width_frac = 0.15
            glint = np.exp(-0.5 * ((ras.offset - look.highlight_offset) / width_frac) ** 2)
            glint *= 0.65 + 0.35 * np.sin(
                ras.arclength_px * (2 * math.pi / (4 * look.modulation_period_px)) + 2 * look.phase
            )
            premult += (ras.coverage * look.specular * 255.0 * glint)[:, None]
        if look.defocused and defocus_px > 0.3:
            if layer_rgb is None:
                layer_rgb = np.zeros_like(flat)
                layer_a = np.zeros(height * width, dtype=np.float32)
            idx = ras.index
            layer_rgb[idx] = layer_rgb[idx] * (1.0 - alpha)[:, None] + premult
            layer_a[idx] = layer_a[idx] * (1.0 - alpha) + alpha
        else:
            idx = ras.index
            flat[idx] = flat[idx] * (1.0 - alpha)[:, None] + premult
    if layer_rgb is not None:
        layer_rgb = _blur(layer_rgb.reshape(height, width, 3), defocus_px)
        layer_a = _blur(layer_a.reshape(height, width), defocus_px)
        image *= (1.0 - layer_a)[..., None]
        image += layer_rgb
    return mask.reshape(height, width), diam.reshape(height, width)


def _centerline_mask(hairs, shape):
    mask = np.zeros(shape, dtype=np.uint8)
    polylines = [
        np.round(h.centerline_px[:, ::-1] * 16).astype(np.int32).clip(-(1 << 28), 1 << 28) for h in hairs
    ]
    if polylines:
        cv2.polylines(mask, polylines, False, 1, 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def render(
    params: SceneParameters, *, seed: int, width_px: int, height_px: int, hairs=None
) -> SyntheticPhoto:
    """Render one synthetic photo from explicit scene parameters.

    Parameters
    ----------
    params : SceneParameters
    seed : int
        Seeds every random draw of the rendering (geometry, skin, artefacts, noise); >= 0.
    width_px, height_px : int
        Image size, 16-8192 pixels.
    hairs : sequence of TruthHair, optional
        Draw exactly these hairs instead of sampling follicular units (a hand-made phantom): each hair
        is its own unit; ``centerline_px``, ``diameter_um``, ``colour`` and ``centre_opacity`` are used
        (opacity 1 = opaque); the other fields are recomputed.

    Where ``params.frame_margins_px`` asks for flat margins, the scene fills the field inside them
    (`SyntheticPhoto.field_px`); coordinates stay the photo's pixels.

    Returns
    -------
    SyntheticPhoto

    Raises
    ------
    ParameterError
        If the size or seed is invalid or ``params`` is not a `SceneParameters`.
    """
    if not isinstance(params, SceneParameters):
        raise ParameterError(f"params must be a SceneParameters, got {type(params).__name__}")
    width_px = _check_size(width_px, "width_px")
    height_px = _check_size(height_px, "height_px")
    seed = _check_seed(seed)
    if any(params.frame_margins_px):
        return _with_margins(params, seed=seed, width_px=width_px, height_px=height_px, hairs=hairs)
    shape = (height_px, width_px)
    s = params.um_per_px
    geo_rng, skin_rng, art_rng, hair_rng, cam_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(5)
    )
    if hairs is None:
        truth_hairs, units, looks = sample_scene(params, geo_rng, height_px=height_px, width_px=width_px)
    else:
        truth_hairs, units, looks = _explicit_hairs(hairs, params, shape)

    image = _skin(params, skin_rng, shape)
    image *= _openings(units, params, skin_rng, shape)
    if params.crease_count:
        image *= (1.0 - _creases(params, art_rng, shape))[..., None]
    n_flakes = params.flake_count
    n_under = int(art_rng.binomial(n_flakes, 0.5)) if n_flakes else 0
    flake_rgb, flake_a = _flakes(params, art_rng, shape, n_under)
    image = image * (1.0 - flake_a)[..., None] + flake_rgb
    if params.speckle_fraction > 0:
        speck_rgb, speck_a = _speckle(params, art_rng, shape)
        image = image * (1.0 - speck_a)[..., None] + speck_rgb

    canvas = np.zeros(shape, dtype=np.int32)
    hair_mask, diameter_map = _composite_hairs(
        image, truth_hairs, looks, params, hair_rng, canvas, defocus_px=params.hair_defocus_um / s
    )
    flake_rgb, flake_a = _flakes(params, art_rng, shape, n_flakes - n_under)
    image = image * (1.0 - flake_a)[..., None] + flake_rgb
    image *= _illumination(params, art_rng, shape)[..., None]
    image *= np.asarray(params.white_balance, dtype=np.float32) * params.exposure
    if params.glare_count:
        image += _glare(params, art_rng, shape, params.flow_angle_deg)[..., None]

    image, encoded = _camera(image, params, cam_rng)
    return SyntheticPhoto(
        image=image,
        um_per_px=s,
        hairs=tuple(truth_hairs),
        units=tuple(units),
        hair_mask=hair_mask,
        centerline_mask=_centerline_mask(truth_hairs, shape),
        diameter_map_um=diameter_map,
        params=params,
        seed=seed,
        encoded_jpeg=encoded,
    )


def _camera(image, params, rng):
    """Optics and sensor: defocus, sharpening, tone curve, saturation, noise, 8-bit, JPEG."""
    s = params.um_per_px
    image = _blur(image, params.defocus_um / s)
    if params.sharpening > 0:
        image = image + params.sharpening * (image - _blur(image, 1.5))
    image = np.clip(image, 0, 255)
    if params.gamma != 1.0:
        image = 255.0 * (image / 255.0) ** (1.0 / params.gamma)
    if params.saturation != 1.0:
        grey = image.mean(axis=2, keepdims=True)
        image = grey + params.saturation * (image - grey)
    if params.colour_noise_levels > 0:
        image = image + colour_blotches(
            image.shape, rng, params.colour_noise_blotch_px, params.colour_noise_levels
        )
    if params.noise_sigma > 0:
        # Poisson-Gaussian sensor noise: variance = read² + gain * signal, noise_sigma at mid-grey.
        read = 0.4 * params.noise_sigma
        gain = (params.noise_sigma**2 - read**2) / 128.0
        sigma = np.sqrt(read**2 + gain * np.clip(image, 0, 255))
        image = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return _jpeg(np.clip(np.round(image), 0, 255).astype(np.uint8), params.jpeg_quality)


def _jpeg(image8, quality):
    """``image8`` (RGB uint8) as decoded from a JPEG stream of ``quality``, and that stream (or itself and
    None where ``quality`` is None)."""
    if quality is None:
        return image8, None
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(image8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("OpenCV failed to JPEG-encode the synthetic image")
    decoded = cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return decoded, buffer.tobytes()


def _with_margins(params, *, seed, width_px, height_px, hairs):
    """`render` of a photo with flat margins (``params.frame_margins_px``): the scene rendered on the
    field and framed by the margins before JPEG compression, as an exported frame is; the truth in
    the photo's pixels."""
    top, bottom, left, right = params.frame_margins_px
    field_h, field_w = height_px - top - bottom, width_px - left - right
    if min(field_h, field_w) < 16:
        raise ParameterError(
            f"frame_margins_px {params.frame_margins_px} leave a field of {field_w} x {field_h} px "
            "(at least 16 px per side)"
        )
    offset = np.array([top, left], float)

    def moved(points, by):
        points = np.asarray(points, float) + by
        points.setflags(write=False)
        return points

    if hairs is not None:
        hairs = [dataclasses.replace(h, centerline_px=moved(h.centerline_px, -offset)) for h in hairs]
    inner = render(
        dataclasses.replace(params, frame_margins_px=(0, 0, 0, 0), jpeg_quality=None),
        seed=seed,
        width_px=field_w,
        height_px=field_h,
        hairs=hairs,
    )
    inside = (slice(top, top + field_h), slice(left, left + field_w))

    def framed(array, fill):
        out = np.full((height_px, width_px, *array.shape[2:]), fill, dtype=array.dtype)
        out[inside] = array
        return out

    image, encoded = _jpeg(framed(inner.image, round(params.frame_margin_level)), params.jpeg_quality)
    return dataclasses.replace(
        inner,
        image=image,
        hairs=tuple(
            dataclasses.replace(
                h,
                centerline_px=moved(h.centerline_px, offset),
                emergence_px=tuple(float(v) for v in np.add(h.emergence_px, offset)),
            )
            for h in inner.hairs
        ),
        units=tuple(
            dataclasses.replace(u, position_px=tuple(float(v) for v in np.add(u.position_px, offset)))
            for u in inner.units
        ),
        hair_mask=framed(inner.hair_mask, False),
        centerline_mask=framed(inner.centerline_mask, False),
        diameter_map_um=framed(inner.diameter_map_um, 0.0),
        params=params,
        encoded_jpeg=encoded,
        field_px=(top, left, field_h, field_w),
    )


def _explicit_hairs(hairs, params, shape):
    from ._geometry import HAIR_LOOK, visible_fraction
    from ._photo import TruthUnit

    height_px, width_px = shape
    s = params.um_per_px
    out, units, looks = [], [], []
    for hair in hairs:
        points = np.array(hair.centerline_px, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2 or not np.isfinite(points).all():
            raise ParameterError(
                f"centerline_px must be a finite (N >= 2, 2) array, got shape {points.shape}"
            )
        if not (hair.diameter_um > 0 and math.isfinite(hair.diameter_um)):
            raise ParameterError(f"diameter_um must be finite and > 0, got {hair.diameter_um!r}")
        if hair.colour not in HAIR_LOOK:
            raise ParameterError(f"hair colour {hair.colour!r} is unknown; valid: {sorted(HAIR_LOOK)}")
        opacity = float(hair.centre_opacity)
        if not 0 < opacity <= 1:
            raise ParameterError(f"centre_opacity must be in (0, 1], got {opacity!r}")
        points.setflags(write=False)
        seg = np.hypot(*np.diff(points, axis=0).T)
        visible = float((visible_fraction(points[:-1], points[1:], height_px, width_px) * seg).sum() * s)
        length = float(seg.sum() * s)
        if visible <= 0:
            continue
        hair_id = len(out)
        out.append(
            dataclasses.replace(
                hair,
                hair_id=hair_id,
                unit_id=hair_id,
                centerline_px=points,
                length_um=length,
                visible_length_um=min(visible, length),
                emergence_px=(float(points[0, 0]), float(points[0, 1])),
                crosses_border=bool(visible < length * (1 - 1e-6)),
                defocused=False,
            )
        )
        inside = -0.5 <= points[0, 0] <= height_px - 0.5 and -0.5 <= points[0, 1] <= width_px - 0.5
        units.append(
            TruthUnit(
                unit_id=hair_id,
                position_px=out[-1].emergence_px,
                hair_ids=(hair_id,),
                inside_field=bool(inside),
            )
        )
        absorption = math.inf if opacity >= 1 else -math.log1p(-opacity) / hair.diameter_um
        looks.append(
            HairLook(
                colour_rgb=HAIR_LOOK[hair.colour][0],
                absorption_per_um=absorption,
                specular=0.0,
                highlight_offset=0.0,
                modulation=0.0,
                modulation_period_px=100.0,
                phase=0.0,
                defocused=False,
            )
        )
    return out, units, looks


def generate(
    scenario: str = "clinical",
    *,
    seed: int = 0,
    width_px: int = 1280,
    height_px: int = 960,
    um_per_px: float | None = None,
    hair_density_per_cm2: float | None = None,
) -> SyntheticPhoto:
    """Draw scene parameters for a scenario and render one synthetic photo with exact truth.

    Parameters
    ----------
    scenario : str, optional
        A key of `SCENARIOS` (default ``"clinical"``).
    seed : int, optional
        Seeds the parameter draw and the rendering; the same seed gives the same photo.
    width_px, height_px : int, optional
        Image size in pixels (default 1280 x 960).
    um_per_px : float, optional
        Pixel size in µm; None draws it from the scenario.
    hair_density_per_cm2 : float, optional
        Hairs per cm² (>= 0; 0 gives a hairless scalp with the scenario's skin, camera and artefacts);
        None draws it from the scenario.

    Returns
    -------
    SyntheticPhoto

    Raises
    ------
    ParameterError
        Unknown scenario, invalid size, seed or density.
    CalibrationError
        ``um_per_px`` given but not finite and > 0.

    Examples
    --------
    >>> from densitometry import synthetic
    >>> photo = synthetic.generate("clean", seed=1, width_px=320, height_px=240)
    >>> photo.image.shape
    (240, 320, 3)
    """
    seed = _check_seed(seed)
    width_px = _check_size(width_px, "width_px")
    height_px = _check_size(height_px, "height_px")
    if um_per_px is not None:
        um_per_px = Calibration(um_per_px).um_per_px
    # Mix the scenario name into the draw so two scenarios with the same seed do not share a base scene.
    params = scene_parameters(scenario, np.random.default_rng([seed, zlib.crc32(str(scenario).encode())]))
    if um_per_px is not None:
        params = dataclasses.replace(params, um_per_px=um_per_px)
    if hair_density_per_cm2 is not None:
        params = dataclasses.replace(params, hair_density_per_cm2=hair_density_per_cm2)
    return render(params, seed=seed, width_px=width_px, height_px=height_px)
