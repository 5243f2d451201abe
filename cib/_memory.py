"""Handing freed memory back to the system between large stages (shared by the reader and the
pipeline)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["release_memory"]


def _malloc_trim() -> Any:
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim() if sys.platform.startswith("linux") else None


def release_memory() -> None:
    """Give freed memory back to the system: Arrow's allocator and C's (glibc keeps freed small
    arrays otherwise), so that the next stage does not come on top of it."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)
