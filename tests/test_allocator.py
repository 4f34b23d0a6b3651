"""The allocator setting the CLI, batch workers and web UI apply at start."""

import ctypes
import sys

import numpy as np
import pytest
from phantoms import phantom

import densitometry
from densitometry.allocator import keep_freed_memory


def _glibc():
    if not sys.platform.startswith("linux"):
        return False
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "gnu_get_libc_version")
    except OSError:
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_applied_on_glibc_and_results_unchanged():
    image = phantom([((100, 50), (380, 600), 14, 0.5), ((400, 80), (60, 560), 10, 0.4)])
    before = densitometry.analyze(image, um_per_px=5.0)
    assert keep_freed_memory() is True
    after = densitometry.analyze(image, um_per_px=5.0)
    assert after.hair_count == before.hair_count
    np.testing.assert_array_equal(after.hairs.diameter_um, before.hairs.diameter_um)


@pytest.mark.skipif(_glibc(), reason="for C libraries other than glibc")
def test_does_nothing_elsewhere():
    assert keep_freed_memory() is False
