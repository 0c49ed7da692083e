"""Ordinal image data sets for trying out ordinal classifiers.

Two loaders are provided:

* :func:`load_rotated_digits` builds an offline ordinal benchmark from the
  scikit-learn digits: the label is the (binned) rotation angle of a digit.
* :func:`load_utkface` reads a UTKFace folder that the user downloaded
  themselves; the label is the age parsed from each file name.

Only numpy, scipy, scikit-learn and the standard library are imported here;
Pillow is imported inside the UTKFace functions so that ``import sk_klpenalty``
stays light.
"""

from .rotated_digits import load_rotated_digits
from .utkface import load_utkface

__all__ = ["load_rotated_digits", "load_utkface"]
