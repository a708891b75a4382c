"""The budget recipe: from the time budget, the device, the images and a short throughput probe,
choose the crop size, batch size and number of optimizer steps of a semantic training run.

Why: a fixed recipe (512-px crops, batch 8) bought 38 optimizer steps in 10 minutes on two CPU
cores, and a net that takes 38 steps learns little. What a run needs first is enough steps
(hundreds); context per crop comes second. So the plan measures one training step at a probe
size on a copy of the model, scales the cost by pixels per batch, and takes the largest crop
whose step count over the budget reaches `target_steps` (at least `min_crop`). It also bounds
memory: a batch never holds more than `max_batch_pixels` pixels on the CPU.

On the CPU the probe also measures each numerics this CPU offers (fp32, fp32 in channels_last,
and bf16 autocast in channels_last where the CPU has native bf16: workers/ml/device.py) and the
run trains in the fastest: the same budget then buys up to ~3.5x the steps.

The rest of the recipe is fixed and written down here once: cross-entropy + soft Dice; flips and
rot90, plus class-balanced crops, elastic deformation and photometric jitter once a plan has
STRONG_AUGMENTATION_STEPS steps (workers/ml/augment.py); AdamW with a short warm-up and a cosine decay over the planned steps,
about `VALIDATIONS` validations on whole images, and the best validation checkpoint kept (of a moving
average of the weights where the recipe asks for one).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import device as devices
from .checkpoints import ModelSpec
from .training import TrainConfig

CROP_MULTIPLE = 32  # every semantic builder accepts sizes divisible by 32
# Measured (bench/train.py --compare, thin membranes): 128-px crops at twice the steps lost to 256-px
# crops; below ~192 px a depth-4 net sees more border than context.
MIN_CROP = 192
MIN_STEPS = 120  # fewer than this and a smaller crop is worth it after all
# Measured at 70 steps (U-Net, thin membranes, 256-px crops): elastic + photometric jitter cost 0.05
# membrane IoU and class-balanced crops 0.02, Dice gained 0.02. Regularising augmentation pays only
# when a run is long enough to overfit 24 images, so short plans train with "light" augmentation.
STRONG_AUGMENTATION_STEPS = 1000
MAX_CROP = 512
PROBE_CROP = 192
TARGET_STEPS_CPU = 300
TARGET_STEPS_GPU = 2000
CPU_BATCH = 4
MAX_BATCH_PIXELS_CPU = 4 * 320 * 320  # ~1.2 GB of U-Net activations at width 32
VALIDATIONS = 5
VALIDATION_SHARE = 0.1  # at most this share of the budget goes to validating
SETUP_S = 5.0  # data loading and the first batch, before steps run at speed
# A recipe may validate and keep an exponential moving average of the weights (TrainConfig.ema_decay)
# over about the last fifth of the planned steps ("ema": True in the recipe). Off by default: on the
# thin-membrane set at 10 minutes on a slow 2-core CPU (75 steps, bench/train.py --contenders
# new,new-ema,plain) it scored 0.584 against 0.599 without (test images: 0.596 / 0.608).
EMA_WINDOW_SHARE = 0.2


@dataclass(frozen=True)
class RecipePlan:
    """What the plan chose and why; recorded on the model version."""

    crop_size: int
    batch_size: int
    steps: int
    samples_per_epoch: int
    validations: int
    probe_step_s: float  # one step at probe_crop x probe_batch
    probe_crop: int
    probe_batch: int
    step_s: float  # estimated at the chosen crop and batch
    validation_s: float  # estimated, all validations together
    budget_s: float
    reason: str
    numerics: str | None = None  # CPU numerics trained in (None: fp32, or CUDA's own)
    numerics_probe: dict | None = None  # seconds of one probe step in each CPU numerics measured

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def largest_crop_for(sides: Sequence[tuple[int, int]]) -> int:
    """The largest square crop every image holds, a multiple of CROP_MULTIPLE, at most MAX_CROP."""
    smallest = min(min(h, w) for h, w in sides)
    return max(CROP_MULTIPLE, min(MAX_CROP, smallest // CROP_MULTIPLE * CROP_MULTIPLE))


def probe_step_seconds(model: nn.Module, spec: ModelSpec, *, crop: int, batch: int, device: torch.device,
                       numerics: str | None = None) -> float:
    """Seconds of one forward + backward + AdamW step at `batch` x `crop`^2, measured on a copy
    of the model (the real one, its weights and BatchNorm statistics stay untouched), in the
    CPU `numerics` given (None: fp32)."""
    memory_format = devices.memory_format(device, numerics)
    probe = copy.deepcopy(model).to(device, memory_format=memory_format).train()
    optimizer = torch.optim.AdamW([p for p in probe.parameters() if p.requires_grad], lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, crop, crop, generator=generator).to(device).contiguous(memory_format=memory_format)
    y = torch.randint(0, spec.num_classes, (batch, crop, crop), generator=generator).to(device)
    times = []
    for _ in range(3):  # the first step pays for allocation and kernel selection
        started = time.perf_counter()
        with devices.autocast(device, numerics):
            loss = F.cross_entropy(probe(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
    del probe, optimizer
    return min(times[1:])


def plan_semantic(
    *,
    model: nn.Module,
    spec: ModelSpec,
    budget_s: float,
    image_sides: Sequence[tuple[int, int]],
    val_pixels: int,
    device: torch.device,
    target_steps: int | None = None,
    probe_step_s: float | None = None,
) -> RecipePlan:
    """Crop, batch and steps for `budget_s` seconds of training (validation included).

    `image_sides` are the training images' (h, w); `val_pixels` the pixels of all validation
    images (each validation runs the model over them once). `probe_step_s` skips the probe
    (tests; the run is then fp32). On the CPU the probe measures every numerics of
    `devices.cpu_numerics_candidates()` and plans with the fastest. Raises ValueError for a
    budget too small to train at all.
    """
    if budget_s <= SETUP_S:
        raise ValueError(f"a budget of {budget_s:.0f} s is too short to train (at least {SETUP_S + 1:.0f} s)")
    on_gpu = device.type == "cuda"
    target = target_steps or (TARGET_STEPS_GPU if on_gpu else TARGET_STEPS_CPU)
    largest_crop = largest_crop_for(image_sides)
    probe_crop = min(PROBE_CROP, largest_crop)
    probe_batch = CPU_BATCH
    measured = probe_step_s is None
    numerics, numerics_probe = None, None
    if measured:
        started = time.perf_counter()
        if on_gpu:
            probe_step_s = probe_step_seconds(model, spec, crop=probe_crop, batch=probe_batch, device=device)
        else:
            numerics_probe = {name: round(probe_step_seconds(model, spec, crop=probe_crop, batch=probe_batch, device=device,
                                                             numerics=name), 4)
                              for name in devices.cpu_numerics_candidates()}
            numerics = min(numerics_probe, key=numerics_probe.get)
            probe_step_s = numerics_probe[numerics]
        probe_cost = time.perf_counter() - started
    else:
        probe_cost = 0.0
    per_pixel = probe_step_s / (probe_batch * probe_crop**2)
    # Validation: one forward over the validation pixels, about a third of a training step's cost.
    one_validation = val_pixels * per_pixel / 3
    validations = VALIDATIONS
    while validations > 2 and validations * one_validation > VALIDATION_SHARE * budget_s:
        validations -= 1
    validation_s = validations * one_validation
    train_s = max(1.0, budget_s - SETUP_S - probe_cost - validation_s)

    def batch_for(crop: int) -> int:
        if on_gpu:
            return devices.suggest_batch_size(device, pixels_per_image=crop * crop, max_batch_size=32)
        return CPU_BATCH

    if not on_gpu:  # a batch of CPU_BATCH crops stays within the memory bound
        largest_crop = min(largest_crop, int((MAX_BATCH_PIXELS_CPU // CPU_BATCH) ** 0.5) // CROP_MULTIPLE * CROP_MULTIPLE)
    candidates = list(range(largest_crop, MIN_CROP - 1, -CROP_MULTIPLE)) or [largest_crop]
    def steps_for(crop: int) -> int:
        return max(1, int(train_s / (per_pixel * batch_for(crop) * crop * crop)))

    # The largest crop that reaches the target; else the largest that still makes MIN_STEPS
    # (context beats steps past that point); else the smallest crop.
    chosen = next(((c, f"largest crop reaching {target} steps in the budget") for c in candidates if steps_for(c) >= target), None)
    if chosen is None:
        chosen = next(((c, f"largest crop reaching {MIN_STEPS} steps ({target} wanted)") for c in candidates
                       if steps_for(c) >= MIN_STEPS), None)
    if chosen is None:
        chosen = (candidates[-1], f"smallest crop ({candidates[-1]} px): the budget buys {steps_for(candidates[-1])} steps, "
                                  f"fewer than the {MIN_STEPS} wanted")
    crop, reason = chosen
    batch, steps = batch_for(crop), steps_for(crop)
    samples_per_epoch = max(batch, math.ceil(steps / validations) * batch)
    return RecipePlan(
        crop_size=crop, batch_size=batch, steps=steps, samples_per_epoch=samples_per_epoch, validations=validations,
        probe_step_s=probe_step_s, probe_crop=probe_crop, probe_batch=probe_batch,
        step_s=per_pixel * batch * crop * crop, validation_s=validation_s, budget_s=budget_s,
        reason=reason + ("" if measured else " (probe given)"), numerics=numerics, numerics_probe=numerics_probe,
    )


# The recipe of each architecture before planning (TrainConfig fields); a job's params override
# these, and `apply_plan` adds the planned crop, batch and steps.
BASE_RECIPES: dict[str, dict] = {
    "unet": {"lr": 1e-3, "batch_size": CPU_BATCH, "dice_weight": 1.0, "augmentation": "budget", "keep_best": True},
    "segnet": {"lr": 1e-3, "batch_size": CPU_BATCH, "dice_weight": 1.0, "augmentation": "budget", "keep_best": True,
               "class_weights": "median_frequency"},
    "fcn": {"lr": 1e-3, "batch_size": CPU_BATCH, "dice_weight": 1.0, "augmentation": "budget", "keep_best": True},
    "maskrcnn": {"lr": 1e-4, "batch_size": 4, "keep_best": True},
}


def ema_decay_for(steps: int) -> float:
    """The weight average's decay for a run of `steps` steps: a window of EMA_WINDOW_SHARE of them."""
    window = max(10.0, EMA_WINDOW_SHARE * steps)
    return round(min(0.999, 1.0 - 1.0 / window), 4)


def apply_plan(recipe: dict, plan: RecipePlan) -> dict:
    """`recipe` with the planned crop, batch, steps, epoch length, warm-up, augmentation
    strength and (with "ema": True) the weight average's decay, and the plan."""
    augmentation = recipe.get("augmentation")
    if augmentation == "budget" and plan.steps < STRONG_AUGMENTATION_STEPS:
        augmentation = "light"
    return {
        **recipe, "augmentation": augmentation,
        "crop_size": plan.crop_size, "batch_size": plan.batch_size, "max_steps": plan.steps,
        "samples_per_epoch": plan.samples_per_epoch, "warmup_steps": min(50, max(1, plan.steps // 20)),
        "numerics": plan.numerics, "ema_decay": ema_decay_for(plan.steps) if recipe.get("ema") else None, "plan": plan.as_dict(),
    }


def config_from(recipe: dict) -> TrainConfig:
    """The TrainConfig of a recipe dict (keys that are not config fields, like "plan", are records)."""
    fields = TrainConfig.__dataclass_fields__
    return TrainConfig(**{k: v for k, v in recipe.items() if k in fields})
