"""Keep freed image buffers in the process for reuse (glibc), a setting for the programs we start.

One analysis allocates and frees a few dozen full-size float images of 5-15 MB. glibc hands blocks that
large back to the system when they are freed, so the next one is page-faulted in again, zero-filled by
the kernel: about a fifth of the analysis time of a 1280 x 960 photo on one core. Raising glibc's mmap
and trim thresholds keeps such blocks in the heap for the next photo; the cost is that the process keeps
the memory of its largest analysis until it exits.

The CLI, its batch worker processes and the web UI call `keep_freed_memory` when they start;
``import densitometry`` does not, since it changes the allocator of the whole host process. Library
users who analyse many photos in a loop may call it themselves. On other C libraries (macOS, Windows,
musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: mallopt parameters (glibc malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks below this are served from the heap: every buffer of a photo analysed at the working
#: resolution (a 3-channel float image of a 6000 x 4000 photo resampled to 4 µm/px is ~70 MB).
_MMAP_THRESHOLD_BYTES = 256 * 1024 * 1024
#: Free memory at the top of the heap is returned to the system only beyond this.
_TRIM_THRESHOLD_BYTES = 512 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process.

    Returns
    -------
    bool
        True if the C library is glibc and accepted both settings, False otherwise (nothing changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: different allocator tunables
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
    )
