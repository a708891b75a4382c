"""Training loops: semantic nets (pixel-wise cross-entropy, optional median-frequency class
weights and Dice) and Mask R-CNN (torchvision's losses), with AdamW or SGD, a warm-up +
cosine/poly LR schedule driven by steps or by wall-clock time, autocast and channels_last
on CUDA (on the CPU the numerics the config names: fp32, channels_last, bf16), a budget in epochs and/or minutes, a checkpoint after every epoch (loadable with
weights_only=True) that a restarted job resumes from, cancellation and progress callbacks.

Randomness: sampling order comes from a `torch.Generator` seeded from the config and saved
in the checkpoint; nothing here reseeds global random state.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

from . import device as devices
from .augment import instance_train_transforms, semantic_budget_transforms, semantic_train_transforms
from .checkpoints import FORMAT_VERSION, CheckpointError, ModelSpec, atomic_save, read_checkpoint
from .datasets import (
    InstanceDataset,
    InstanceSample,
    SemanticDataset,
    SemanticSample,
    collate_instance,
    load_image,
    pad_collate_semantic,
)
from .metrics import IGNORE_INDEX, SemanticMeter, instance_ap
from .reductions import class_argmax

CHECKPOINT_NAME = "last.pt"
BEST_NAME = "best.pt"

ProgressFn = Callable[[int, int, float, "float | None"], None]


@dataclass
class TrainConfig:
    """The recipe; stored in checkpoints and on the model version as is."""

    epochs: int | None = None  # budget: full passes over the training set
    minutes: float | None = None  # budget: wall-clock (training + validation)
    batch_size: int = 4
    optimizer: str = "adamw"  # "adamw" | "sgd"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9  # SGD only
    schedule: str = "cosine"  # "cosine" | "poly" | "constant", after a linear warm-up
    warmup_steps: int = 0
    class_weights: str | list[float] | None = None  # None | "median_frequency" | per class
    dice_weight: float = 0.0  # semantic: loss = CE + dice_weight * soft Dice
    augment: bool = True
    crop_size: int | None = None  # semantic crops; default: smallest image side, <= 512
    seed: int = 0  # seeds the sampling generator only
    num_workers: int = 0  # DataLoader workers (decode + augment off the training thread)
    eval_score_threshold: float = 0.05  # instance validation keeps detections above this
    max_steps: int | None = None  # budget: optimizer steps (the cosine schedule runs over them)
    # Crops drawn (with replacement) per epoch, i.e. between validations; None: one pass.
    samples_per_epoch: int | None = None
    # semantic: "basic" (resized crop, flips, rot90); "budget" (class-balanced crops, elastic,
    # photometric jitter, flips, rot90) and "light" (plain crops, flips, rot90): workers/ml/recipe.py
    augmentation: str = "basic"
    keep_best: bool = False  # end with the weights (and metrics) of the best validation, not the last
    # On the CPU: "fp32" (None), "fp32-cl" (channels_last) or "bf16-cl" (bf16 autocast + channels_last,
    # CPUs with native bf16 only): workers/ml/device.py. The budget recipe sets the fastest it measured.
    # CUDA ignores it (autocast and channels_last always).
    numerics: str | None = None
    # Validate and keep an exponential moving average of the weights (and BatchNorm buffers) with
    # this decay instead of the raw weights; None: the raw weights. The decay is warmed up
    # (min(decay, (1 + n) / (10 + n)) at the n-th update) so early validations are not dominated
    # by the initial weights. The budget recipe sets it from the planned steps (workers/ml/recipe.py).
    ema_decay: float | None = None

    def __post_init__(self) -> None:
        if self.epochs is None and self.minutes is None and self.max_steps is None:
            raise ValueError("give a budget: epochs, minutes or both")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"minutes must be > 0, got {self.minutes}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "poly", "constant"):
            raise ValueError(f"schedule must be cosine, poly or constant, got {self.schedule!r}")
        if self.augmentation not in ("basic", "budget", "light"):
            raise ValueError(f"augmentation must be basic, budget or light, got {self.augmentation!r}")
        if self.numerics is not None and self.numerics not in devices.NUMERICS:
            raise ValueError(f"numerics must be one of {', '.join(devices.NUMERICS)}, got {self.numerics!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be between 0 and 1 (exclusive), got {self.ema_decay}")
        for name in ("max_steps", "samples_per_epoch"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")


@dataclass
class TrainResult:
    model: nn.Module
    spec: ModelSpec
    epochs_completed: int
    steps: int
    elapsed_s: float
    stopped: str  # "completed" | "budget" (minutes ran out) | "cancelled"
    metrics: dict = field(default_factory=dict)  # latest validation metrics
    history: list[dict] = field(default_factory=list)  # per epoch: loss, metrics, time
    images_seen: int = 0
    best_epoch: int | None = None  # the epoch whose weights `model` holds (keep_best)
    best_metric: float | None = None
    peak_rss_mb: float | None = None  # the process's largest resident set while training


# --- losses and class weights --------------------------------------------------------------


def median_frequency_weights(label_maps: Sequence[np.ndarray], num_classes: int) -> torch.Tensor:
    """SegNet's median frequency balancing: w_c = median(f) / f_c, where f_c is class c's
    pixel count over the pixels of the images in which c appears. Absent classes get 1."""
    counts = np.zeros(num_classes, dtype=np.float64)
    image_pixels = np.zeros(num_classes, dtype=np.float64)
    for labels in label_maps:
        valid = labels != IGNORE_INDEX
        present = np.bincount(labels[valid].ravel().astype(np.int64), minlength=num_classes)[:num_classes]
        counts += present
        image_pixels[present > 0] += valid.sum()
    freq = np.divide(counts, image_pixels, out=np.zeros_like(counts), where=image_pixels > 0)
    weights = np.ones(num_classes)
    seen = freq > 0
    if seen.any():
        weights[seen] = np.median(freq[seen]) / freq[seen]
    return torch.tensor(weights, dtype=torch.float32)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, *, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """1 - mean over classes of soft Dice, ignoring `ignore_index` pixels."""
    num_classes = logits.shape[1]
    valid = (target != ignore_index).unsqueeze(1)
    probs = logits.float().softmax(1) * valid
    onehot = F.one_hot(target.clamp(0, num_classes - 1), num_classes).permute(0, 3, 1, 2) * valid
    dims = (0, 2, 3)
    intersection = (probs * onehot).sum(dims)
    denominator = probs.sum(dims) + onehot.sum(dims)
    dice = (2 * intersection + 1.0) / (denominator + 1.0)
    return 1 - dice.mean()


# --- schedule ---------------------------------------------------------------------------


def _lr_factor(config: TrainConfig, step: int, fraction: float) -> float:
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    fraction = min(1.0, max(0.0, fraction))
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * fraction))
    if config.schedule == "poly":
        return (1 - fraction) ** 0.9
    return 1.0


# --- the loop ---------------------------------------------------------------------------


def _default_crop(samples: Sequence[SemanticSample]) -> int:
    sides = [min(load_image(s.image).shape[:2]) for s in samples[:16]]
    return max(8, min(512, min(sides)))


def _make_loader(spec: ModelSpec, samples, config: TrainConfig, generator: torch.Generator, train: bool):
    if spec.is_instance:
        transforms = instance_train_transforms() if (train and config.augment) else None
        dataset = InstanceDataset(samples, num_classes=spec.num_classes, transforms=transforms)
        collate = collate_instance
    else:
        transforms = None
        if train and config.augment:
            crop = config.crop_size or _default_crop(samples)
            if config.augmentation == "budget":
                transforms = semantic_budget_transforms(crop_size=crop, ignore_index=IGNORE_INDEX)
            elif config.augmentation == "light":
                transforms = semantic_budget_transforms(
                    crop_size=crop, elastic=False, photometric=False, balanced=0.0, ignore_index=IGNORE_INDEX)
            else:
                transforms = semantic_train_transforms(crop_size=crop)
        dataset = SemanticDataset(
            samples, num_classes=spec.num_classes, normalization=spec.normalization, transforms=transforms
        )
        collate = pad_collate_semantic
    sampler = None
    if train:
        draws = config.samples_per_epoch
        sampler = RandomSampler(dataset, generator=generator, replacement=draws is not None, num_samples=draws)
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=config.num_workers,
        drop_last=sampler is not None and len(sampler) > config.batch_size,
        pin_memory=torch.cuda.is_available(),
    )


def _build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def _weight_average(model: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An exponential moving average of `model`'s parameters and buffers (torch's AveragedModel),
    its decay warmed up over the first updates (TrainConfig.ema_decay)."""
    from torch.optim.swa_utils import AveragedModel

    def average(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        n = float(num_averaged)
        d = min(decay, (1.0 + n) / (10.0 + n))
        return averaged * d + current * (1.0 - d)

    return AveragedModel(model, avg_fn=average, use_buffers=True)


def evaluate(
    model: nn.Module,
    spec: ModelSpec,
    samples: Sequence[SemanticSample] | Sequence[InstanceSample],
    *,
    device: str | torch.device | None = None,
    batch_size: int = 4,
    score_threshold: float = 0.05,
    numerics: str | None = None,
) -> dict:
    """Validation metrics: semantic {"miou", "pixel_accuracy", "per_class_iou"};
    instance {"ap", "ap50", "ap75"}. `metric` holds the headline (mIoU or AP). `numerics`: the
    CPU numerics of a semantic net (TrainConfig.numerics)."""
    dev = devices.select_device(device)
    was_training = model.training
    model.eval()
    try:
        if spec.is_instance:
            with torch.inference_mode(), devices.autocast(dev):
                return _evaluate_instance(model, spec, samples, dev, batch_size, score_threshold)
        with torch.inference_mode(), devices.autocast(dev, numerics):
            return _evaluate_semantic(model, spec, samples, dev, batch_size, numerics)
    finally:
        model.train(was_training)


def _evaluate_semantic(model, spec, samples, dev, batch_size, numerics=None) -> dict:
    dataset = SemanticDataset(samples, num_classes=spec.num_classes, normalization=spec.normalization)
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=pad_collate_semantic)
    meter = SemanticMeter(spec.num_classes)
    for images, labels in loader:
        images = images.to(dev).contiguous(memory_format=devices.memory_format(dev, numerics))
        pred = class_argmax(model(images).float()).cpu().numpy()
        meter.update(pred, labels.numpy())
    scores = meter.scores().as_dict()
    return {**scores, "metric": scores["miou"]}


