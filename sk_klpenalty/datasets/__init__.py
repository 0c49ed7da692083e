"""Ordinal data sets: :func:`load_rotated_digits` (built in, offline),
:func:`load_utkface` (a UTKFace folder you downloaded) and your own data,
:func:`load_image_folder` (one subfolder per class) and :func:`load_npz`.
Pillow is imported only to decode images, keeping ``import sk_klpenalty`` light.
"""

from .rotated_digits import load_rotated_digits
from .user_data import load_image_folder, load_npz
from .utkface import load_utkface

__all__ = ["load_image_folder", "load_npz", "load_rotated_digits", "load_utkface"]
