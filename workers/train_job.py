"""The train job (gpu queue): approved labels in, a new evaluated ModelVersion out.

params: {arch, epochs and/or minutes, from_version, image_size, name, val_fraction, seed,
batch_size, lr, class_weights, dice_weight, builder_kwargs, cpu_threads}.

Work lives in MEDIA_ROOT/training/<job id>/: `plan.json` (classes, the train/val image ids,
spec and recipe, frozen on the first attempt so a redelivered task trains on the same data)
and the trainer's `last.pt`, written after every epoch. A task redelivered after its worker
died finds both and resumes from the last finished epoch. Cancelling the Job stops training
between steps; success registers the checkpoint as a version (source trained, parent =
from_version, training = images, split, recipe, history) and evaluates it on the split's
validation images.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from django.conf import settings

from annotations import media
from annotations.errors import ValidationFailed
from annotations.jobs import JobCancelled, JobReporter, job_body
from annotations.models import Image, Job, ModelVersion
from annotations.training import model_version_name_check, outputs_parent, train_check

from . import training_data
from .evaluation import evaluate_version, json_safe
from .model_versions import model_version_register

log = logging.getLogger(__name__)

PLAN_NAME = "plan.json"

# What a job's params may set in the recipe (workers/ml/recipe.py BASE_RECIPES holds the rest).
RECIPE_KEYS = ("lr", "batch_size", "class_weights", "dice_weight", "optimizer", "schedule", "warmup_steps", "augment", "weight_decay")


def workdir_for(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "training" / str(job_id)


def version_name(job: Job) -> str:
    return job.params.get("name") or f"{job.params.get('arch') or 'model'}-job{job.pk}"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)  # a worker killed mid-write leaves the old plan, never half of one


def make_plan(job: Job) -> dict:
    """Everything the run needs from the database, decided once (the rules: annotations.training)."""
    checked = train_check(project=job.project, params=job.params, job=job)
    params, parent, project = checked.params, checked.parent, job.project
    arch = params["arch"]
    classes = training_data.class_list_for(project=project, arch=arch, parent=outputs_parent(parent))
    approved = list(training_data.approved_images(project=project))
    seed = int(params.get("seed", 0))
    val_fraction = float(params.get("val_fraction", training_data.DEFAULT_VAL_FRACTION))
    if params.get("split") == "stored":
        train_ids, val_ids = training_data.stored_split(approved)
        split_record = {"method": "stored"}
    else:
        train_ids, val_ids = training_data.split_images(approved, val_fraction=val_fraction, seed=seed)
        split_record = {"method": "sha256", "seed": seed, "val_fraction": val_fraction}
    image_size = params.get("image_size")
    is_instance = arch == ModelVersion.Architecture.MASKRCNN
    if parent is not None:
        builder_kwargs, normalization, size_policy = dict(parent.builder_kwargs), dict(parent.normalization), dict(parent.size_policy)
    else:
        builder_kwargs, normalization, size_policy = dict(params.get("builder_kwargs") or {}), {}, {}
    if image_size:
        if is_instance:  # Mask R-CNN resizes inside its transform
            builder_kwargs.update(min_size=int(image_size), max_size=int(image_size))
        else:  # trained on S x S squares; the predictor resizes to the same and back
            size_policy = {"mode": "resize", "size": [int(image_size), int(image_size)]}
    from .ml.recipe import BASE_RECIPES, largest_crop_for

    recipe = {**BASE_RECIPES[arch], **{k: params[k] for k in RECIPE_KEYS if params.get(k) is not None}}
    recipe.update(epochs=params.get("epochs"), minutes=params.get("minutes"), seed=seed)
    if not is_instance:
        # A time budget without a fixed crop or batch is planned on the worker (workers/ml/recipe.py):
        # crop, batch and steps from a throughput probe. Otherwise crops are the smallest side.
        recipe["planned"] = bool(params.get("minutes")) and not image_size and "batch_size" not in params
        if image_size:
            recipe["crop_size"] = int(image_size)
        else:
            train_set = set(train_ids)
            recipe["crop_size"] = largest_crop_for([(im.height, im.width) for im in approved if im.pk in train_set])
    return {
        "arch": arch, "name": version_name(job), "parent": parent.pk if parent else None,
        "pretrained": bool(params.get("pretrained")), "weights_file": params.get("weights_file"),
        "class_ids": list(classes.ids), "class_names": list(classes.names),
        "builder_kwargs": builder_kwargs, "normalization": normalization, "size_policy": size_policy,
        "image_size": int(image_size) if image_size else None, "recipe": recipe,
        "split": {**split_record, "train": train_ids, "val": val_ids},
        "starts": [],
    }


def _load_start_weights(model, plan: dict) -> dict | None:
    """The weights training starts from: the parent version's, or published ones
    (workers/ml/pretrained.py, which records what it loaded), or none (from scratch)."""
    from .ml.checkpoints import CheckpointError, check_state_dict, read_checkpoint

    parent = ModelVersion.objects.get(pk=plan["parent"]) if plan["parent"] else None
    if plan.get("pretrained") or (parent is not None and parent.source == ModelVersion.Source.TORCHVISION):
        from .ml.pretrained import load_pretrained

        file = Path(settings.LABELER_WEIGHTS_DIR) / plan["weights_file"] if plan.get("weights_file") else None
        try:
            return load_pretrained(model, arch=plan["arch"], builder_kwargs=plan["builder_kwargs"], file=file)
        except CheckpointError as exc:
            raise ValidationFailed(str(exc)) from None
    if parent is None:
        return None
    state = read_checkpoint(media.local_path(parent.checkpoint.name))["state_dict"]
    check_state_dict(parent.architecture, model, state)
    model.load_state_dict(state)
    return {"from_version": parent.pk, "name": parent.name}


class _JobWatch:
    """Progress messages and cancellation for the trainer's callbacks, with few database writes."""

    WRITE_EVERY_S = 1.0
    POLL_EVERY_S = 1.0

    def __init__(self, reporter: JobReporter, *, epochs: int | None, minutes: float | None, metric_name: str, elapsed_before: float):
        self.reporter = reporter
        self.epochs = epochs
        self.budget_s = int(minutes * 60) if minutes else None
        self.metric_name = metric_name
        self.clock = time.monotonic() - elapsed_before
        self.last_write = self.last_poll = 0.0
        self.latest_metric: float | None = None
        self.cancelled = False

    def _done_total(self, epoch: int) -> tuple[int, int]:
        if self.epochs is not None:
            return min(epoch, self.epochs), self.epochs
        total = self.budget_s or 1
        return min(total, int(time.monotonic() - self.clock)), total

    def progress(self, epoch: int, step: int, loss: float, val_metric: float | None) -> None:
        now = time.monotonic()
        if val_metric is not None:
            self.latest_metric = val_metric
        elif now - self.last_write < self.WRITE_EVERY_S:
            return
        self.last_write = now
        shown_epoch = epoch if val_metric is not None else epoch + 1  # during an epoch: the one running
        of = f"/{self.epochs}" if self.epochs else ""
        message = f"epoch {shown_epoch}{of} · step {step} · loss {loss:.4f}"
        if self.latest_metric is not None:
            message += f" · val {self.metric_name} {self.latest_metric:.3f}"
        done, total = self._done_total(epoch)
        try:
            self.reporter.progress(done=done, total=total, message=message)
        except JobCancelled:
            self.cancelled = True

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self.cancelled and now - self.last_poll >= self.POLL_EVERY_S:
            self.last_poll = now
            self.cancelled = Job.objects.filter(pk=self.reporter.job_id, status=Job.Status.CANCELLED).exists()
        return self.cancelled


