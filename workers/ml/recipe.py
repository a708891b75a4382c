"""The budget recipe: from the time budget, the device, the images and a short throughput probe,
choose the crop size, batch size and number of optimizer steps of a semantic training run.

Why: a fixed recipe (512-px crops, batch 8) bought 38 optimizer steps in 10 minutes on two CPU
cores, and a net that takes 38 steps learns little. What a run needs first is enough steps
(hundreds); context per crop comes second. So the plan measures one training step at a probe
size on a copy of the model, scales the cost by pixels per batch, and takes the largest crop
whose step count over the budget reaches `target_steps` (at least `min_crop`). It also bounds
memory: a batch never holds more than `max_batch_pixels` pixels on the CPU.

The rest of the recipe is fixed and written down here once: cross-entropy + soft Dice,
class-balanced crops, elastic deformation, flips, rot90 and photometric jitter
(workers/ml/augment.py), AdamW with a short warm-up and a cosine decay over the planned steps,
about `validations` validations on whole images, and the best validation checkpoint kept.
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
from .datasets import load_image
from .training import TrainConfig

CROP_MULTIPLE = 32  # every semantic builder accepts sizes divisible by 32
MIN_CROP = 96
MAX_CROP = 512
PROBE_CROP = 192
TARGET_STEPS_CPU = 400
TARGET_STEPS_GPU = 2000
CPU_BATCH = 4
MAX_BATCH_PIXELS_CPU = 4 * 320 * 320  # ~1.2 GB of U-Net activations at width 32
VALIDATIONS = 10
SETUP_S = 5.0  # data loading and the first batch, before steps run at speed


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

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def probe_step_seconds(model: nn.Module, spec: ModelSpec, *, crop: int, batch: int, device: torch.device) -> float:
    """Seconds of one forward + backward + AdamW step at `batch` x `crop`^2, measured on a copy
    of the model (the real one, its weights and BatchNorm statistics stay untouched)."""
    probe = copy.deepcopy(model).to(device, memory_format=devices.memory_format(device)).train()
    optimizer = torch.optim.AdamW([p for p in probe.parameters() if p.requires_grad], lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, crop, crop, generator=generator).to(device).contiguous(memory_format=devices.memory_format(device))
    y = torch.randint(0, spec.num_classes, (batch, crop, crop), generator=generator).to(device)
    times = []
    for _ in range(3):  # the first step pays for allocation and kernel selection
        started = time.perf_counter()
        with devices.autocast(device):
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
    (tests). Raises ValueError for a budget too small to train at all.
    """
    if budget_s <= SETUP_S:
        raise ValueError(f"a budget of {budget_s:.0f} s is too short to train (at least {SETUP_S + 1:.0f} s)")
    on_gpu = device.type == "cuda"
    target = target_steps or (TARGET_STEPS_GPU if on_gpu else TARGET_STEPS_CPU)
    smallest = min(min(h, w) for h, w in image_sides)
    largest_crop = max(CROP_MULTIPLE, min(MAX_CROP, smallest // CROP_MULTIPLE * CROP_MULTIPLE))
    probe_crop = min(PROBE_CROP, largest_crop)
    probe_batch = CPU_BATCH
    measured = probe_step_s is None
    if measured:
        started = time.perf_counter()
        probe_step_s = probe_step_seconds(model, spec, crop=probe_crop, batch=probe_batch, device=device)
        probe_cost = time.perf_counter() - started
    else:
        probe_cost = 0.0
    per_pixel = probe_step_s / (probe_batch * probe_crop**2)
    # Validation: one forward over the validation pixels, about a third of a training step's cost.
    one_validation = val_pixels * per_pixel / 3
    validations = VALIDATIONS
    while validations > 3 and validations * one_validation > 0.2 * budget_s:
        validations -= 1
    validation_s = validations * one_validation
    train_s = max(1.0, budget_s - SETUP_S - probe_cost - validation_s)

    def batch_for(crop: int) -> int:
        if on_gpu:
            return devices.suggest_batch_size(device, pixels_per_image=crop * crop, max_batch_size=32)
        return max(1, min(CPU_BATCH, MAX_BATCH_PIXELS_CPU // (crop * crop)))

    candidates = list(range(largest_crop, MIN_CROP - 1, -CROP_MULTIPLE)) or [largest_crop]
    chosen, reason = None, ""
    for crop in candidates:
        batch = batch_for(crop)
        steps = int(train_s / (per_pixel * batch * crop * crop))
        if steps >= target:
            chosen, reason = (crop, batch, steps), f"largest crop reaching {target} steps in the budget"
            break
    if chosen is None:
        crop = candidates[-1]
        batch = batch_for(crop)
        steps = max(1, int(train_s / (per_pixel * batch * crop * crop)))
        chosen = (crop, batch, steps)
        reason = f"smallest crop ({crop} px): the budget buys {steps} steps, fewer than the {target} wanted"
    crop, batch, steps = chosen
    samples_per_epoch = max(batch, math.ceil(steps / validations) * batch)
    return RecipePlan(
        crop_size=crop, batch_size=batch, steps=steps, samples_per_epoch=samples_per_epoch, validations=validations,
        probe_step_s=probe_step_s, probe_crop=probe_crop, probe_batch=probe_batch,
        step_s=per_pixel * batch * crop * crop, validation_s=validation_s, budget_s=budget_s,
        reason=reason + ("" if measured else " (probe given)"),
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


def apply_plan(recipe: dict, plan: RecipePlan) -> dict:
    """`recipe` with the planned crop, batch, steps, epoch length and warm-up, and the plan."""
    return {
        **recipe, "crop_size": plan.crop_size, "batch_size": plan.batch_size, "max_steps": plan.steps,
        "samples_per_epoch": plan.samples_per_epoch, "warmup_steps": min(50, max(1, plan.steps // 20)),
        "plan": plan.as_dict(),
    }


def config_from(recipe: dict) -> TrainConfig:
    """The TrainConfig of a recipe dict (keys that are not config fields, like "plan", are records)."""
    fields = TrainConfig.__dataclass_fields__
    return TrainConfig(**{k: v for k, v in recipe.items() if k in fields})


def image_sides(samples: Sequence) -> list[tuple[int, int]]:
    """(h, w) of each sample's image (decoded: samples may be paths)."""
    return [tuple(load_image(s.image).shape[:2]) for s in samples]
