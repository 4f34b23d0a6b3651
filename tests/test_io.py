"""Load & validate: every input type and every bad input gets a clear answer."""

import io

import numpy as np
import pytest
from PIL import Image

import densitometry
from densitometry import ImageLoadError
from densitometry.io import MAX_IMAGE_PIXELS, load_image


@pytest.fixture
def rgb_u8():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp"])
def test_reads_common_formats(tmp_path, rgb_u8, suffix):
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(rgb_u8).save(path, quality=95) if suffix == ".jpg" else Image.fromarray(rgb_u8).save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (60, 80, 3) and loaded.rgb.dtype == np.float32
    assert loaded.name == str(path)
    if suffix != ".jpg":
        np.testing.assert_allclose(loaded.rgb, rgb_u8 / 255.0, atol=1e-6)


def test_reads_16_bit_tiff(tmp_path):
    grey = (np.arange(60 * 80, dtype=np.uint16).reshape(60, 80) * 13).astype(np.uint16)
    path = tmp_path / "deep.tif"
    Image.fromarray(grey).save(path)
    loaded = load_image(path)
    np.testing.assert_allclose(loaded.rgb[..., 0], grey / 65535.0, atol=1e-6)


def test_rgba_and_greyscale_and_pil(rgb_u8):
    rgba = np.dstack([rgb_u8, np.full(rgb_u8.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(load_image(rgba).rgb, load_image(rgb_u8).rgb)
    grey = load_image(rgb_u8[..., 0])
    assert grey.rgb.shape == (60, 80, 3)
    pil = load_image(Image.fromarray(rgb_u8))
    np.testing.assert_array_equal(pil.rgb, load_image(rgb_u8).rgb)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64, bool])
def test_all_array_dtypes(dtype):
    base = np.zeros((40, 50))
    base[10:30, 20:30] = 1
    top = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1)
    loaded = load_image((base * top).astype(dtype))
    np.testing.assert_allclose(loaded.rgb[..., 0], base, atol=1e-6)


def test_exif_orientation_is_honoured(tmp_path):
    array = np.zeros((40, 80, 3), np.uint8)
    array[:, :40] = 255  # left half white
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape[:2] == (80, 40)
    assert loaded.rgb[:40].mean() > 0.9  # the white half is now on top


def test_input_array_not_modified(rgb_u8):
    copy = rgb_u8.copy()
    load_image(rgb_u8)
    np.testing.assert_array_equal(copy, rgb_u8)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="nope.jpg: no such file"):
        load_image(tmp_path / "nope.jpg")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty.jpg: the file is empty"):
        load_image(path)


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("patient notes, not a photo")
    with pytest.raises(ImageLoadError, match="notes.jpg: not a readable image"):
        load_image(path)


def test_truncated_jpeg(tmp_path, rgb_u8):
    buffer = io.BytesIO()
    Image.fromarray(np.kron(rgb_u8, np.ones((4, 4, 1), np.uint8))).save(buffer, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="cut.jpg: the file is damaged or truncated"):
        load_image(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    side = int(np.sqrt(MAX_IMAGE_PIXELS)) + 100
    path = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(path)  # a few kB on disk, too many pixels
    with pytest.raises(ImageLoadError, match="bomb.png: .*larger than"):
        load_image(path)


def test_too_small(tmp_path):
    with pytest.raises(ImageLoadError, match="too small"):
        load_image(np.zeros((10, 200), np.uint8))


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((40, 40, 5), np.uint8), "not an image"),
        (np.full((40, 40), np.nan), "NaN"),
        (np.full((40, 40), 3.0), r"\[0, 1\]"),
        (np.zeros((40, 40), complex), "unsupported pixel type"),
    ],
)
def test_bad_arrays(array, match):
    with pytest.raises(ImageLoadError, match=match):
        load_image(array)


def test_unsupported_object():
    with pytest.raises(ImageLoadError, match="cannot read an image from list"):
        load_image([[1, 2], [3, 4]])


def test_analyze_reports_file_name(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(densitometry.DensitometryError, match="broken.png"):
        densitometry.analyze(path, um_per_px=5.0)
