"""The HTTP library the SDK is built on: ``httpx2``, a fork of httpx. Transports and clients handed to the SDK
must come from it, so every module takes ``httpx`` from here."""

import httpx2 as httpx

__all__ = ["httpx"]
