"""The shared parameter checks: clear errors that name the parameter."""

import math

import numpy as np
import pytest

from sk_klpenalty.validation import check_choices, check_device, check_int, check_real


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
