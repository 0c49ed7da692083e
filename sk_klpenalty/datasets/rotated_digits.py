"""The rotated-digits benchmark: built in, offline, ordered labels (angle bins)."""

import numbers

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from ..validation import check_int

__all__ = ["load_rotated_digits"]


def _check_max_angle(max_angle) -> float:
    if isinstance(max_angle, bool) or not isinstance(max_angle, numbers.Real):
        raise TypeError(
            f"max_angle must be a number in (0, 180] degrees, got {max_angle!r}."
        )
    # Written so that NaN fails too.
    if not 0 < max_angle <= 180:
        raise ValueError(
            f"max_angle must be a number in (0, 180] degrees, got {max_angle!r}."
        )
    return float(max_angle)


def _check_random_state(random_state) -> np.random.RandomState:
    allowed = "None, an int in [0, 2**32 - 1] or a numpy.random.RandomState"
    if random_state is not None and (
        isinstance(random_state, bool)
        or not isinstance(random_state, numbers.Integral | np.random.RandomState)
    ):
        raise TypeError(f"random_state must be {allowed}, got {random_state!r}.")
    try:
        return check_random_state(random_state)
    except ValueError as exc:  # e.g. a negative seed
        raise ValueError(
            f"random_state must be {allowed}, got {random_state!r}."
        ) from exc


def _centred_digits(image_size: int) -> np.ndarray:
    """Digits scaled to [0, 1], upscaled and centred on a blank square canvas.

    The digit square has side <= image_size / sqrt(2), so even its corners stay
    inside the canvas at any rotation, and the same parity as ``image_size``, so
    it is exactly centred on the rotation centre.
    """
    images = load_digits().images / 16.0  # pixels are 0..16
    inner = int(image_size / np.sqrt(2))
    inner -= (image_size - inner) % 2
    # One zoom call for all digits: axis 0 (the digit index) is not scaled.
    zoomed = ndimage.zoom(images, (1, inner / 8, inner / 8), order=1)
    canvas = np.zeros((len(images), image_size, image_size))
    start = (image_size - inner) // 2
    canvas[:, start : start + inner, start : start + inner] = zoomed
    return canvas


def _draw_angles(
    rng: np.random.RandomState, shape: tuple[int, int], max_angle: float
) -> np.ndarray:
    angles = rng.uniform(-max_angle, max_angle, size=shape)
    # numpy documents that `high` may come out through rounding; keep the
    # interval half-open so that every angle has exactly one bin.
    return np.minimum(angles, np.nextafter(max_angle, 0.0))


def _angle_bins(angles: np.ndarray, n_classes: int, max_angle: float) -> np.ndarray:
    edges = np.linspace(-max_angle, max_angle, n_classes + 1)
    # side="right": an angle equal to an edge belongs to the bin it starts.
    return (np.searchsorted(edges, angles, side="right") - 1).astype(np.int64)


def load_rotated_digits(
    n_classes: int = 24,
    max_angle: float = 120.0,
    n_rotations: int = 3,
    image_size: int = 28,
    random_state: int | np.random.RandomState | None = 0,
    return_angles: bool = False,
) -> tuple[np.ndarray, ...]:
    """Load an offline ordinal benchmark: how far is a digit rotated?

    Built from :func:`sklearn.datasets.load_digits` (1797 images of 8x8
    pixels, shipped with scikit-learn, so nothing is downloaded). Each digit is
    scaled to [0, 1], upscaled (bilinear) into a centred square of side about
    ``image_size / sqrt(2)`` on a blank ``image_size`` x ``image_size`` canvas,
    so that no rotation cuts it, and copied ``n_rotations`` times. Each copy is
    rotated about the canvas centre by an angle drawn uniformly in
    ``[-max_angle, max_angle)`` degrees (counter-clockwise as displayed with
    row 0 at the top, as :func:`scipy.ndimage.rotate`; bilinear).

    The label is how far the digit is rotated, not which digit it is: the
    interval ``[-max_angle, max_angle)`` is split into ``n_classes`` bins of
    equal width, and class ``k`` holds the angles in ``[edges[k], edges[k+1])``
    with ``edges = np.linspace(-max_angle, max_angle, n_classes + 1)``.
    Neighbouring classes are neighbouring angles and look alike, while distant
    classes look different: the classes are ordered, which is what makes this
    an ordinal task.

    Samples are in digit-major order: sample ``k * n_rotations + r`` is copy
    ``r`` of digit ``k`` of ``load_digits()``. Copies of one digit are alike
    apart from the angle; pass ``groups=np.arange(len(y)) // n_rotations`` to a
    group splitter (e.g. :class:`sklearn.model_selection.GroupKFold`) to keep
    them on one side of a split.

    Parameters
    ----------
    n_classes : int, default=24
        Number of angle bins (classes), at least 2.
    max_angle : float, default=120.0
        Largest absolute rotation in degrees, in (0, 180]. With 180 the
        classes wrap around (-180 and +180 degrees look the same).
    n_rotations : int, default=3
        Number of rotated copies per digit, at least 1.
    image_size : int, default=28
        Side of the square output images in pixels, at least 8.
    random_state : int, RandomState instance or None, default=0
        Seeds the angles. An int gives the same arrays on every call.
    return_angles : bool, default=False
        If True, also return the exact angle of every sample.

    Returns
    -------
    X : ndarray of shape (1797 * n_rotations, 1, image_size, image_size)
        float32 images with values in [0, 1] (one channel, as for a CNN).
    y : ndarray of shape (1797 * n_rotations,)
        int64 class (angle bin) in ``0 .. n_classes - 1``.
    angles : ndarray of shape (1797 * n_rotations,)
        float64 rotation angles in degrees, only if ``return_angles=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_klpenalty.datasets import load_rotated_digits
    >>> X, y = load_rotated_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((5391, 1, 28, 28), dtype('float32'), (5391,), dtype('int64'))
    >>> X, y, angles = load_rotated_digits(
    ...     n_classes=4, n_rotations=1, image_size=16, return_angles=True
    ... )
    >>> edges = np.linspace(-120, 120, 4 + 1)
    >>> bool(np.all((edges[y] <= angles) & (angles < edges[y + 1])))
    True
    """
    n_classes = check_int(n_classes, "n_classes", 2)
    max_angle = _check_max_angle(max_angle)
    n_rotations = check_int(n_rotations, "n_rotations", 1)
    image_size = check_int(image_size, "image_size", 8)
    rng = _check_random_state(random_state)

    digits = _centred_digits(image_size)
    angles = _draw_angles(rng, (len(digits), n_rotations), max_angle)
    # One scipy call per image is fast enough (~0.3 s for the defaults) and
    # simpler than a batched map_coordinates, which measured slower.
    X = np.empty((angles.size, 1, image_size, image_size), dtype=np.float32)
    for k, (digit, digit_angles) in enumerate(zip(digits, angles, strict=True)):
        for r, angle in enumerate(digit_angles):
            X[k * n_rotations + r, 0] = ndimage.rotate(
                digit, angle, reshape=False, order=1
            )
    # Bilinear interpolation stays within [0, 1] up to rounding; make it exact.
    np.clip(X, 0.0, 1.0, out=X)
    angles = angles.ravel()
    y = _angle_bins(angles, n_classes, max_angle)
    if return_angles:
        return X, y, angles
    return X, y
