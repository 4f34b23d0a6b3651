"""Refiner config: architecture, input scale, normalisation, thresholds and provenance, kept with the weights.

The config, the weights and the thresholds are one versioned unit: the config records the SHA-256 of the
weights file (and of the optional ONNX export), so a config is never used with weights it was not made for.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import ParameterError

#: Version of the config format (bump when fields change meaning).
CONFIG_FORMAT = 1
#: Input channels the feature builder knows, in the order they are stacked.
KNOWN_CHANNELS = ("contrast", "ridge_strength", "luma", "red_minus_blue")
#: Output channels: hair probability (used for the mask) and the centreline auxiliary target.
OUTPUT_CHANNELS = ("hair", "centreline")


@dataclass(frozen=True)
class RefinerConfig:
    """Everything needed to rebuild, feed and threshold a refiner network.

    Attributes
    ----------
    version : str
        Version of this model (weights + config + thresholds), e.g. ``"1.0.0"``.
    channels : tuple of int
        Feature channels per U-Net level (level 0 is full model resolution); the last is the bottleneck.
    convs_per_level : tuple of int
        3x3 conv-BN-ReLU layers per level (same length as ``channels``).
    input_channels : tuple of str
        Names of the input channels (from `KNOWN_CHANNELS`).
    input_offsets, input_scales : tuple of float
        Fixed normalisation ``(x - offset) / scale`` per input channel (never per-image statistics).
    input_clip : float
        Normalised inputs are clipped to ``[-input_clip, input_clip]``.
    min_um_per_px, max_um_per_px : float
        Photos finer than ``min_um_per_px`` are downsampled to it, coarser than ``max_um_per_px`` are
        upsampled to it; in between the network runs at the photo's own pixel size.
    low_threshold, high_threshold : float
        Hysteresis thresholds on the hair probability: a hair is seeded where p >= high and grown where
        p >= low.
    gap_peak_fraction : float
        A pixel joins the mask only where its own contrast reaches this fraction of the highest contrast
        nearby (the classic segmenter's test that keeps gaps between touching hairs); 0 turns it off.
    colour_detail_um : float
        Colour finer than this (a Gaussian sigma, µm) reaches the network scaled by the photo's blue
        weight (`features.colour_detail`); 0: the network sees the photo's colour as it is.
    tile_px : int
        Inference tile size (model pixels) for images larger than ``max_untiled_px``.
    tile_margin_px : int
        Context added around each tile and discarded (at least the network's receptive radius).
    max_untiled_px : int
        Largest image (model pixels, H * W) run in one piece.
    weights_file, onnx_file : str
        File names next to the config ("" when there is no ONNX export).
    weights_sha256, onnx_sha256 : str
        Checksums of those files ("" for none).
    training : dict
        Provenance: command, seed, minutes, steps, hardware, package version, scores.
    """

    version: str
    channels: tuple[int, ...] = (8, 16, 32, 64)
    convs_per_level: tuple[int, ...] = (1, 2, 2, 2)
    input_channels: tuple[str, ...] = KNOWN_CHANNELS
    input_offsets: tuple[float, ...] = (0.0, 0.0, 0.5, 0.0)
    input_scales: tuple[float, ...] = (0.25, 0.25, 0.25, 0.25)
    input_clip: float = 6.0
    min_um_per_px: float = 5.0
    max_um_per_px: float = 10.0
    low_threshold: float = 0.35
    high_threshold: float = 0.6
    gap_peak_fraction: float = 0.0
    gap_min_contrast: float = 0.0
    colour_detail_um: float = 0.0
    tile_px: int = 512
    tile_margin_px: int = 64
    max_untiled_px: int = 2048 * 2048
    weights_file: str = "refiner.pt"
    onnx_file: str = ""
    weights_sha256: str = ""
    onnx_sha256: str = ""
    format: int = CONFIG_FORMAT
    training: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("channels", "convs_per_level", "input_channels", "input_offsets", "input_scales"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "training", dict(self.training))
        self._validate()

    def _validate(self):
        def bad(message):
            raise ParameterError(f"invalid refiner config: {message}")

        if self.format != CONFIG_FORMAT:
            bad(f"format {self.format!r} is not the supported format {CONFIG_FORMAT}")
        if not isinstance(self.version, str) or not self.version:
            bad(f"version must be a non-empty string, got {self.version!r}")
        if len(self.channels) < 2 or any(int(c) != c or c < 1 for c in self.channels):
            bad(f"channels must be >= 2 positive integers (levels + bottleneck), got {self.channels}")
        if len(self.convs_per_level) != len(self.channels):
            bad(f"convs_per_level {self.convs_per_level} must have one entry per level {self.channels}")
        if any(int(c) != c or c < 1 for c in self.convs_per_level):
            bad(f"convs_per_level must be positive integers, got {self.convs_per_level}")
        unknown = [c for c in self.input_channels if c not in KNOWN_CHANNELS]
        if not self.input_channels or unknown:
            bad(f"input_channels {self.input_channels} must be names from {KNOWN_CHANNELS}")
        n = len(self.input_channels)
        if len(self.input_offsets) != n or len(self.input_scales) != n:
            bad(
                f"input_offsets ({len(self.input_offsets)}) and input_scales ({len(self.input_scales)}) "
                f"must match input_channels ({n})"
            )
        if any(not math.isfinite(s) or s <= 0 for s in self.input_scales):
            bad(f"input_scales must be finite and > 0, got {self.input_scales}")
        if not (0 < self.min_um_per_px <= self.max_um_per_px) or not math.isfinite(self.max_um_per_px):
            bad(f"need 0 < min_um_per_px <= max_um_per_px, got {self.min_um_per_px}, {self.max_um_per_px}")
        if not (0 < self.low_threshold <= self.high_threshold < 1):
            bad(
                f"need 0 < low_threshold <= high_threshold < 1, got {self.low_threshold}, {self.high_threshold}"
            )
        if not (0 <= self.gap_peak_fraction < 1):
            bad(f"gap_peak_fraction must be in [0, 1), got {self.gap_peak_fraction}")
        if not (0 <= self.gap_min_contrast < 10):
            bad(f"gap_min_contrast must be in [0, 10), got {self.gap_min_contrast}")
        if not (math.isfinite(self.colour_detail_um) and self.colour_detail_um >= 0):
            bad(f"colour_detail_um must be finite and >= 0, got {self.colour_detail_um}")
        if not self.input_clip > 0:
            bad(f"input_clip must be > 0, got {self.input_clip}")
        stride = self.stride_px
        if self.tile_px < stride or self.tile_px % stride or self.tile_margin_px % stride:
            bad(
                f"tile_px ({self.tile_px}) and tile_margin_px ({self.tile_margin_px}) must be multiples of {stride}"
            )
        if self.tile_margin_px < self.receptive_radius_px:
            bad(
                f"tile_margin_px ({self.tile_margin_px}) is smaller than the receptive radius "
                f"({self.receptive_radius_px} px): tiled and untiled results would differ"
            )
        if self.max_untiled_px < self.tile_px**2:
            bad(f"max_untiled_px ({self.max_untiled_px}) must be >= tile_px**2")
        if not self.weights_file:
            bad("weights_file is empty")

    @property
    def stride_px(self) -> int:
        """Total downsampling of the U-Net; input sizes are padded to a multiple of it."""
        return 2 ** (len(self.channels) - 1)

    @property
    def receptive_radius_px(self) -> int:
        """Half-width (model px) of the U-Net's receptive field: each 3x3 conv at level k adds 2**k
        going down and coming up (the bottleneck once), and each pool/upsample pair adds 2**k."""
        depth = len(self.channels) - 1
        radius = sum(2 * n * 2**k for k, n in enumerate(self.convs_per_level[:depth]))
        radius += self.convs_per_level[depth] * 2**depth
        return radius + sum(2**k for k in range(depth + 1))

    def model_um_per_px(self, um_per_px: float) -> float:
        """Pixel size the network runs at for a photo of ``um_per_px``."""
        return min(max(float(um_per_px), self.min_um_per_px), self.max_um_per_px)

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        values = asdict(self)
        for key, value in values.items():
            if isinstance(value, tuple):
                values[key] = list(value)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> RefinerConfig:
        """Build and validate a config from a dict (e.g. parsed JSON); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"invalid refiner config: unknown field(s) {unknown}")
        try:
            return cls(**values)
        except TypeError as error:
            raise ParameterError(f"invalid refiner config: {error}") from None

    def save(self, path) -> None:
        """Write the config as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path) -> RefinerConfig:
        """Read and validate a JSON config."""
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ParameterError(f"cannot read refiner config {path}: {error}") from None
        return cls.from_dict(values)


def sha256_of(path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
