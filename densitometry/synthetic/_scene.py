"""Scene parameters of a synthetic trichoscopy photo and the scenarios that draw them.

A `SceneParameters` holds every number the renderer needs, in physical units, so a photo is reproduced
exactly from ``(params, seed, width_px, height_px)``. Each scenario is a function that draws the
parameters from a numpy Generator; it randomises widely within its theme (domain randomisation), so an
analyzer tuned on one scenario does not learn a single house style.

Literature ranges used below (trichoscopy reviews, e.g. Rudnicka et al., *Atlas of Trichoscopy*,
Springer 2012; Rakowska, *Trichoscopy in the diagnosis of androgenetic alopecia*, 2009):
terminal hairs 60-110 µm, intermediate 30-60 µm, vellus < 30 µm; healthy density 150-300 hairs/cm²,
thinning 60-150; follicular units of 1-4 hairs (healthy roughly 30/45/20/5 %).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from ..calibration import check_positive_finite
from ..errors import ParameterError

VELLUS_MAX_UM = 30.0
"""Hairs thinner than this are vellus."""
TERMINAL_MIN_UM = 60.0
"""Hairs at least this thick are terminal; in between are intermediate."""
DIAMETER_CLASS_RANGES_UM = ((10.0, VELLUS_MAX_UM), (VELLUS_MAX_UM, TERMINAL_MIN_UM), (TERMINAL_MIN_UM, 110.0))


class HairColour(str, enum.Enum):
    """Hair colours the renderer knows (the value is the name used in the truth JSON)."""

    BLACK = "black"
    DARK_BROWN = "dark_brown"
    BROWN = "brown"
    BLOND = "blond"
    RED = "red"
    GREY = "grey"
    WHITE = "white"


class LengthMode(str, enum.Enum):
    """How long the hairs are: clipped (phototrichogram), long, or a mix of both."""

    CLIPPED = "clipped"
    LONG = "long"
    MIXED = "mixed"


@dataclass(frozen=True)
class SceneParameters:
    """Every parameter of one synthetic scene, in physical units (JSON-able via `dataclasses.asdict`).

    Sizes are in µm, angles in degrees, densities per cm², intensities on the 8-bit scale unless the name
    says otherwise. See `scene_parameters` for the ranges each scenario draws from.

    Raises
    ------
    ParameterError
        If a value is out of its valid range (names the field, the value and the valid range).
    CalibrationError
        If ``um_per_px`` is not finite and > 0.
    """

    scenario: str
    um_per_px: float
    # --- hairs and follicular units
    hair_density_per_cm2: float
    unit_size_probabilities: tuple[float, float, float, float]
    empty_opening_fraction: float
    diameter_class_probabilities: tuple[float, float, float]
    terminal_diameter_mean_um: float  # of a normal (sd 10 µm) truncated to the terminal range
    hair_colours: tuple[str, ...]
    hair_colour_probabilities: tuple[float, ...]
    pigment_scale: float
    length_mode: str
    clipped_length_um: tuple[float, float]
    long_length_um: tuple[float, float]
    flow_angle_deg: float
    flow_variation_deg: float
    flow_wavelength_um: float
    direction_jitter_deg: float
    unit_spread_deg: float
    unit_contact_um: float
    curvature_per_mm: float
    wave_amplitude_deg: float
    wave_length_um: float
    defocused_hair_fraction: float
    hair_defocus_um: float
    specular_strength: float
    shadow_strength: float
    # --- skin
    skin_rgb: tuple[float, float, float]
    skin_variation: float
    redness: float
    texture_strength: float
    crease_count: int
    opening_diameter_um: tuple[float, float]
    opening_contrast: float
    flake_count: int
    glare_count: int
    # --- optics and camera
    vignetting: float
    illumination_gradient: float
    white_balance: tuple[float, float, float]
    exposure: float
    defocus_um: float
    sharpening: float
    gamma: float
    saturation: float
    noise_sigma: float
    jpeg_quality: int | None
    #: Smooth colour (chroma) noise of cheap microscope cameras, no brightness change: standard deviation
    #: in grey levels per channel, and the size of its blotches in image pixels (sensor, not scene, units).
    colour_noise_levels: float = 0.0
    colour_noise_blotch_px: float = 4.0
    #: Fine white specks of scale and sebum on the skin (oily or flaking scalps under hand-held
    #: microscopes): share of the skin they cover (0-1) and their diameter range in µm.
    speckle_fraction: float = 0.0
    speckle_diameter_um: tuple[float, float] = (10.0, 40.0)
    #: Flat margins of an exported or letterboxed frame (image pixels: top, bottom, left, right) at one
    #: grey level (0-255), outside the field: the scene fills the rest of the photo.
    frame_margins_px: tuple[int, int, int, int] = (0, 0, 0, 0)
    frame_margin_level: float = 255.0

    def __post_init__(self):
        object.__setattr__(self, "um_per_px", check_positive_finite(self.um_per_px, "um_per_px"))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # accept lists from JSON, store tuples (hashable, frozen)
                object.__setattr__(self, f.name, tuple(value))
        _check_probabilities(self.unit_size_probabilities, "unit_size_probabilities", 4)
        _check_probabilities(self.diameter_class_probabilities, "diameter_class_probabilities", 3)
        _check_probabilities(
            self.hair_colour_probabilities, "hair_colour_probabilities", len(self.hair_colours)
        )
        known = {c.value for c in HairColour}
        for colour in self.hair_colours:
            if colour not in known:
                raise ParameterError(f"hair colour {colour!r} is unknown; valid: {sorted(known)}")
        if self.length_mode not in {m.value for m in LengthMode}:
            raise ParameterError(
                f"length_mode must be one of {[m.value for m in LengthMode]}, got {self.length_mode!r}"
            )
        for name in (
            "terminal_diameter_mean_um",
            "pigment_scale",
            "flow_wavelength_um",
            "wave_length_um",
            "exposure",
            "gamma",
        ):
            _check_range(getattr(self, name), name, low=0.0, open_low=True)
        for name in (
            "hair_density_per_cm2",  # 0: a hairless scalp (no follicular units, no openings)
            "empty_opening_fraction",
            "flow_variation_deg",
            "direction_jitter_deg",
            "unit_spread_deg",
            "unit_contact_um",
            "curvature_per_mm",
            "wave_amplitude_deg",
            "hair_defocus_um",
            "specular_strength",
            "skin_variation",
            "redness",
            "texture_strength",
            "opening_contrast",
            "defocus_um",
            "sharpening",
            "saturation",
            "noise_sigma",
            "illumination_gradient",
            "colour_noise_levels",
        ):
            _check_range(getattr(self, name), name, low=0.0)
        _check_range(self.colour_noise_blotch_px, "colour_noise_blotch_px", low=0.0, open_low=True)
        for name in ("defocused_hair_fraction", "shadow_strength", "vignetting", "speckle_fraction"):
            _check_range(getattr(self, name), name, low=0.0, high=1.0)
        for name in ("clipped_length_um", "long_length_um", "opening_diameter_um", "speckle_diameter_um"):
            low, high = getattr(self, name)
            if not (0 < low <= high and math.isfinite(high)):
                raise ParameterError(f"{name} must be (low, high) with 0 < low <= high, got {(low, high)}")
        for name in ("crease_count", "flake_count", "glare_count"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise ParameterError(f"{name} must be an integer >= 0, got {value!r}")
        if len(self.skin_rgb) != 3 or not all(0 <= v <= 255 for v in self.skin_rgb):
            raise ParameterError(f"skin_rgb must be 3 values in 0-255, got {self.skin_rgb!r}")
        if len(self.white_balance) != 3 or not all(v > 0 for v in self.white_balance):
            raise ParameterError(f"white_balance must be 3 gains > 0, got {self.white_balance!r}")
        if len(self.frame_margins_px) != 4 or any(int(v) != v or v < 0 for v in self.frame_margins_px):
            raise ParameterError(
                f"frame_margins_px must be 4 integers >= 0 (top, bottom, left, right), got {self.frame_margins_px!r}"
            )
        object.__setattr__(self, "frame_margins_px", tuple(int(v) for v in self.frame_margins_px))
        _check_range(self.frame_margin_level, "frame_margin_level", low=0.0, high=255.0)
        if self.jpeg_quality is not None and not (1 <= int(self.jpeg_quality) <= 100):
            raise ParameterError(f"jpeg_quality must be None or 1-100, got {self.jpeg_quality!r}")

    @property
    def mean_hairs_per_unit(self) -> float:
        """Expected number of hairs in a hair-bearing follicular unit."""
        return float(np.dot(self.unit_size_probabilities, [1, 2, 3, 4]))


def _check_probabilities(values, name, length):
    values = tuple(values)
    if len(values) != length or length == 0:
        raise ParameterError(f"{name} must have {length} entries, got {len(values)}")
    if any(not math.isfinite(v) or v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise ParameterError(f"{name} must be non-negative and sum to 1, got {values}")


def _check_range(value, name, *, low=None, high=None, open_low=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    bad = not math.isfinite(number)
    bad |= low is not None and (number <= low if open_low else number < low)
    bad |= high is not None and number > high
    if bad:
        valid = f"{'>' if open_low else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise ParameterError(f"{name} must be finite and {valid}, got {value!r}")


# ----------------------------------------------------------------------------------------------------
# Scenarios


def _u(rng, low, high):
    return float(rng.uniform(low, high))


def _dirichlet(rng, mean, concentration):
    draw = rng.dirichlet(np.asarray(mean, dtype=float) * concentration + 1e-3)
    return tuple(float(v) for v in draw / draw.sum())


HEALTHY_UNIT_MIX = (0.30, 0.45, 0.20, 0.05)
THINNING_UNIT_MIX = (0.65, 0.27, 0.07, 0.01)
SKIN_TONES_RGB = np.array(
    [(230, 220, 212), (218, 200, 186), (198, 170, 150), (156, 122, 100), (104, 80, 64)], dtype=float
)


def _skin_rgb(rng, tone):
    """Skin colour for a tone in [0, 1] (0 pale, 1 dark), with a small random hue jitter."""
    position = tone * (len(SKIN_TONES_RGB) - 1)
    low = int(min(math.floor(position), len(SKIN_TONES_RGB) - 2))
    frac = position - low
    rgb = SKIN_TONES_RGB[low] * (1 - frac) + SKIN_TONES_RGB[low + 1] * frac
    rgb = rgb * rng.uniform(0.94, 1.06, 3)
    return tuple(float(v) for v in np.clip(rgb, 0, 255))


def _clinical(rng) -> dict:
    """Base draw: everything randomised at moderate levels. Other scenarios override fields."""
    um_per_px = _u(rng, 3.0, 8.0) if rng.random() < 0.85 else _u(rng, 2.0, 10.0)
    density = _u(rng, 80, 300)
    thinning = float(np.clip((200 - density) / 140, 0, 1))
    unit_mean = np.add(np.multiply(HEALTHY_UNIT_MIX, 1 - thinning), np.multiply(THINNING_UNIT_MIX, thinning))
    dominant = rng.choice(["black", "dark_brown", "brown", "blond", "red"], p=[0.35, 0.3, 0.2, 0.1, 0.05])
    colours, probs = [str(dominant)], [1.0]
    if rng.random() < 0.3:
        grey = _u(rng, 0.05, 0.5)
        colours += ["grey", "white"]
        split = _u(rng, 0.3, 0.8)
        probs = [1 - grey, grey * split, grey * (1 - split)]
    mode = str(rng.choice(["clipped", "long", "mixed"], p=[0.2, 0.55, 0.25]))
    tone = float(rng.beta(2.0, 3.0))
    return dict(
        scenario="clinical",
        um_per_px=um_per_px,
        hair_density_per_cm2=density,
        unit_size_probabilities=_dirichlet(rng, unit_mean, 40),
        empty_opening_fraction=_u(rng, 0.0, 0.15),
        diameter_class_probabilities=_dirichlet(rng, (0.1, 0.2, 0.7), 20),
        terminal_diameter_mean_um=_u(rng, 65, 95),
        hair_colours=tuple(colours),
        hair_colour_probabilities=tuple(probs),
        pigment_scale=float(np.exp(rng.normal(0, 0.25))),
        length_mode=mode,
        clipped_length_um=(300.0, 1000.0),
        long_length_um=(_u(rng, 1500, 4000), _u(rng, 5000, 14000)),
        flow_angle_deg=_u(rng, 0, 360),
        flow_variation_deg=_u(rng, 0, 35),
        flow_wavelength_um=_u(rng, 3000, 10000),
        direction_jitter_deg=_u(rng, 5, 25),
        unit_spread_deg=_u(rng, 3, 20),
        unit_contact_um=_u(rng, 100, 450),
        curvature_per_mm=_u(rng, 0.05, 0.5),
        wave_amplitude_deg=_u(rng, 0, 15),
        wave_length_um=_u(rng, 500, 3000),
        defocused_hair_fraction=_u(rng, 0, 0.3) if mode != "clipped" else 0.0,
        hair_defocus_um=_u(rng, 4, 20),
        specular_strength=_u(rng, 0, 0.6),
        shadow_strength=_u(rng, 0, 0.18),
        skin_rgb=_skin_rgb(rng, tone),
        skin_variation=_u(rng, 0.02, 0.08),
        redness=_u(rng, 0, 0.6),
        texture_strength=_u(rng, 0.01, 0.05),
        crease_count=int(rng.poisson(1.0)),
        opening_diameter_um=(50.0, 120.0),
        opening_contrast=_u(rng, 0.12, 0.4),
        flake_count=int(rng.poisson(2.0)),
        glare_count=int(rng.poisson(1.5)),
        vignetting=_u(rng, 0, 0.4),
        illumination_gradient=_u(rng, 0, 0.2),
        white_balance=tuple(float(v) for v in rng.uniform(0.9, 1.1, 3)),
        exposure=_u(rng, 0.85, 1.1),
        defocus_um=_u(rng, 0, 6),
        sharpening=_u(rng, 0, 0.8),
        gamma=_u(rng, 0.85, 1.15),
        saturation=_u(rng, 0.6, 1.15),
        noise_sigma=_u(rng, 1, 5),
        jpeg_quality=int(rng.integers(70, 96)),
    )


def _clean(rng):
    p = _clinical(rng)
    dark = str(rng.choice(["black", "dark_brown"]))
    p.update(
        um_per_px=_u(rng, 4, 7),
        hair_density_per_cm2=_u(rng, 100, 220),
        diameter_class_probabilities=_dirichlet(rng, (0.03, 0.1, 0.87), 50),
        hair_colours=(dark,),
        hair_colour_probabilities=(1.0,),
        pigment_scale=_u(rng, 1.2, 2.0),
        length_mode=str(rng.choice(["clipped", "long"])),
        empty_opening_fraction=_u(rng, 0, 0.03),
        defocused_hair_fraction=0.0,
        skin_rgb=_skin_rgb(rng, _u(rng, 0, 0.45)),
        skin_variation=_u(rng, 0.01, 0.04),
        redness=_u(rng, 0, 0.15),
        texture_strength=_u(rng, 0.005, 0.015),
        crease_count=0,
        flake_count=0,
        glare_count=0,
        opening_contrast=_u(rng, 0.08, 0.2),
        vignetting=_u(rng, 0, 0.1),
        illumination_gradient=_u(rng, 0, 0.05),
        white_balance=(1.0, 1.0, 1.0),
        exposure=1.0,
        defocus_um=0.0,
        sharpening=0.0,
        gamma=1.0,
        saturation=1.0,
        noise_sigma=_u(rng, 0.3, 1.5),
        jpeg_quality=int(rng.integers(92, 96)),
        shadow_strength=_u(rng, 0, 0.1),
    )
    return p


def _grey_hair(rng):
    p = _clinical(rng)
    grey = _u(rng, 0.6, 1.0)
    split = _u(rng, 0.2, 0.8)
    dark = str(rng.choice(["black", "dark_brown", "brown"]))
    p.update(
        hair_colours=("grey", "white", dark),
        hair_colour_probabilities=(grey * split, grey * (1 - split), 1 - grey),
        skin_rgb=_skin_rgb(rng, _u(rng, 0.15, 0.75)),
        specular_strength=_u(rng, 0.3, 0.9),
    )
    return p


def _low_contrast(rng):
    p = _clinical(rng)
    p.update(
        hair_colours=("blond", "grey", "brown"),
        hair_colour_probabilities=_dirichlet(rng, (0.75, 0.15, 0.1), 20),
        diameter_class_probabilities=_dirichlet(rng, (0.35, 0.35, 0.3), 20),
        terminal_diameter_mean_um=_u(rng, 62, 80),
        pigment_scale=_u(rng, 0.4, 0.9),
        skin_rgb=_skin_rgb(rng, _u(rng, 0.0, 0.2)),
        specular_strength=_u(rng, 0, 0.3),
        noise_sigma=_u(rng, 2, 6),
    )
    return p


def _dense_crossings(rng):
    p = _clinical(rng)
    p.update(
        hair_density_per_cm2=_u(rng, 220, 350),
        unit_size_probabilities=_dirichlet(rng, HEALTHY_UNIT_MIX, 40),
        length_mode="long",
        long_length_um=(_u(rng, 3000, 6000), _u(rng, 8000, 15000)),
        curvature_per_mm=_u(rng, 0.2, 0.8),
        flow_variation_deg=_u(rng, 30, 70),
        direction_jitter_deg=_u(rng, 15, 40),
        defocused_hair_fraction=_u(rng, 0.1, 0.4),
    )
    return p


def _follicular_units(rng):
    p = _clinical(rng)
    p.update(
        unit_size_probabilities=_dirichlet(rng, (0.1, 0.4, 0.35, 0.15), 40),
        unit_contact_um=_u(rng, 250, 700),
        unit_spread_deg=_u(rng, 3, 12),
        hair_density_per_cm2=_u(rng, 150, 300),
    )
    return p


def _miniaturised(rng):
    p = _clinical(rng)
    p.update(
        hair_density_per_cm2=_u(rng, 60, 150),
        unit_size_probabilities=_dirichlet(rng, THINNING_UNIT_MIX, 40),
        diameter_class_probabilities=_dirichlet(rng, (0.3, 0.4, 0.3), 20),
        terminal_diameter_mean_um=_u(rng, 60, 75),
        empty_opening_fraction=_u(rng, 0.1, 0.35),
        length_mode=str(rng.choice(["clipped", "mixed"])),
    )
    return p


def _artefacts(rng):
    p = _clinical(rng)
    p.update(
        crease_count=int(rng.integers(3, 9)),
        empty_opening_fraction=_u(rng, 0.2, 0.5),
        opening_contrast=_u(rng, 0.2, 0.45),
        flake_count=int(rng.integers(8, 26)),
        glare_count=int(rng.integers(3, 11)),
        vignetting=_u(rng, 0.4, 0.7),
        illumination_gradient=_u(rng, 0.2, 0.4),
        redness=_u(rng, 0.4, 0.9),
    )
    if rng.random() < 0.5:  # an exported frame: white or black margins at its bottom and right
        p.update(
            frame_margins_px=(0, int(rng.integers(2, 60)), 0, int(rng.integers(0, 30))),
            frame_margin_level=float(rng.choice([0.0, 255.0])),
        )
    return p


def _blur_noise(rng):
    p = _clinical(rng)
    p.update(
        defocus_um=_u(rng, 1.2, 3.0) * p["um_per_px"],
        noise_sigma=_u(rng, 6, 14),
        jpeg_quality=int(rng.integers(60, 76)),
        defocused_hair_fraction=_u(rng, 0.2, 0.5) if p["length_mode"] != "clipped" else 0.0,
    )
    return p


def _colour_noise(rng):
    p = _clinical(rng)
    p.update(
        colour_noise_levels=_u(rng, 1.5, 5.0),
        colour_noise_blotch_px=_u(rng, 2.0, 8.0),
        jpeg_quality=int(rng.integers(60, 86)),
    )
    return p


def _oily_speckle(rng):
    p = _clinical(rng)
    p.update(
        skin_rgb=_skin_rgb(rng, _u(rng, 0.25, 0.6)),
        speckle_fraction=_u(rng, 0.05, 0.3),
        speckle_diameter_um=(_u(rng, 8, 15), _u(rng, 25, 50)),
        defocused_hair_fraction=_u(rng, 0.2, 0.6) if p["length_mode"] != "clipped" else 0.0,
        hair_defocus_um=_u(rng, 20, 70),
        colour_noise_levels=_u(rng, 0.0, 4.0),
        colour_noise_blotch_px=_u(rng, 2.0, 8.0),
        jpeg_quality=int(rng.integers(65, 91)),
    )
    return p


def _clipped(rng):
    p = _clinical(rng)
    p.update(length_mode="clipped", clipped_length_um=(300.0, 1000.0), defocused_hair_fraction=0.0)
    return p


def _low_res(rng):
    p = _clinical(rng)
    p.update(um_per_px=_u(rng, 8, 10))
    return p


def _high_res(rng):
    p = _clinical(rng)
    p.update(um_per_px=_u(rng, 2, 3))
    return p


_SCENARIO_DRAWS: dict[str, tuple[Callable[[np.random.Generator], dict], str]] = {
    "clean": (_clean, "dark terminal hairs, even light, little noise"),
    "clinical": (_clinical, "default: colours, densities, units, mixes and artefacts all randomised"),
    "grey_hair": (_grey_hair, "mostly grey/white hair, brighter than the scalp, semi-transparent"),
    "low_contrast": (_low_contrast, "blond/light hair on pale skin, vellus-rich"),
    "dense_crossings": (_dense_crossings, "long hairs at high density with many crossings"),
    "follicular_units": (_follicular_units, "many 2-4 hair units, parallel hairs touching at the opening"),
    "miniaturised": (_miniaturised, "pattern hair loss: low density, vellus/intermediate, single units"),
    "artefacts": (
        _artefacts,
        "creases, empty openings, dandruff flakes, sebum glare, strong vignetting; half with an exported"
        " frame's white or black margins",
    ),
    "blur_noise": (_blur_noise, "defocus blur, sensor noise, JPEG quality 60-75"),
    "colour_noise": (_colour_noise, "cheap USB microscope: smooth colour noise (1.5-5 levels), JPEG 60-85"),
    "oily_speckle": (
        _oily_speckle,
        "hand-held microscope on an oily/flaking scalp: white specks, hairs above the skin out of focus",
    ),
    "clipped": (_clipped, "phototrichogram: hairs clipped to 0.3-1 mm"),
    "low_res": (_low_res, "low magnification, 8-10 µm per pixel"),
    "high_res": (_high_res, "high magnification, 2-3 µm per pixel"),
}

SCENARIOS: dict[str, str] = {name: text for name, (_, text) in _SCENARIO_DRAWS.items()}
"""Scenario name -> short description."""


def scene_parameters(scenario: str, rng: np.random.Generator) -> SceneParameters:
    """Draw randomised scene parameters for a scenario.

    Parameters
    ----------
    scenario : str
        A key of `SCENARIOS`.
    rng : numpy.random.Generator
        Source of randomness (the draw is deterministic for a given generator state).

    Returns
    -------
    SceneParameters

    Raises
    ------
    ParameterError
        If ``scenario`` is unknown.
    """
    if scenario not in _SCENARIO_DRAWS:
        raise ParameterError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    values = _SCENARIO_DRAWS[scenario][0](rng)
    values["scenario"] = scenario
    return SceneParameters(**values)