def _register(job: Job, plan: dict, checkpoint: Path, result, started_epoch: int) -> ModelVersion:
    existing = ModelVersion.objects.filter(project=job.project, name=plan["name"]).first()
    if existing is not None and (existing.training or {}).get("job") == job.pk:
        return existing  # redelivered after registering: the version is already there
    training = {
        "job": job.pk, "arch": plan["arch"], "images": {"train": len(plan["split"]["train"]), "val": len(plan["split"]["val"])},
        "split": plan["split"], "recipe": {**plan["recipe"], "builder_kwargs": plan["builder_kwargs"], "image_size": plan["image_size"]},
        "parent": plan["parent"], "class_ids": plan["class_ids"], "start_weights": plan.get("start_weights"),
        "epochs_completed": result.epochs_completed, "steps": result.steps, "elapsed_s": round(result.elapsed_s, 3),
        "images_seen": result.images_seen, "stopped": result.stopped, "starts": plan["starts"],
        "history": [{k: v for k, v in h.items() if k != "metrics"} | {"metric": h.get("metrics", {}).get("metric")} for h in result.history],
        "val_metrics_during_training": {k: v for k, v in result.metrics.items() if k != "per_class_iou"},
        "best_epoch": result.best_epoch, "best_metric": result.best_metric, "peak_rss_mb": result.peak_rss_mb,
    }
    parent = ModelVersion.objects.filter(pk=plan["parent"]).first() if plan["parent"] else None
    return model_version_register(
        project=job.project, checkpoint_path=checkpoint, name=plan["name"], user=job.created_by,
        source=ModelVersion.Source.TRAINED, training=json_safe(training), parent=parent,
    )


def _sides(image_ids: list[int]) -> list[tuple[int, int]]:
    """(height, width) of each image, from its row: the plan needs sizes, not pixels."""
    return list(Image.objects.filter(pk__in=image_ids).values_list("height", "width"))


def _remove_workdir(job: Job) -> None:
    shutil.rmtree(workdir_for(job.pk), ignore_errors=True)


