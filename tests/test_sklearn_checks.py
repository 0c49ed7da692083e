"""scikit-learn's estimator checks, run over KLPenaltyClassifier.

The checks that cannot apply to ordered numeric labels are declared, with a
reason, in ``EXPECTED_FAILED_CHECKS``; scikit-learn then expects them to fail.
"""

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_klpenalty import KLPenaltyClassifier
from sk_klpenalty.estimator import EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [KLPenaltyClassifier(max_epochs=3, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # The checks feed tiny or read-only arrays; their warnings are noise here.
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
