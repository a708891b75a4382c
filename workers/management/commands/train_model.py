"""manage.py train_model <project> --arch unet|segnet|fcn|maskrcnn [--epochs N | --minutes M] [--from VERSION]
[--image-size S] [--name NAME] [--queue]: train on the project's approved labels, register and evaluate.
The rules are annotations.training.train_check's, as for the API."""
from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand

from annotations.management.project_arg import project_from_arg, version_from_arg
from annotations.models import ModelVersion
from annotations.training import train_start
from workers.management.job_here import queue_or_run_here


class Command(BaseCommand):
    help = "Train a model on the approved images of a project. Runs here unless --queue sends it to the gpu workers."

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("--arch", choices=ModelVersion.Architecture.values)
        budget = parser.add_argument_group("budget (one or both)")
        budget.add_argument("--epochs", type=int)
        budget.add_argument("--minutes", type=float)
        parser.add_argument("--from", dest="from_version", help="model version id or name to fine-tune")
        parser.add_argument("--image-size", type=int, help="train on S x S images (semantic) / min=max size (Mask R-CNN)")
        parser.add_argument("--name", help="name of the new version (default <arch>-job<id>)")
        parser.add_argument("--val-fraction", type=float, default=0.2)
        parser.add_argument("--split", choices=["hash", "stored"],
                            help="stored: validate on the images imported in 'val', leave 'test' out")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--lr", type=float)
        parser.add_argument("--pretrained", action="store_true",
                            help="start from published weights in the torch hub cache (or --weights-file); nothing downloads")
        parser.add_argument("--weights-file", help="with --pretrained: a file name in LABELER_WEIGHTS_DIR (default var/weights/)")
        parser.add_argument("--builder-kwargs", type=json.loads, help='network options as JSON, e.g. \'{"encoder": "resnet34"}\'')
        parser.add_argument("--queue", action="store_true", help="enqueue on the gpu queue instead of running here")

    def handle(self, *args, project, arch, epochs, minutes, from_version, image_size, name, val_fraction, seed,
               batch_size, lr, pretrained, weights_file, builder_kwargs, split, queue, **options):
        target = project_from_arg(project)
        params: dict = {"epochs": epochs, "minutes": minutes, "image_size": image_size, "name": name,
                        "val_fraction": val_fraction, "seed": seed, "batch_size": batch_size, "lr": lr, "arch": arch,
                        "pretrained": pretrained or None, "weights_file": weights_file, "builder_kwargs": builder_kwargs, "split": split}
        if from_version:
            params["from_version"] = version_from_arg(target, from_version).pk
        started = time.monotonic()
        job = queue_or_run_here(
            start=lambda runner: train_start(project=target, user=None, params=params, runner=runner),
            queue=queue, failure="training failed",
        )
        if queue:
            self.stdout.write(f"queued job {job.pk}")
        else:
            self.stdout.write(f"{job.message} (version {job.result['model_version']}) in {time.monotonic() - started:.1f} s")
