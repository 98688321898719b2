"""The one place that says which objects are public: they report ``apiframe_magic`` as their module.

Public classes and functions live in private modules (``_client``, ``_models``, ...) and are
re-exported from the package. :func:`public` sets ``__module__`` where each is defined, so
reprs, docs and pickles name ``apiframe_magic.MusicResult`` and keep working when a definition
moves between private modules. It is done at definition time, not when the package's lazy
``__getattr__`` first resolves a name, because an object can be pickled before anybody has
looked its class up through the package.

This module imports nothing, so using it keeps ``import apiframe_magic`` light.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["PUBLIC_MODULE", "public"]

PUBLIC_MODULE = "apiframe_magic"

_T = TypeVar("_T")


def public(obj: _T) -> _T:
    """Mark a class or function as part of the public API (usable as a decorator)."""
    obj.__module__ = PUBLIC_MODULE
    return obj