@job_body(Job.Kind.TRAIN, on_cancel=_remove_workdir)
def run_train(job: Job, reporter: JobReporter) -> None:
    device = None  # CUDA when there is one (workers/ml/device.py)
    version, plan, started_epoch = _train(job, reporter, workdir_for(job.pk), device=device)
    if version is None:
        _remove_workdir(job)
        return  # cancelled
    reporter.progress(done=reporter.job.done, message=f"evaluating {version.name} on the validation images")
    metrics = evaluate_version(version, device=device)
    headline = metrics.get("metric")
    reporter.succeed(
        result={"model_version": version.pk, "name": version.name, "metrics": metrics, "starts": plan["starts"],
                "resumed_from_epoch": started_epoch, "epochs_completed": version.training.get("epochs_completed"),
                "images": version.training["images"]},
        message=f"{version.name}: {metrics['metric_name']} " + (f"{headline:.3f}" if headline is not None else "n/a")
                + f" on {metrics['images']} validation image(s)",
    )
    _remove_workdir(job)  # the version's checkpoint now lives under models/


def _train(job: Job, reporter: JobReporter, workdir: Path, *, device: str | None):
    import torch

    from .ml.checkpoints import ModelSpec, read_checkpoint, save_checkpoint
    from .ml.device import cpu_threads, select_device
    from .ml.recipe import apply_plan, config_from, plan_semantic
    from .ml.training import CHECKPOINT_NAME, train

    workdir.mkdir(parents=True, exist_ok=True)
    plan_path = workdir / PLAN_NAME
    plan = json.loads(plan_path.read_text()) if plan_path.is_file() else make_plan(job)
    last = workdir / CHECKPOINT_NAME
    started_epoch, elapsed_before = 0, 0.0
    if last.is_file():
        state = read_checkpoint(last)
        started_epoch, elapsed_before = int(state["epoch"]), float(state["elapsed_s"])
        del state
    plan["starts"].append(started_epoch)
    _write_json(plan_path, plan)

    model_version_name_check(project=job.project, name=plan["name"], job=job)
    spec_kwargs = {"normalization": plan["normalization"]} if plan["normalization"] else {}
    spec = ModelSpec(arch=plan["arch"], class_names=tuple(plan["class_names"]), builder_kwargs=plan["builder_kwargs"],
                     size_policy=plan["size_policy"], **spec_kwargs)
    classes = training_data.ClassList(tuple(plan["class_ids"]), tuple(plan["class_names"]))
    reporter.progress(done=0, message=f"loading {len(plan['split']['train'])} training and {len(plan['split']['val'])} validation image(s)"
                      + (f"; resuming after epoch {started_epoch}" if started_epoch else ""))
    sample_args = {"classes": classes, "instance": spec.is_instance, "image_size": plan["image_size"]}
    train_samples = training_data.samples_for(image_ids=plan["split"]["train"], **sample_args)
    val_samples = training_data.samples_for(image_ids=plan["split"]["val"], **sample_args)
    with torch.random.fork_rng():  # seeded initial weights without touching the worker's global RNG
        torch.manual_seed(int(plan["recipe"]["seed"]))
        model = spec.build()
    plan["start_weights"] = _load_start_weights(model, plan)
    if plan["recipe"].get("planned") and "plan" not in plan["recipe"]:
        # Planned once, on the first attempt, and frozen in plan.json: a resumed run keeps its recipe.
        reporter.progress(done=0, message="measuring training speed to plan the recipe")
        with cpu_threads(job.params.get("cpu_threads")):
            planned = plan_semantic(
                model=model, spec=spec, budget_s=float(plan["recipe"]["minutes"]) * 60,
                image_sides=_sides(plan["split"]["train"]), val_pixels=sum(h * w for h, w in _sides(plan["split"]["val"])),
                device=select_device(device),
            )
        plan["recipe"] = apply_plan(plan["recipe"], planned)
        _write_json(plan_path, plan)
    recipe = dict(plan["recipe"])
    config = config_from(recipe)
    watch = _JobWatch(reporter, epochs=config.epochs, minutes=config.minutes,
                      metric_name="AP" if spec.is_instance else "mIoU", elapsed_before=elapsed_before)
    # cpu_threads: a CPU worker shared with other work trains faster with fewer torch threads
    # (OpenMP threads spin-wait for each other when the cores are busy).
    with cpu_threads(job.params.get("cpu_threads")):
        result = train(model, spec, train_samples, val_samples, config=config, device=device, checkpoint_dir=workdir,
                       resume=True, should_stop=watch.should_stop, progress=watch.progress)
    if result.stopped == "cancelled":
        return None, plan, started_epoch
    final = workdir / "model.pt"
    save_checkpoint(final, result.model, spec, extra={"job": job.pk, "recipe": json.dumps(asdict(config))})
    return _register(job, plan, final, result, started_epoch), plan, started_epoch
