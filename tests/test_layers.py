"""The package's own Keras layers keep the layer contract (`helpers.check_layer`): call, config and .keras round
trips with identical outputs."""

import numpy as np
from helpers import check_layer

from keras_bert_zoo.layers import FoldChoices, UnfoldChoices


def test_fold_choices_merges_batch_and_choices():
    x = np.arange(2 * 3 * 4, dtype="int32").reshape(2, 3, 4)
    out = check_layer(FoldChoices(), x, (6, 4))
    np.testing.assert_array_equal(out, x.reshape(6, 4))


def test_unfold_choices_splits_the_scores_back():
    scores = np.arange(6, dtype="float32").reshape(6, 1)
    out = check_layer(UnfoldChoices(num_choices=3), scores, (2, 3))
    np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5]])
    like = np.zeros((3, 2, 5), "int32")  # num_choices=None: the count is read from `like`
    np.testing.assert_array_equal(UnfoldChoices(num_choices=None)(scores, like=like), [[0, 1], [2, 3], [4, 5]])
