"""The HTTP library the SDK uses: mistralai 3.x is built on ``httpx2``, a fork of httpx.

Transports and clients handed to the SDK must come from the same library, so
every module takes ``httpx`` from here.
"""

from __future__ import annotations

try:
    import httpx2 as httpx
except ImportError:  # pragma: no cover - an SDK release built on plain httpx
    import httpx  # type: ignore[no-redef]

__all__ = ["httpx"]