def _evaluate_instance(model, spec, samples, dev, batch_size, score_threshold) -> dict:
    dataset = InstanceDataset(samples, num_classes=spec.num_classes)
    ground_truth, predictions, sizes = [], [], []
    for start in range(0, len(dataset), batch_size):
        indices = range(start, min(len(dataset), start + batch_size))
        items = [dataset[i] for i in indices]
        outputs = model([img.to(dev) for img, _ in items])
        for i, (img, _), out in zip(indices, items, outputs):
            sizes.append(tuple(img.shape[-2:]))
            # From the sample, not the training target: crowd regions are left out of targets but count here.
            ground_truth.append([
                (int(c), np.asarray(m, dtype=bool), *crowd) for c, m, *crowd in dataset.samples[i].instances
                if np.asarray(m).any()
            ])
            keep = out["scores"] >= score_threshold
            masks = (out["masks"][keep, 0] > 0.5).cpu().numpy()
            predictions.append(
                [
                    (int(c), float(s), m)
                    for c, s, m in zip(out["labels"][keep].tolist(), out["scores"][keep].tolist(), masks)
                ]
            )
    scores = instance_ap(ground_truth, predictions, image_sizes=sizes, class_indices=range(1, spec.num_classes))
    return {**scores, "metric": scores["ap"]}


