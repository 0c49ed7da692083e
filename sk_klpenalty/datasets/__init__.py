"""Ordinal data sets: :func:`load_rotated_digits` (built in, offline),
:func:`load_utkface` (a UTKFace folder you downloaded), and your own data in
:func:`load_image_folder` (one subfolder per class) or :func:`load_npz`."""

from .images import load_image_folder, load_utkface
from .npz import load_npz
from .rotated_digits import load_rotated_digits

__all__ = ["load_image_folder", "load_npz", "load_rotated_digits", "load_utkface"]
