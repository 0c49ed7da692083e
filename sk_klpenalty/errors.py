"""The error type of the command line (below both ``cli`` and ``bench``)."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A problem with the command line or the data, reported in one line."""
