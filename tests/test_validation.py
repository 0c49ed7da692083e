"""The shared parameter and label checks: clear errors that name the parameter."""

import math

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from sk_klpenalty.validation import (
    check_choices,
    check_class_values,
    check_device,
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
        check_real(value, "sigma_decay", low=0.0, high=1.0, closed="right")
    check_real(1.0, "sigma_decay", low=0.0, high=1.0, closed="right")
    check_real(0.0, "alpha", low=0.0, closed="left")


def test_labels_are_1d_finite_numbers_or_other_labels_without_gaps():
    with pytest.warns(DataConversionWarning):
        assert check_labels(np.array([[1], [2]])).shape == (2,)
    assert check_labels([True, False]).dtype == np.int64
    assert check_labels(np.array([1, 2.5], dtype=object)).dtype == np.float64
    assert check_labels(["low", "high"]).tolist() == ["low", "high"]
    with pytest.raises(ValueError, match="NaN"):
        check_labels([1.0, math.nan])
    with pytest.raises(ValueError, match="missing"):
        check_labels(np.array(["low", None], dtype=object))
    with pytest.raises(ValueError, match="1-D"):
        check_labels(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unknown label type"):
        check_labels(np.array([1 + 2j]))


def test_class_values_are_sorted_numbers_or_labels_in_the_given_order():
    np.testing.assert_array_equal(check_class_values([3, 1, 2]), [1, 2, 3])
    assert check_class_values(["b", "c", "a"]).tolist() == ["b", "c", "a"]
    with pytest.raises(ValueError, match="duplicate"):
        check_class_values([1, 1, 2])
    with pytest.raises(ValueError, match="duplicate"):
        check_class_values(["b", "a", "b"])
    with pytest.raises(ValueError, match=r"not in classes: \[9\]"):
        check_labels_known(np.array([1, 9]), np.array([1, 2]), "classes")
    with pytest.raises(ValueError, match=r"not in classes: \['x'\]"):
        check_labels_known(np.array(["a", "x"]), np.array(["a", "b"]), "classes")


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "", 3.5])
def test_bad_device_strings_are_one_line_errors_naming_device(device):
    with pytest.raises(ValueError, match="^device"):
        check_device(device)
    check_device("cpu")
    check_device(None)


def test_choices_and_ints():
    assert check_choices("mean", ("argmax", "mean"), "decodes") == ("mean",)
    with pytest.raises(ValueError, match="decodes"):
        check_choices((), ("argmax",), "decodes")
    assert check_int(np.int64(3), "n", 1) == 3
    with pytest.raises(TypeError, match="n_rotations"):
        check_int(True, "n_rotations", 1)
    with pytest.raises(ValueError, match="n_rotations"):
        check_int(0, "n_rotations", 1)
