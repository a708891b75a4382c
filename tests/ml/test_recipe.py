"""The budget recipe (workers/ml/recipe.py): enough optimizer steps for the budget, bounded
memory, the best validation kept, and void (ignore) pixels counted nowhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from workers.ml import training as training_module
from workers.ml.checkpoints import ModelSpec
from workers.ml.metrics import IGNORE_INDEX, SemanticMeter
from workers.ml.recipe import MAX_BATCH_PIXELS_CPU, TARGET_STEPS_CPU, apply_plan, config_from, plan_semantic, BASE_RECIPES
from workers.ml.synthetic import CLASS_NAMES, make_shapes
from workers.ml.training import TrainConfig, soft_dice_loss, train

from .support import TINY_UNET, build_seeded, semantic

SPEC = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs={"depth": 4, "base_width": 32})
CPU = torch.device("cpu")


def _plan(budget_s: float, probe_step_s: float, sides=((512, 512),) * 24, val_pixels=6 * 512 * 512):
    return plan_semantic(model=None, spec=SPEC, budget_s=budget_s, image_sides=list(sides), val_pixels=val_pixels,
                         device=CPU, probe_step_s=probe_step_s)


def test_ten_minutes_on_two_cores_buy_hundreds_of_steps():
    # A probe step of 0.9 s at 192 px x 4 is what the U-Net (depth 4, width 32) takes on this VM.
    plan = _plan(600, 0.9)
    assert plan.steps >= TARGET_STEPS_CPU
    assert plan.crop_size % 32 == 0 and 192 <= plan.crop_size <= 512
    assert plan.batch_size * plan.crop_size**2 <= MAX_BATCH_PIXELS_CPU  # memory stays bounded
    assert plan.validations >= 2 and plan.samples_per_epoch >= plan.batch_size


def test_a_faster_machine_gets_bigger_crops_and_a_slower_one_smaller_crops():
    assert _plan(600, 0.2).crop_size > _plan(600, 0.9).crop_size >= _plan(600, 3.0).crop_size


def test_short_of_the_target_the_plan_keeps_context_while_steps_stay_above_the_floor():
    plan = _plan(600, 2.0)  # 300 steps only at crops below the floor
    assert plan.steps >= 120 and plan.crop_size >= 192 and "120 steps" in plan.reason


def test_a_budget_too_small_for_the_target_says_so_and_still_trains():
    plan = _plan(60, 3.0)
    assert plan.crop_size == 192 and plan.steps >= 1 and "fewer than" in plan.reason


def test_crops_never_exceed_the_smallest_image():
    plan = _plan(600, 0.05, sides=[(200, 300), (512, 512)])
    assert plan.crop_size <= 192


def test_a_budget_of_a_few_seconds_is_refused():
    with pytest.raises(ValueError, match="too short"):
        _plan(3, 0.5)


def test_the_probe_leaves_the_model_untouched():
    from workers.ml.recipe import probe_step_seconds

    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    model = build_seeded(spec)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert probe_step_seconds(model, spec, crop=64, batch=2, device=CPU) > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BatchNorm stats too


def test_a_planned_run_makes_the_planned_steps():
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    data = make_shapes(8, size=(64, 64), seed=3)
    plan = plan_semantic(model=build_seeded(spec), spec=spec, budget_s=60, image_sides=[(64, 64)] * 8,
                         val_pixels=2 * 64 * 64, device=CPU, target_steps=30, probe_step_s=1.0)
    plan = type(plan)(**{**plan.__dict__, "steps": 30, "samples_per_epoch": 40})
    config = config_from(apply_plan({**BASE_RECIPES["unet"], "minutes": 10.0}, plan))  # the steps bind, not the time
    result = train(build_seeded(spec), spec, semantic(data[:6]), semantic(data[6:]), config=config)
    assert result.steps == 30 and result.epochs_completed == 3  # 40 crops / batch -> 10 steps an epoch
    assert result.best_epoch is not None and result.peak_rss_mb > 0


def test_the_best_validation_is_the_one_kept(monkeypatch):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    data = make_shapes(6, size=(48, 48), seed=4)
    scripted = iter([0.50, 0.70, 0.60, 0.65])
    seen: list[dict] = []

    def fake_evaluate(model, spec, samples, **kwargs):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        metric = next(scripted)
        return {"miou": metric, "metric": metric}

    monkeypatch.setattr(training_module, "evaluate", fake_evaluate)
    result = train(build_seeded(spec), spec, semantic(data[:4]), semantic(data[4:]),
                   config=TrainConfig(epochs=4, batch_size=2, lr=1e-2, keep_best=True))
    assert (result.best_epoch, result.best_metric, result.metrics["metric"]) == (2, 0.70, 0.70)
    kept = result.model.state_dict()
    assert all(torch.equal(kept[k], seen[1][k]) for k in kept)
    assert not all(torch.equal(kept[k], seen[3][k]) for k in kept)


def test_void_pixels_count_in_neither_the_loss_nor_the_metrics():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 16, 16)
    labels = torch.randint(0, 3, (1, 16, 16))
    void = torch.zeros(16, 16, dtype=torch.bool)
    void[4:10, 2:12] = True
    with_void = labels.clone()
    with_void[0, void] = IGNORE_INDEX
    other = labels.clone()
    other[0, void] = (labels[0, void] + 1) % 3  # anything may lie under void
    other[0, void] = IGNORE_INDEX
    assert torch.equal(F.cross_entropy(logits, with_void, ignore_index=IGNORE_INDEX),
                       F.cross_entropy(logits, other, ignore_index=IGNORE_INDEX))
    keep = ~void
    assert torch.allclose(F.cross_entropy(logits, with_void, ignore_index=IGNORE_INDEX),
                          F.cross_entropy(logits.permute(0, 2, 3, 1)[0][keep], labels[0][keep]))
    assert torch.allclose(soft_dice_loss(logits, with_void), soft_dice_loss(logits, other))
    pred = logits.argmax(1)[0].numpy()
    meter_void, meter_kept = SemanticMeter(3), SemanticMeter(3)
    meter_void.update(pred, with_void[0].numpy())
    meter_kept.update(pred[keep.numpy()], labels[0].numpy()[keep.numpy()])
    assert np.array_equal(meter_void.confusion, meter_kept.confusion)


def test_short_plans_train_with_light_augmentation_and_long_ones_with_all_of_it():
    from workers.ml.recipe import STRONG_AUGMENTATION_STEPS

    short, long = _plan(600, 0.9), _plan(6000, 0.9)
    assert short.steps < STRONG_AUGMENTATION_STEPS <= long.steps
    assert config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 10}, short)).augmentation == "light"
    assert config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 100}, long)).augmentation == "budget"


def test_a_recipe_that_asks_for_a_weight_average_gets_one_over_the_last_fifth_of_its_steps():
    short, long = _plan(600, 0.9), _plan(6000, 0.9)
    for plan in (short, long):
        decay = config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 10, "ema": True}, plan)).ema_decay
        assert decay == min(0.999, round(1 - 1 / max(10, plan.steps / 5), 4))
    assert config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 10, "ema": True}, short)).ema_decay < \
        config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 100, "ema": True}, long)).ema_decay
    # Off by default (see EMA_WINDOW_SHARE).
    assert config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 10}, short)).ema_decay is None


# --- CPU numerics: the probe measures each, the run trains in the fastest -------------------


def test_the_plan_trains_in_the_fastest_numerics_it_measured(monkeypatch):
    from workers.ml import device as devices
    from workers.ml import recipe

    step = {"fp32": 1.6, "fp32-cl": 1.1, "bf16-cl": 0.5}
    measured = []

    def fake_probe(model, spec, *, crop, batch, device, numerics=None):
        measured.append(numerics)
        return step[numerics]

    monkeypatch.setattr(recipe, "probe_step_seconds", fake_probe)
    monkeypatch.setattr(devices, "cpu_numerics_candidates", lambda: list(step))
    plan = plan_semantic(model=None, spec=SPEC, budget_s=600, image_sides=[(512, 512)] * 24, val_pixels=6 * 512 * 512, device=CPU)
    assert measured == list(step) and plan.numerics == "bf16-cl" and plan.probe_step_s == 0.5
    assert plan.numerics_probe == step and plan.as_dict()["numerics_probe"] == step  # recorded on the version
    # The same budget buys more steps than fp32 would have: the plan is made at the measured speed.
    monkeypatch.setattr(devices, "cpu_numerics_candidates", lambda: ["fp32"])
    fp32 = plan_semantic(model=None, spec=SPEC, budget_s=600, image_sides=[(512, 512)] * 24, val_pixels=6 * 512 * 512, device=CPU)
    assert fp32.numerics == "fp32" and plan.steps * plan.crop_size**2 > 2 * fp32.steps * fp32.crop_size**2
    assert config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 10}, plan)).numerics == "bf16-cl"


def test_a_given_probe_plans_in_fp32():
    assert _plan(600, 0.9).numerics is None and config_from(apply_plan(BASE_RECIPES["unet"] | {"minutes": 10}, _plan(600, 0.9))).numerics is None


def test_bf16_is_offered_and_accepted_only_where_the_cpu_has_it(monkeypatch):
    from workers.ml import device as devices

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert devices.cpu_numerics_candidates() == ["fp32", "fp32-cl"]
    with pytest.raises(ValueError, match="native bf16"):
        devices.autocast(CPU, "bf16-cl")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.cpu_numerics_candidates() == ["fp32", "fp32-cl", "bf16-cl"]
    assert devices.autocast_dtype(CPU, "bf16-cl") == torch.bfloat16
    assert devices.autocast_dtype(CPU) is None and devices.memory_format(CPU) == torch.contiguous_format  # the default
    with pytest.raises(ValueError, match="numerics must be one of"):
        TrainConfig(epochs=1, numerics="fp8")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)  # a run resumed on a worker without it goes on
    assert devices.usable_numerics("bf16-cl") == "fp32-cl" and devices.usable_numerics("fp32") == "fp32"


@pytest.mark.parametrize("numerics", __import__("workers.ml.device", fromlist=["x"]).cpu_numerics_candidates())
def test_a_run_in_each_numerics_this_cpu_offers_learns_in_them_and_keeps_fp32_weights(numerics, tmp_path):
    from workers.ml import device as devices
    from workers.ml.checkpoints import read_checkpoint

    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    data = make_shapes(6, size=(64, 64), seed=5)
    model = build_seeded(spec)
    seen: set = set()
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    hook = conv.register_forward_hook(lambda m, args, out: seen.add((out.dtype, args[0].is_contiguous(memory_format=torch.channels_last)
                                                                      and not args[0].is_contiguous())))
    config = TrainConfig(epochs=2, batch_size=2, lr=1e-2, numerics=numerics)
    result = train(model, spec, semantic(data[:4]), semantic(data[4:]), config=config, checkpoint_dir=tmp_path)
    hook.remove()
    wanted = devices.NUMERICS[numerics]
    assert seen == {(wanted.autocast_dtype or torch.float32, wanted.channels_last)}  # training and validation ran in them
    assert np.isfinite([h["loss"] for h in result.history]).all() and 0 <= result.metrics["miou"] <= 1
    state = read_checkpoint(tmp_path / "last.pt")
    assert all(v.dtype == torch.float32 for k, v in state["model"].items() if v.is_floating_point())
    fresh = build_seeded(spec)
    fresh.load_state_dict(state["model"])  # loads into a plain fp32 model (pre-label, evaluation)
    assert training_module.evaluate(fresh, spec, semantic(data[4:]))["miou"] == pytest.approx(
        training_module.evaluate(result.model, spec, semantic(data[4:]))["miou"])
