"""Numba compilation of the pipeline's pixel loops, cached on disk and imported only when first used."""

from __future__ import annotations

from functools import cache


@cache
def jit(function):
    """``function`` compiled by numba (cached on disk): the first call in a process loads it."""
    import numba  # imported here: a dependency of skan, but slow to import

    return numba.njit(cache=True, nogil=True)(function)
