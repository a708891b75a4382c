import math

import pytest
import torch

from workers.ml.reductions import class_argmax, mean_entropy


@pytest.mark.parametrize("shape", [(4, 37, 53), (2, 5, 16, 9)])
def test_class_argmax_matches_torch_argmax_over_the_class_axis(shape):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(shape, generator=generator)
    logits[..., 0, 0] = 1.0  # a tie on every class: the lowest index wins, as with torch
    channel = len(shape) - 3
    assert torch.equal(class_argmax(logits), logits.argmax(channel))


def test_class_argmax_refuses_other_ranks():
    with pytest.raises(ValueError, match="got 2 dimensions"):
        class_argmax(torch.zeros(3, 4))


def test_mean_entropy_matches_the_definition_and_its_bounds():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 20, 30, generator=generator) * 5
    log_probs = torch.log_softmax(logits, 0)
    expected = float(-(log_probs.exp() * log_probs).sum(0).mean())
    assert mean_entropy(logits) == pytest.approx(expected, rel=1e-5)
    assert mean_entropy(torch.zeros(4, 3, 3)) == pytest.approx(math.log(4))
    assert mean_entropy(torch.tensor([[[1000.0]], [[-1000.0]]])) == pytest.approx(0.0, abs=1e-6)
