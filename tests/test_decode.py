"""Decoding predicted distributions: argmax, mean, median, expectation."""

import numpy as np
import pytest

from sk_klpenalty.decode import DECODES, check_decode, decode_indices, expectation

VALUES = np.array([21, 22, 25, 60])
PROBA = np.array([[0.5, 0.0, 0.0, 0.5], [0.1, 0.3, 0.2, 0.4], [0.6, 0.4, 0, 0]])


@pytest.mark.parametrize(
    "decode, expected",
    [
        ("argmax", [21, 60, 21]),  # first maximum on ties
        ("mean", [25, 25, 21]),  # nearest class to E = 40.5, 37.7, 21.4
        ("median", [21, 25, 21]),  # first class with cumulative mass >= 0.5
    ],
)
def test_each_decode_on_known_probabilities(decode, expected):
    np.testing.assert_array_equal(
        VALUES[decode_indices(PROBA, VALUES, decode)], expected
    )


def test_expectation_is_in_label_units():
    np.testing.assert_allclose(expectation(PROBA, VALUES), [40.5, 37.7, 21.4])


def test_mean_decode_rounds_halfway_down_and_stays_in_range():
    values = np.array([0.0, 1.0, 2.0])
    proba = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(decode_indices(proba, values, "mean"), [0, 2, 0])


def test_unknown_decode_is_a_value_error_naming_the_choices():
    assert check_decode("median") == "median"
    with pytest.raises(ValueError, match=str(DECODES).replace("(", r"\(")[:20]):
        check_decode("mode")
