"""The rotated-digits benchmark: built in, offline, ordered labels (angle bins)."""

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from ..validation import check_int, check_real

__all__ = ["load_rotated_digits"]


def _centred_digits(image_size: int) -> np.ndarray:
    """The digits in [0, 1], upscaled into the centre of a blank canvas."""
    images = load_digits().images / 16.0  # pixels are 0..16
    # Side <= image_size / sqrt(2), so that no rotation cuts a corner, and of
    # image_size's parity, so that the digit is exactly centred.
    inner = int(image_size / np.sqrt(2))
    inner -= (image_size - inner) % 2
    # One zoom call for all digits: axis 0 (the digit index) is not scaled.
    zoomed = ndimage.zoom(images, (1, inner / 8, inner / 8), order=1)
    canvas = np.zeros((len(images), image_size, image_size))
    start = (image_size - inner) // 2
    canvas[:, start : start + inner, start : start + inner] = zoomed
    return canvas


def load_rotated_digits(
    n_classes: int = 24,
    max_angle: float = 120.0,
    n_rotations: int = 6,
    image_size: int = 12,
    random_state: int | np.random.RandomState | None = 0,
    return_angles: bool = False,
    return_groups: bool = False,
) -> tuple[np.ndarray, ...]:
    """Load an offline ordinal task: how far each digit is rotated.

    Sample ``k * n_rotations + r`` is copy ``r`` of digit ``k`` of
    :func:`sklearn.datasets.load_digits`, centred on a blank square and
    rotated by an angle uniform in ``[-max_angle, max_angle)`` degrees.

    Parameters
    ----------
    n_classes : int, default=24
        Number of angle bins, at least 2.
    max_angle : float, default=120.0
        Largest absolute angle in degrees, in (0, 180] (180 wraps around).
    n_rotations : int, default=6
        Rotated copies per digit, at least 1.
    image_size : int, default=12
        Side of the square images in pixels, at least 8.
    random_state : int, RandomState instance or None, default=0
        Seeds the angles.
    return_angles, return_groups : bool, default=False
        Also return each sample's angle, and its digit's index.

    Returns
    -------
    X : ndarray of shape (1797 * n_rotations, 1, image_size, image_size)
        The images, float32 in [0, 1].
    y : ndarray of shape (1797 * n_rotations,)
        The int64 class: ``k`` holds the angles in ``[edges[k], edges[k+1])``,
        ``edges = np.linspace(-max_angle, max_angle, n_classes + 1)``.
    angles : ndarray of shape (1797 * n_rotations,)
        Each sample's angle in degrees; returned if ``return_angles``.
    groups : ndarray of shape (1797 * n_rotations,)
        Each sample's digit, ``np.arange(len(y)) // n_rotations``, for a group
        splitter; returned if ``return_groups``.

    Examples
    --------
    >>> X, y, groups = load_rotated_digits(return_groups=True)
    >>> X.shape, X.dtype, y.dtype, groups[:8].tolist()
    ((10782, 1, 12, 12), dtype('float32'), dtype('int64'), [0, 0, 0, 0, 0, 0, 1, 1])
    >>> X, y, angles = load_rotated_digits(n_classes=4, return_angles=True)
    >>> edges = np.linspace(-120, 120, 4 + 1)
    >>> bool(np.all((edges[y] <= angles) & (angles < edges[y + 1])))
    True
    """
    n_classes = check_int(n_classes, "n_classes", 2)
    max_angle = float(
        check_real(max_angle, "max_angle", low=0.0, high=180.0, closed="right")
    )
    n_rotations = check_int(n_rotations, "n_rotations", 1)
    image_size = check_int(image_size, "image_size", 8)
    if not isinstance(random_state, np.random.RandomState | None):
        check_int(random_state, "random_state", 0, 2**32 - 1)
    rng = check_random_state(random_state)

    digits = _centred_digits(image_size)
    angles = rng.uniform(-max_angle, max_angle, size=len(digits) * n_rotations)
    # numpy says `high` may come out through rounding: keep [-max, max) half-open.
    angles = np.minimum(angles, np.nextafter(max_angle, 0.0))
    groups = np.arange(angles.size) // n_rotations
    # One scipy call per image: as fast as a batched map_coordinates, simpler.
    X = np.empty((angles.size, 1, image_size, image_size), dtype=np.float32)
    for i, angle in enumerate(angles):
        X[i, 0] = ndimage.rotate(digits[groups[i]], angle, reshape=False, order=1)
    np.clip(X, 0.0, 1.0, out=X)  # bilinear stays in [0, 1] only up to rounding
    edges = np.linspace(-max_angle, max_angle, n_classes + 1)
    # side="right": an angle on an edge belongs to the bin it starts.
    y = (np.searchsorted(edges, angles, side="right") - 1).astype(np.int64)
    wanted = (True, True, return_angles, return_groups)
    return tuple(a for a, w in zip((X, y, angles, groups), wanted, strict=True) if w)
