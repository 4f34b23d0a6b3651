"""Physically grounded synthetic trichoscopy photos with exact truth.

Renders dermatoscope-like scalp photos (hairs in follicular units over skin, with openings, creases,
flakes, glare, vignetting, blur, noise and JPEG) together with the exact truth of every hair: centreline,
diameter in µm, full and visible length. Used to validate clinic settings, to benchmark the analyzer, and
to train the CNN refiner; scenarios randomise widely (domain randomisation).

Examples
--------
>>> from densitometry import synthetic
>>> photo = synthetic.generate("clinical", seed=0, width_px=320, height_px=240)
>>> truth = photo.truth(min_length_um=150.0)
>>> truth["hair_count"] == len(photo.counted_hairs(150.0))
True
"""

from ._cli import add_arguments, run
from ._photo import DEFAULT_MIN_LENGTH_UM, SyntheticPhoto, TruthHair, TruthUnit
from ._raster import HairRaster, rasterize_hair
from ._render import generate, render
from ._scene import (
    SCENARIOS,
    TERMINAL_MIN_UM,
    VELLUS_MAX_UM,
    HairColour,
    LengthMode,
    SceneParameters,
    scene_parameters,
)

__all__ = [
    "DEFAULT_MIN_LENGTH_UM",
    "SCENARIOS",
    "TERMINAL_MIN_UM",
    "VELLUS_MAX_UM",
    "HairColour",
    "HairRaster",
    "LengthMode",
    "SceneParameters",
    "SyntheticPhoto",
    "TruthHair",
    "TruthUnit",
    "add_arguments",
    "generate",
    "rasterize_hair",
    "render",
    "run",
    "scene_parameters",
]