def train(
    model: nn.Module,
    spec: ModelSpec,
    train_samples: Sequence[SemanticSample] | Sequence[InstanceSample],
    val_samples: Sequence[SemanticSample] | Sequence[InstanceSample] = (),
    *,
    config: TrainConfig,
    device: str | torch.device | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = True,
    should_stop: Callable[[], bool] | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train `model` (built from `spec`) in place and return it with its history.

    With `checkpoint_dir`, writes `last.pt` after every epoch and, when `resume` and the file
    exists, continues from it (same epoch count, optimizer state, elapsed time, sampling
    generator). `should_stop()` is polled every step; returning True stops before the next
    step without touching the last checkpoint. `progress(epoch, step, loss, val_metric)` is
    called after every step (val_metric None) and after each validation.
    """
    if not train_samples:
        raise ValueError("no training samples")
    dev = devices.select_device(device)
    # The semantic nets' CPU numerics (checked against this CPU here); Mask R-CNN runs fp32 on the CPU.
    cpu_numerics = None if spec.is_instance else devices.usable_numerics(config.numerics)
    memory_format = devices.memory_format(dev, cpu_numerics)
    model.to(dev, memory_format=memory_format)
    generator = torch.Generator().manual_seed(config.seed)
    loader = _make_loader(spec, train_samples, config, generator, train=True)
    optimizer = _build_optimizer(model, config)
    ema = _weight_average(model, config.ema_decay) if config.ema_decay is not None else None
    # What is validated and kept: the weight average when there is one, else the weights trained.
    kept = ema.module if ema is not None else model
    scaler = torch.amp.GradScaler("cuda") if devices.needs_grad_scaler(dev) else None

    class_weights = None
    if not spec.is_instance and config.class_weights is not None:
        if config.class_weights == "median_frequency":
            dataset = loader.dataset
            class_weights = median_frequency_weights(
                [dataset.label_map(i) for i in range(len(dataset))], spec.num_classes
            )
        else:
            class_weights = torch.tensor(config.class_weights, dtype=torch.float32)
            if class_weights.numel() != spec.num_classes:
                raise ValueError(
                    f"{class_weights.numel()} class weights for {spec.num_classes} classes"
                )
        class_weights = class_weights.to(dev)

    epoch, step, elapsed_before, history, images_seen, finished = 0, 0, 0.0, [], 0, False
    best = _Best(Path(checkpoint_dir) / BEST_NAME if checkpoint_dir else None, enabled=config.keep_best and bool(val_samples))
    memory = _PeakMemory()
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    if checkpoint_path and resume and checkpoint_path.is_file():
        state = read_checkpoint(checkpoint_path)
        saved_spec = ModelSpec.from_dict(state["spec"])
        if (saved_spec.arch, saved_spec.class_names) != (spec.arch, spec.class_names):
            raise CheckpointError(
                f"{checkpoint_path} is for {saved_spec.arch} with {saved_spec.num_classes} classes, "
                f"not {spec.arch} with {spec.num_classes}"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and state.get("ema"):
            ema.load_state_dict(state["ema"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        generator.set_state(state["generator"])
        epoch, step = int(state["epoch"]), int(state["step"])
        elapsed_before = float(state["elapsed_s"])
        history = list(state["history"])
        images_seen = int(state.get("images_seen", 0))
        finished = bool(state.get("finished", False))
        best.restore(state.get("best") or {})
        memory.peak_mb = float(state.get("peak_rss_mb") or 0.0)

    def save(finished_now: bool) -> None:
        if checkpoint_path is None:
            return
        atomic_save(
            {
                "format": FORMAT_VERSION,
                "spec": spec.to_dict(),
                "config": asdict(config),
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "ema": {k: v.detach().cpu() for k, v in ema.state_dict().items()} if ema is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else {},
                "generator": generator.get_state(),
                "epoch": epoch,
                "step": step,
                "elapsed_s": elapsed_before + (time.monotonic() - started),
                "history": history,
                "images_seen": images_seen,
                "finished": finished_now,
                "best": best.summary(),
                "peak_rss_mb": memory.peak_mb,
            },
            checkpoint_path,
        )

    def result(stopped_as: str, *, final: bool = True) -> TrainResult:
        if final:
            if best.state is not None:
                best.load_into(model)
            elif ema is not None:
                model.load_state_dict(ema.module.state_dict())
        model.eval()
        return TrainResult(model, spec, epoch, step, elapsed(), stopped_as, best.metrics or metrics, history, images_seen,
                           best_epoch=best.epoch, best_metric=best.metric, peak_rss_mb=round(memory.peak_mb, 1) or None)

    started = time.monotonic()
    budget_s = config.minutes * 60 if config.minutes is not None else None
    steps_per_epoch = max(1, len(loader))
    total_steps = config.epochs * steps_per_epoch if config.epochs is not None else None
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps) if total_steps else config.max_steps
    metrics = history[-1]["metrics"] if history else {}
    stopped = "completed"

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - started

    def out_of_time() -> bool:
        return budget_s is not None and elapsed() >= budget_s

    if finished:
        return result("completed")

    model.train()
    while config.epochs is None or epoch < config.epochs:
        epoch_loss, epoch_steps = 0.0, 0
        for batch in loader:
            if should_stop is not None and should_stop():
                return result("cancelled", final=False)
            if out_of_time():
                stopped = "budget"
                break
            if config.max_steps is not None and step >= config.max_steps:
                break
            fraction = max(
                step / total_steps if total_steps else 0.0,
                elapsed() / budget_s if budget_s else 0.0,
            )
            for group in optimizer.param_groups:
                group["lr"] = config.lr * _lr_factor(config, step, fraction)
            with devices.autocast(dev, cpu_numerics):
                if spec.is_instance:
                    images, targets = batch
                    images = [img.to(dev, non_blocking=True) for img in images]
                    targets = [{k: v.to(dev, non_blocking=True) for k, v in t.items()} for t in targets]
                    loss = sum(model(images, targets).values())
                else:
                    images, labels = batch
                    images = images.to(dev, non_blocking=True).contiguous(memory_format=memory_format)
                    labels = labels.to(dev, non_blocking=True)
                    logits = model(images)
                    loss = F.cross_entropy(logits.float(), labels, weight=class_weights, ignore_index=IGNORE_INDEX)
                    if config.dice_weight:
                        loss = loss + config.dice_weight * soft_dice_loss(logits, labels)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at epoch {epoch}, step {step}")
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            epoch_steps += 1
            images_seen += len(images)
            loss_value = float(loss.item())
            epoch_loss += loss_value
            if step % 20 == 1:
                memory.sample()
            if progress is not None:
                progress(epoch, step, loss_value, None)
        if epoch_steps == 0:
            break  # the budget ran out before this epoch did anything
        if stopped != "budget":
            epoch += 1
        if val_samples:
            metrics = evaluate(
                kept, spec, val_samples, device=dev, batch_size=config.batch_size,
                score_threshold=config.eval_score_threshold, numerics=cpu_numerics,
            )
            memory.sample()
            best.offer(kept, epoch, metrics)
            model.train()
        history.append(
            {
                "epoch": epoch,
                "loss": epoch_loss / epoch_steps,
                "metrics": metrics,
                "elapsed_s": elapsed(),
                "partial": stopped == "budget",
            }
        )
        if progress is not None:
            progress(epoch, step, epoch_loss / epoch_steps, metrics.get("metric"))
        budget_left = (
            not out_of_time() and (config.epochs is None or epoch < config.epochs)
            and (config.max_steps is None or step < config.max_steps)
        )
        save(finished_now=not budget_left)
        if not budget_left:
            if stopped != "budget" and out_of_time():
                stopped = "budget"
            break
    return result(stopped)


class _Best:
    """The best validation so far: its metric, epoch and weights (in memory and, with a
    checkpoint folder, in best.pt so that a resumed run still ends with them)."""

    def __init__(self, path: Path | None, *, enabled: bool):
        self.path, self.enabled = path, enabled
        self.metric: float | None = None
        self.epoch: int | None = None
        self.metrics: dict = {}
        self.state: dict | None = None

    def offer(self, model: nn.Module, epoch: int, metrics: dict) -> None:
        metric = metrics.get("metric")
        if not self.enabled or metric is None or not math.isfinite(metric):
            return
        if self.metric is not None and metric <= self.metric:
            return
        self.metric, self.epoch, self.metrics = float(metric), epoch, dict(metrics)
        self.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if self.path is not None:
            atomic_save({"format": FORMAT_VERSION, "model": self.state, "epoch": epoch, "metric": self.metric}, self.path)

    def summary(self) -> dict:
        return {"metric": self.metric, "epoch": self.epoch, "metrics": self.metrics}

    def restore(self, summary: dict) -> None:
        self.metric, self.epoch = summary.get("metric"), summary.get("epoch")
        self.metrics = dict(summary.get("metrics") or {})
        if self.enabled and self.metric is not None and self.path is not None and self.path.is_file():
            self.state = read_checkpoint(self.path)["model"]

    def load_into(self, model: nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


class _PeakMemory:
    """Largest resident set of this process seen while training, in MB (psutil)."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak_mb = 0.0

    def sample(self) -> None:
        self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
