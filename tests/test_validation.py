"""The shared parameter and label checks: clear errors that name the parameter."""

import math

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from sk_klpenalty.validation import (
    check_choices,
    check_class_values,
    check_int,
    check_labels,
    check_labels_known,
    check_real,
)


@pytest.mark.parametrize(
    "value, error",
    [
        (0.0, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (1.5, ValueError),
        ("0.5", TypeError),
        (True, TypeError),
    ],
)
def test_check_real_names_the_parameter_and_the_interval(value, error):
    with pytest.raises(error, match="sigma_decay"):
        check_real(value, "sigma_decay", low=0.0, high=1.0)
    check_real(1.0, "sigma_decay", low=0.0, high=1.0)
    check_real(0.0, "alpha", low=0.0, low_inclusive=True)


def test_labels_must_be_numeric_1d_and_finite():
    with pytest.warns(DataConversionWarning):
        assert check_labels(np.array([[1], [2]])).shape == (2,)
    assert check_labels([True, False]).dtype == np.int64
    with pytest.raises(ValueError, match="numeric labels"):
        check_labels(["low", "high"])
    with pytest.raises(ValueError, match="NaN"):
        check_labels([1.0, math.nan])
    with pytest.raises(ValueError, match="1-D"):
        check_labels(np.zeros((2, 2)))


def test_class_values_are_sorted_unique_and_cover_the_labels():
    np.testing.assert_array_equal(check_class_values([3, 1, 2]), [1, 2, 3])
    with pytest.raises(ValueError, match="duplicate"):
        check_class_values([1, 1, 2])
    with pytest.raises(ValueError, match=r"not in classes: \[9\]"):
        check_labels_known(np.array([1, 9]), np.array([1, 2]), "classes")


def test_choices_and_ints():
    assert check_choices("mean", ("argmax", "mean"), "decodes") == ("mean",)
    with pytest.raises(ValueError, match="decodes"):
        check_choices((), ("argmax",), "decodes")
    assert check_int(np.int64(3), "n", 1) == 3
    with pytest.raises(TypeError, match="n_rotations"):
        check_int(True, "n_rotations", 1)
    with pytest.raises(ValueError, match="n_rotations"):
        check_int(0, "n_rotations", 1)
