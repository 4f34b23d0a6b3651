"""Load and validate: turn a path, array or PIL image into a checked RGB float image.

Every problem with an input is reported as `ImageLoadError` naming the input and what is wrong, so a
batch can log it and go on.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ImageLoadError

#: Largest image accepted, in pixels (a dermatoscope frame is 1-24 Mpx). Larger files are refused
#: before decoding, which also stops decompression bombs.
MAX_IMAGE_PIXELS = 64_000_000
#: Smallest side accepted, in pixels: below this no hair can be traced reliably.
MIN_IMAGE_SIDE_PX = 32
#: File endings read as images.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class LoadedImage:
    """A validated photo.

    Attributes
    ----------
    rgb : ndarray of float32, shape (H, W, 3)
        Linear-in-code-value RGB in [0, 1] (EXIF orientation applied, alpha dropped).
    name : str
        File name, or ``"<array>"`` / ``"<PIL image>"`` for in-memory inputs.
    """

    rgb: np.ndarray
    name: str

    @property
    def shape_px(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.rgb.shape[:2]

    def to_uint8(self) -> np.ndarray:
        """The photo as uint8 RGB for display."""
        # rgb is in [0, 1] (load_image guarantees it): scale, round half to even and saturate in one
        # pass, the same values as np.clip(np.rint(rgb * 255), 0, 255) at a tenth of the cost.
        return cv2.convertScaleAbs(self.rgb, alpha=255.0)


def is_image_path(path) -> bool:
    """True when ``path`` has one of the `IMAGE_SUFFIXES` (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def load_image(source, *, name: str | None = None) -> LoadedImage:
    """Read and validate a photo.

    Parameters
    ----------
    source : str, os.PathLike, ndarray or PIL.Image.Image
        A JPEG, PNG, TIFF (8 or 16 bit) or BMP file; or an array of shape (H, W), (H, W, 3) or
        (H, W, 4) of any integer, float (values in [0, 1]) or bool dtype; or a PIL image.
        The input is never modified.
    name : str, optional
        Name to use in messages and results (defaults to the file name).

    Returns
    -------
    LoadedImage

    Raises
    ------
    ImageLoadError
        Missing, empty, unreadable, truncated, too large or too small input; an unsupported array.
    """
    if isinstance(source, (str, os.PathLike)):
        return _load_file(Path(source), name=name)
    if isinstance(source, np.ndarray):
        label = name or "<array>"
        return LoadedImage(_array_to_rgb(source, label), label)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(source, Image.Image):
        label = name or "<PIL image>"
        return LoadedImage(_pil_to_rgb(source, label), label)
    raise ImageLoadError(
        f"cannot read an image from {type(source).__name__}: give a file path, a numpy array or a PIL image"
    )


def _load_file(path: Path, *, name: str | None) -> LoadedImage:
    from PIL import Image, ImageOps, UnidentifiedImageError

    label = name or str(path)
    if not path.exists():
        raise ImageLoadError(f"{label}: no such file")
    if path.is_dir():
        raise ImageLoadError(f"{label}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{label}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                width, height = opened.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageLoadError(
                        f"{label}: {width} x {height} px is larger than the {MAX_IMAGE_PIXELS:,} px "
                        "limit (possible decompression bomb); downscale the photo first"
                    )
                opened.load()
                image = ImageOps.exif_transpose(opened)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(f"{label}: not a readable image (expected JPEG, PNG, TIFF or BMP)") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageLoadError(
            f"{label}: image is too large to decode safely (possible decompression bomb)"
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f"{label}: the file is damaged or truncated ({error})") from None
    return LoadedImage(_pil_to_rgb(image, label), label)


def _pil_to_rgb(image, label: str) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        return _check_shape(np.clip(array / top, 0, 1).astype(np.float32), label)
    if mode == "F":
        return _array_to_rgb(np.asarray(image), label)
    if mode not in ("L", "RGB", "RGBA", "LA"):
        image = image.convert("RGBA" if "A" in mode or "transparency" in image.info else "RGB")
    return _array_to_rgb(np.asarray(image), label)


def _array_to_rgb(array: np.ndarray, label: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] in (2, 4):  # grey+alpha or RGBA: drop alpha
        array = array[..., :-1]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ImageLoadError(
            f"{label}: array of shape {array.shape} is not an image; expected (H, W), (H, W, 3) or (H, W, 4)"
        )
    if array.dtype == bool:
        scaled = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        if info.min < 0 and array.min(initial=0) < 0:
            raise ImageLoadError(f"{label}: negative pixel values in a signed integer image")
        top = 255.0 if array.max(initial=0) <= 255 else float(info.max)
        scaled = array.astype(np.float32) / top
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ImageLoadError(f"{label}: the image contains NaN or infinite values")
        low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
        if low < 0 or high > 1:
            raise ImageLoadError(f"{label}: float image values must lie in [0, 1], found [{low:g}, {high:g}]")
        scaled = array.astype(np.float32)
    else:
        raise ImageLoadError(f"{label}: unsupported pixel type {array.dtype}")
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[..., None], 3, axis=2)
    return _check_shape(np.ascontiguousarray(scaled, dtype=np.float32), label)


def _check_shape(rgb: np.ndarray, label: str) -> np.ndarray:
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE_PX:
        raise ImageLoadError(
            f"{label}: {width} x {height} px is too small to analyse (at least "
            f"{MIN_IMAGE_SIDE_PX} px per side)"
        )
    if height * width > MAX_IMAGE_PIXELS:
        raise ImageLoadError(f"{label}: {width} x {height} px exceeds the {MAX_IMAGE_PIXELS:,} px limit")
    return rgb


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an RGB uint8 image (overlays, change maps)."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:  # pragma: no cover - only fails for impossible shapes
        raise ValueError("could not encode the image as PNG")
    return encoded.tobytes()
