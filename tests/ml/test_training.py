import numpy as np
import pytest
import torch

from workers.ml.checkpoints import ModelSpec
from workers.ml.inference import InstancePrediction, Predictor, SemanticPrediction, assist_box
from workers.ml.metrics import binary_iou
from workers.ml.synthetic import CLASS_NAMES, make_shapes
from workers.ml.training import (
    CHECKPOINT_NAME,
    TrainConfig,
    median_frequency_weights,
    soft_dice_loss,
    train,
)

from .support import TINY_MASKRCNN, TINY_SEGNET, TINY_UNET, build_seeded, instances, semantic


def test_a_tiny_unet_learns_easy_shapes(trained_unet, easy_val):
    assert trained_unet.metrics["miou"] > 0.8
    assert trained_unet.history[-1]["loss"] < trained_unet.history[0]["loss"] / 2
    # and the pre-label pipeline's masks match the ground truth shapes
    predictor = Predictor(trained_unet.model, trained_unet.spec)
    for result, truth in zip(predictor.predict([(i, s.image) for i, s in enumerate(easy_val)]), easy_val):
        assert binary_iou(result.label_map > 0, truth.label_map > 0) > 0.8


def test_a_tiny_segnet_learns_easy_shapes_with_median_frequency_weights(easy_train, easy_val):
    # Plain cross-entropy leaves the tiny SegNet ignoring the rarest class for a long
    # while; SegNet's own recipe (median frequency balancing) fixes that in seconds.
    spec = ModelSpec(arch="segnet", class_names=CLASS_NAMES, builder_kwargs=TINY_SEGNET)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        result = train(
            build_seeded(spec), spec, semantic(easy_train), semantic(easy_val),
            config=TrainConfig(epochs=25, batch_size=8, lr=3e-3, class_weights="median_frequency"),
        )
    assert result.metrics["miou"] > 0.8


def test_fcn_resnet50_loss_goes_down_and_predicts_per_class_masks(easy_train, easy_val):
    spec = ModelSpec(arch="fcn", class_names=CLASS_NAMES, builder_kwargs={"backbone": "resnet50"})
    with torch.random.fork_rng():
        torch.manual_seed(0)
        result = train(
            build_seeded(spec), spec, semantic(easy_train[:16]), semantic(easy_val[:2]),
            config=TrainConfig(epochs=3, batch_size=4, lr=1e-3, dice_weight=0.5),
        )
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    (pred,) = Predictor(result.model, spec).predict([("a", easy_val[0].image[:37, :45])])
    assert isinstance(pred, SemanticPrediction) and pred.size == (37, 45)
    assert 0 <= pred.uncertainty <= 1
    for c, m in pred.masks.items():
        assert 1 <= c < 4 and m.shape == (37, 45) and m.dtype == bool and m.any()


def test_tiny_maskrcnn_loss_goes_down_and_outputs_instances():
    data = make_shapes(16, size=(64, 64), seed=1)
    spec = ModelSpec(arch="maskrcnn", class_names=CLASS_NAMES, builder_kwargs=TINY_MASKRCNN)
    losses = []
    with torch.random.fork_rng():
        torch.manual_seed(0)
        result = train(
            build_seeded(spec), spec, instances(data), instances(data[:2]),
            config=TrainConfig(epochs=4, batch_size=4, lr=3e-4),
            progress=lambda epoch, step, loss, metric: metric is None and losses.append(loss),
        )
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    assert {"ap", "ap50", "ap75"} <= set(result.metrics)
    predictor = Predictor(result.model, spec, score_threshold=0.0)
    (pred,) = predictor.predict([("a", data[0].image[:50, :61])])
    assert isinstance(pred, InstancePrediction) and pred.size == (50, 61)
    assert 0 <= pred.uncertainty <= 1
    for inst in pred.instances:
        assert 1 <= inst.class_index < 4 and 0 <= inst.score <= 1
        assert inst.mask.shape == (50, 61) and inst.mask.dtype == bool
    mask = assist_box(result.model, data[0].image, (10, 12, 40, 44))
    assert mask.shape == (64, 64) and mask.dtype == bool
    assert not mask[:, :5].any()  # the mask head draws inside the given box


def test_resume_continues_at_the_next_epoch(tmp_path, easy_train):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    samples = semantic(easy_train[:16])
    config = TrainConfig(epochs=4, batch_size=8, lr=1e-2)
    steps_per_epoch = 2
    # The first run is stopped (as a killed or cancelled job would be) in its third epoch.
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 2 * steps_per_epoch + 1

    first = train(build_seeded(spec), spec, samples, config=config, checkpoint_dir=tmp_path, should_stop=should_stop)
    assert first.stopped == "cancelled"
    saved = torch.load(tmp_path / CHECKPOINT_NAME, map_location="cpu", weights_only=True)
    assert saved["epoch"] == 2 and not saved["finished"]

    epochs_seen = []
    second = train(
        build_seeded(spec, seed=1), spec, samples, config=config, checkpoint_dir=tmp_path,
        progress=lambda epoch, step, loss, metric: epochs_seen.append(epoch),
    )
    assert epochs_seen[0] == 2 and second.epochs_completed == 4
    assert second.steps == 4 * steps_per_epoch
    assert [h["epoch"] for h in second.history] == [1, 2, 3, 4]
    # A finished run is not trained again.
    third = train(build_seeded(spec), spec, samples, config=config, checkpoint_dir=tmp_path)
    assert third.steps == second.steps and third.epochs_completed == 4


