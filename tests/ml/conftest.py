"""Fixtures for the ML runtime tests: small synthetic shape sets and one tiny U-Net trained
once per session. Plain pytest, no Django; CPU only, a few seconds each."""

import pytest
import torch

from workers.ml.checkpoints import ModelSpec
from workers.ml.synthetic import CLASS_NAMES, make_shapes
from workers.ml.training import TrainConfig, train

from .support import TINY_UNET, build_seeded, semantic

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def easy_train():
    return make_shapes(64, size=(48, 48), seed=1)


@pytest.fixture(scope="session")
def easy_val():
    return make_shapes(8, size=(48, 48), seed=2)


@pytest.fixture(scope="session")
def trained_unet(easy_train, easy_val):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    model = build_seeded(spec)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        result = train(
            model, spec, semantic(easy_train), semantic(easy_val),
            config=TrainConfig(epochs=12, batch_size=8, lr=1e-2),
        )
    return result
