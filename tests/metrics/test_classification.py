import numpy as np
import pytest
import torch

from speechbench.metrics.classification import (
    accuracy,
    confusion_matrix,
    frame_accuracy,
    joint_accuracy,
    per_class_accuracy,
)

PRED = [0, 1, 1, 2, 2, 2]
TRUE = [0, 1, 2, 2, 2, 0]


def test_accuracy_and_per_class():
    assert accuracy(PRED, TRUE) == pytest.approx(4 / 6)
    assert accuracy(torch.tensor(PRED), np.array(TRUE)) == pytest.approx(4 / 6)
    # class 0: 1 of 2 right; class 1: 1 of 1; class 2: 2 of 3; class 3 absent -> left out
    assert per_class_accuracy(PRED, TRUE, num_classes=4) == pytest.approx({0: 0.5, 1: 1.0, 2: 2 / 3})


def test_confusion_matrix_rows_are_true_classes():
    conf = confusion_matrix(PRED, TRUE, num_classes=3)
    assert conf.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert conf.sum(axis=1).tolist() == [2, 1, 3]


def test_confusion_matrix_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        confusion_matrix([0, 1], [0, 2], num_classes=2)


def test_input_errors():
    with pytest.raises(ValueError, match="shape"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="no labels"):
        accuracy([], [])
    with pytest.raises(TypeError, match="argmax"):
        accuracy(torch.randn(3), [0, 1, 2])


def test_frame_accuracy_ignores_padding():
    pred = torch.tensor([[1, 2, 3, 0], [4, 4, 9, 9]])
    true = torch.tensor([[1, 2, 0, 0], [4, 5, 0, 0]])
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    assert frame_accuracy(pred, true, mask) == (3, 5)
    with pytest.raises(TypeError, match="bool"):
        frame_accuracy(pred, true, mask.long())
    with pytest.raises(ValueError, match="same"):
        frame_accuracy(pred[:, :3], true, mask)


def test_joint_accuracy_needs_every_slot():
    pred = [[1, 2, 3], [1, 2, 0], [0, 0, 0]]
    true = [[1, 2, 3], [1, 2, 3], [0, 0, 0]]
    assert joint_accuracy(pred, true) == pytest.approx(2 / 3)
    assert accuracy(pred, true) == pytest.approx(8 / 9)
    with pytest.raises(ValueError, match="num_slots"):
        joint_accuracy([1, 2], [1, 2])