def test_a_minutes_budget_stops_training_and_global_seed_is_untouched(easy_train):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    seed_before = torch.initial_seed()
    result = train(
        build_seeded(spec), spec, semantic(easy_train), config=TrainConfig(minutes=0.02, batch_size=4)
    )
    assert result.stopped == "budget"
    assert 1.2 <= result.elapsed_s < 10
    assert torch.initial_seed() == seed_before


def test_median_frequency_weights_on_a_hand_made_case():
    a = np.zeros((2, 2), dtype=np.uint8)  # all background
    b = np.array([[0, 1], [1, 1]], dtype=np.uint8)  # 1 background, 3 class 1
    w = median_frequency_weights([a, b], num_classes=3)
    # f0 = 5/8, f1 = 3/4, median = 11/16 -> w0 = 1.1, w1 = 11/12; class 2 absent -> 1
    assert w.tolist() == pytest.approx([1.1, 11 / 12, 1.0])


def test_dice_loss_is_zero_for_a_confident_right_answer():
    target = torch.tensor([[[0, 1], [1, 0]]])
    logits = torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float() * 50
    assert soft_dice_loss(logits, target).item() == pytest.approx(0, abs=1e-4)
    assert soft_dice_loss(-logits, target).item() > 0.7


def test_training_refuses_a_config_without_budget():
    with pytest.raises(ValueError, match="budget"):
        TrainConfig()


def _warmed_ema(snapshots: list[dict], decay: float) -> dict:
    """The weight average the loop should keep, computed here from the weights after each step."""
    average = {k: v.clone().double() for k, v in snapshots[0].items()}
    for n, state in enumerate(snapshots[1:], start=1):
        d = min(decay, (1.0 + n) / (10.0 + n))
        for k, v in state.items():
            average[k] = average[k] * d + v.double() * (1.0 - d)
    return average


def test_a_weight_average_is_what_training_keeps(easy_train):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    model = build_seeded(spec)
    by_step = {}  # progress also reports each epoch's end, with the step of its last batch
    result = train(model, spec, semantic(easy_train[:16]), config=TrainConfig(epochs=3, batch_size=4, lr=1e-2, ema_decay=0.8),
                   progress=lambda epoch, step, loss, metric: by_step.setdefault(
                       step, {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}))
    snapshots = [by_step[k] for k in sorted(by_step)]
    assert result.steps == len(snapshots) == 12
    expected = _warmed_ema(snapshots, 0.8)
    final = result.model.state_dict()
    for k, v in expected.items():
        assert torch.allclose(final[k].double(), v, atol=1e-5), k
    # ... and not the last weights trained (the average differs from them).
    assert not torch.allclose(final["head.weight"], snapshots[-1]["head.weight"])


def test_the_weight_average_is_validated_and_carried_across_a_resume(tmp_path, easy_train, easy_val):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    samples, val = semantic(easy_train[:16]), semantic(easy_val[:4])
    config = TrainConfig(epochs=4, batch_size=8, lr=1e-2, ema_decay=0.7)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 5  # in the third epoch

    assert train(build_seeded(spec), spec, samples, val, config=config, checkpoint_dir=tmp_path,
                 should_stop=should_stop).stopped == "cancelled"
    saved = torch.load(tmp_path / CHECKPOINT_NAME, map_location="cpu", weights_only=True)
    assert saved["step"] == 4 and int(saved["ema"]["n_averaged"]) == 4
    assert not torch.allclose(saved["ema"]["module.head.weight"], saved["model"]["head.weight"])
    # The resumed run goes on from the saved average: its end is that average updated with the
    # weights after each of its own steps.
    model = build_seeded(spec, seed=1)
    by_step = {}
    resumed = train(model, spec, samples, val, config=config, checkpoint_dir=tmp_path,
                    progress=lambda epoch, step, loss, metric: by_step.setdefault(
                        step, {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}))
    assert sorted(by_step) == [5, 6, 7, 8]
    average = {k[len("module."):]: v.double() for k, v in saved["ema"].items() if k.startswith("module.") and v.is_floating_point()}
    for n, step in enumerate(sorted(by_step), start=4):
        d = min(0.7, (1.0 + n) / (10.0 + n))
        average = {k: v * d + by_step[step][k].double() * (1.0 - d) for k, v in average.items()}
    final = resumed.model.state_dict()
    for k, v in average.items():
        assert torch.allclose(final[k].double(), v, atol=1e-5), k
    # The last validation recorded is of that average, not of the weights trained.
    from workers.ml.training import evaluate
    assert evaluate(resumed.model, spec, val)["metric"] == pytest.approx(resumed.history[-1]["metrics"]["metric"])


def test_an_ema_decay_outside_zero_one_is_refused():
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="ema_decay"):
            TrainConfig(epochs=1, ema_decay=bad)
