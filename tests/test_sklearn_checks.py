"""scikit-learn's estimator checks, run over KLPenaltyClassifier and its two
peers, OrdinalRegressor and CORNClassifier.

The checks that cannot apply to ordered numeric labels are declared, with a
reason, in ``EXPECTED_FAILED_CHECKS``; scikit-learn then expects them to fail.
The peers share the labels' handling with the classifier, so they declare the
same ones.
"""

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_klpenalty import CORNClassifier, KLPenaltyClassifier, OrdinalRegressor
from sk_klpenalty.estimator import EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [
        KLPenaltyClassifier(max_epochs=3, random_state=0),
        # The checks' "easy" data are blobs of unordered classes: the peers'
        # ordinal heads (one output; a chain of binary tasks) need more epochs
        # than a softmax to separate them (3 epochs reach 0.77 and 0.72
        # training accuracy where 0.83 is required).
        OrdinalRegressor(max_epochs=20, random_state=0),
        CORNClassifier(max_epochs=20, random_state=0),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # The checks feed tiny or read-only arrays; their warnings are noise here.
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
