"""Evaluate a model version on held-out images and store the figures on the version.

The images are the validation split recorded on the version at training time (those still
approved), or, for a version trained elsewhere, every approved image of the project. The model
runs through the same `Predictor` the pre-label job uses, at each image's own size, so the
figures describe the proposals people will see: semantic nets get per-class IoU, mIoU and pixel
accuracy; Mask R-CNN gets COCO segm AP, AP50 and AP75 from pycocotools' COCOeval.
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import closing
from typing import Callable

from django.utils import timezone

from annotations.models import ModelVersion

from . import training_data
from .model_versions import load_model_version, version_numerics
from .training_data import ClassList

log = logging.getLogger(__name__)

# Low, as COCO evaluations do: AP integrates over the score ranking, a high cut hides recall.
INSTANCE_SCORE_THRESHOLD = 0.05


def json_safe(value):
    """JSON without NaN (PostgreSQL's jsonb refuses it): absent data is None."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def version_classes(version: ModelVersion) -> ClassList:
    """The version's outputs as a ClassList; outputs mapped to no class keep a placeholder id
    (-index) so that no annotation ever lands on them."""
    names = dict(version.project.label_classes.values_list("pk", "name"))
    ids, labels = [], ["background"]
    for index, class_id in enumerate(version.class_mapping[1:], start=1):
        ids.append(class_id if class_id is not None else -index)
        labels.append(names.get(class_id, f"unmapped output {index}"))
    return ClassList(tuple(ids), tuple(labels))


def evaluation_images(version: ModelVersion) -> tuple[list[int], str]:
    approved = training_data.approved_images(project=version.project)
    split = (version.training or {}).get("split") or {}
    if "val" in split:
        still = set(approved.filter(pk__in=split["val"]).values_list("pk", flat=True))
        return [i for i in split["val"] if i in still], "validation split"
    return list(approved.values_list("pk", flat=True)), "all approved images (version not trained on this project)"


def evaluate_version(
    version: ModelVersion, *, device: str | None = None, progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Compute and store `version.metrics`; returns them."""
    from .ml.inference import Predictor
    from .ml.metrics import SemanticMeter, instance_ap

    started = time.monotonic()
    image_ids, on = evaluation_images(version)
    classes = version_classes(version)
    model, spec = load_model_version(version, device=device)
    is_instance = spec.is_instance
    truths = training_data.samples_for(image_ids=image_ids, classes=classes, instance=is_instance)
    paths = [(pk, sample.image) for pk, sample in zip(image_ids, truths)]
    predictor = Predictor(model, spec, device=device, score_threshold=INSTANCE_SCORE_THRESHOLD if is_instance else 0.5,
                          numerics=version_numerics(version))
    truth_of = dict(zip(image_ids, truths))
    meter = SemanticMeter(spec.num_classes)
    ground_truth, predictions, sizes, errors = [], [], [], []
    with closing(predictor.predict(paths, run_ahead=True)) as stream:
        for done, prediction in enumerate(stream, start=1):
            if prediction.error:
                errors.append(f"image {prediction.key}: {prediction.error}")
            elif is_instance:
                ground_truth.append(truth_of[prediction.key].instances)
                predictions.append([(i.class_index, i.score, i.mask) for i in prediction.instances])
                sizes.append(prediction.size)
            else:
                meter.update(prediction.label_map, truth_of[prediction.key].label_map)
            if progress is not None:
                progress(done, len(image_ids))
    if is_instance:
        scores = instance_ap(ground_truth, predictions, image_sizes=sizes, class_indices=range(1, spec.num_classes))
        metrics = {"task": "instance", **scores, "metric_name": "AP", "metric": scores["ap"]}
    else:
        semantic = meter.scores().as_dict()
        metrics = {
            "task": "semantic", "miou": semantic["miou"], "pixel_accuracy": semantic["pixel_accuracy"],
            "per_class_iou": dict(zip(classes.names, semantic["per_class_iou"])),
            "metric_name": "mIoU", "metric": semantic["miou"],
            # Pixel counts, rows = truth, columns = prediction; void/ignore pixels never enter the meter.
            "confusion": {"classes": list(classes.names), "counts": meter.confusion.tolist()},
        }
    metrics.update({
        "images": len(image_ids) - len(errors), "on": on, "image_ids": image_ids, "errors": errors[:20],
        "seconds": round(time.monotonic() - started, 3), "evaluated_at": timezone.now().isoformat(),
    })
    metrics = json_safe(metrics)
    if not image_ids:
        metrics["note"] = "no approved images to evaluate on"
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    version.metrics = metrics
    return metrics
